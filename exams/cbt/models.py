"""The computer-based theory exam: a session's run, each candidate's attempt and every answer saved.

Every save is a row (never updated): the current answer to a question is its latest save, and the rows of an
attempt form a hash chain (each row's hash covers its fields and the previous row's hash), sealed at submission.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exams.papers.models import Paper
from exams.sessions.models import Booking
from opcert.db import Base, UTCDateTime, str_enum, utcnow


class AttemptStatus(enum.StrEnum):
    """An attempt's life: seated (signed in, waiting for the start), answering, paused, submitted (final)."""

    SEATED = "seated"
    ANSWERING = "answering"
    PAUSED = "paused"
    SUBMITTED = "submitted"

    @property
    def label(self) -> LazyString:
        """The status's name for people."""
        return {
            AttemptStatus.SEATED: _l("已就座"),
            AttemptStatus.ANSWERING: _l("答题中"),
            AttemptStatus.PAUSED: _l("已暂停"),
            AttemptStatus.SUBMITTED: _l("已交卷"),
        }[self]


class ExamRun(Base):
    """A theory session's run on the day: started and ended by centre staff."""

    __tablename__ = "cbt_runs"
    __table_args__ = (sa.UniqueConstraint("session_id", name="uq_cbt_runs_session"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"))
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    show_score: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<ExamRun {self.id} session={self.session_id}>"


class Attempt(Base):
    """One candidate's theory exam: the paper, the clock on server time, the seat's device, the seal and score."""

    __tablename__ = "cbt_attempts"
    __table_args__ = (
        sa.UniqueConstraint("booking_id", name="uq_cbt_attempts_booking"),
        sa.CheckConstraint("last_seq >= 0", name="last_seq_not_negative"),
        sa.CheckConstraint("credited_seconds >= 0", name="credited_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_bookings.id"))
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    paper_id: Mapped[int] = mapped_column(sa.ForeignKey("papers.id"))
    status: Mapped[AttemptStatus] = mapped_column(str_enum(AttemptStatus, "cbt_attempt_status", 20))
    # SHA-256 of the random token in the seat's cookie: one device at a time (a move releases it).
    device_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    terminal: Mapped[str] = mapped_column(sa.String(60), default="")
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    signed_in_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    duration_seconds: Mapped[int]
    # Time added by an invigilator (reasons in the audit log) and credited back for server-side gaps.
    extra_seconds: Mapped[int] = mapped_column(default=0)
    credited_seconds: Mapped[int] = mapped_column(default=0)
    paused_seconds: Mapped[int] = mapped_column(default=0)
    paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The last save's sequence number (saves are numbered 1, 2, ... per attempt) and the chain's head.
    last_seq: Mapped[int] = mapped_column(default=0)
    head_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    last_save_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_contact_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    submitted_how: Mapped[str] = mapped_column(sa.String(20), default="")
    seal_hash: Mapped[str | None] = mapped_column(sa.String(64))
    score: Mapped[int | None]
    passed: Mapped[bool | None]

    booking: Mapped[Booking] = relationship()
    paper: Mapped[Paper] = relationship()

    @property
    def deadline(self) -> dt.datetime | None:
        """When time is up on server time (None before the start); a running pause moves it on."""
        if self.started_at is None:
            return None
        seconds = self.duration_seconds + self.extra_seconds + self.credited_seconds + self.paused_seconds
        return self.started_at + dt.timedelta(seconds=seconds)

    def __repr__(self) -> str:
        return f"<Attempt {self.id} booking={self.booking_id} {self.status.value} seq={self.last_seq}>"


class AnswerSave(Base):
    """One acknowledged save: the answer to one question as given (letters as shown), in the attempt's chain."""

    __tablename__ = "cbt_answer_saves"
    __table_args__ = (sa.UniqueConstraint("attempt_id", "seq", name="uq_cbt_answer_saves_attempt_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by uq_cbt_answer_saves_attempt_seq (attempt_id leads it): no index of its own to keep up per save.
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("cbt_attempts.id", ondelete="CASCADE"))
    seq: Mapped[int]
    number: Mapped[int]  # the question's number on the paper (1-based)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"))
    answer: Mapped[str] = mapped_column(sa.String(6), default="")
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    def __repr__(self) -> str:
        return f"<AnswerSave attempt={self.attempt_id} seq={self.seq} q={self.number}>"
