"""Practice: answers given while practising, the wrong-answer book (错题本), timed mock exams on papers."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exams.bank.models import Question
from exams.papers.models import Paper
from opcert.catalogue.models import Item
from opcert.db import Base, UTCDateTime, str_enum, utcnow


class PracticeMode(enum.StrEnum):
    """Where a practice answer was given: by knowledge point, or re-asked from the wrong-answer book."""

    POINT = "point"
    REVIEW = "review"


class PracticeAnswer(Base):
    """One answer a trainee gave while practising (original letters, or T/F)."""

    __tablename__ = "practice_answers"
    __table_args__ = (sa.Index("ix_practice_answers_trainee_question", "trainee_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"), index=True)
    mode: Mapped[PracticeMode] = mapped_column(str_enum(PracticeMode, "practice_mode", 10))
    chosen: Mapped[str] = mapped_column(sa.String(6))
    correct: Mapped[bool]
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    question: Mapped[Question] = relationship()

    def __repr__(self) -> str:
        return f"<PracticeAnswer {self.id} trainee={self.trainee_id} question={self.question_id} {self.correct}>"


class WrongAnswer(Base):
    """A question the trainee once answered wrongly; on the list until answered right PRACTICE_REVIEW_STREAK times
    in a row (`cleared_at` set), back on it at the next wrong answer. Rows are kept, never deleted."""

    __tablename__ = "practice_wrong_answers"
    __table_args__ = (
        sa.UniqueConstraint("trainee_id", "question_id"),
        sa.CheckConstraint("wrong_count >= 1 AND right_streak >= 0", name="counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"), index=True)
    wrong_count: Mapped[int] = mapped_column(default=1)
    right_streak: Mapped[int] = mapped_column(default=0)
    last_chosen: Mapped[str] = mapped_column(sa.String(6), default="")
    first_wrong_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_wrong_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    question: Mapped[Question] = relationship()

    def __repr__(self) -> str:
        return f"<WrongAnswer trainee={self.trainee_id} question={self.question_id} x{self.wrong_count}>"


class MockFinish(enum.StrEnum):
    """How a mock exam ended."""

    SUBMITTED = "submitted"
    TIMED_OUT = "timed_out"

    @property
    def label(self) -> LazyString:
        """The ending's name for people."""
        return FINISH_LABELS[self]


FINISH_LABELS = {MockFinish.SUBMITTED: _l("交卷"), MockFinish.TIMED_OUT: _l("时间到自动交卷")}


class MockExam(Base):
    """A timed mock exam: a Paper of purpose "mock", its server-time window and, once finished, its result."""

    __tablename__ = "practice_mock_exams"
    __table_args__ = (
        sa.CheckConstraint("deadline_at > started_at", name="window"),
        sa.CheckConstraint(
            "(finished_at IS NULL AND finish IS NULL AND score IS NULL AND passed IS NULL)"
            " OR (finished_at IS NOT NULL AND finish IS NOT NULL AND score IS NOT NULL AND passed IS NOT NULL)",
            name="result_complete",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(sa.ForeignKey("papers.id"), unique=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_items.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finish: Mapped[MockFinish | None] = mapped_column(str_enum(MockFinish, "mock_finish", 10))
    score: Mapped[int | None]
    passed: Mapped[bool | None]

    paper: Mapped[Paper] = relationship()
    item: Mapped[Item] = relationship()

    @property
    def finished(self) -> bool:
        """Whether the mock has been graded."""
        return self.finished_at is not None

    def __repr__(self) -> str:
        return f"<MockExam {self.id} trainee={self.trainee_id} paper={self.paper_id}>"


class MockAnswer(Base):
    """The answer currently saved for one question of a running mock, in the letters shown on the paper."""

    __tablename__ = "practice_mock_answers"
    __table_args__ = (sa.UniqueConstraint("mock_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mock_id: Mapped[int] = mapped_column(sa.ForeignKey("practice_mock_exams.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"), index=True)
    shown: Mapped[str] = mapped_column(sa.String(6))
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<MockAnswer mock={self.mock_id} question={self.question_id} {self.shown!r}>"
