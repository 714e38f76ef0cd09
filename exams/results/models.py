"""Exam results per part (theory, practical) and the retraining that opens a new round of attempts."""

from __future__ import annotations

import datetime as dt
import decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exams.sessions.models import ExamPart
from opcert.accounts.models import User
from opcert.catalogue.models import Item
from opcert.db import Base, UTCDateTime, str_enum, utcnow


class PartResult(Base):
    """One decided part of one person's exam in an item: score, pass, attempt within the training round."""

    __tablename__ = "exam_part_results"
    __table_args__ = (
        sa.UniqueConstraint("person_id", "item_id", "part", "session_id", name="uq_exam_part_results_session"),
        # Two results racing for the same attempt: the second one's flush fails and is refused.
        sa.UniqueConstraint(
            "person_id", "item_id", "part", "training_round", "attempt", name="uq_exam_part_results_attempt"
        ),
        sa.CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
        sa.CheckConstraint("attempt >= 1 AND training_round >= 0", name="attempt_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_items.id"))
    part: Mapped[ExamPart] = mapped_column(str_enum(ExamPart, "part_result_part", 20))
    score: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(5, 1))
    passed: Mapped[bool]
    # A veto item (否决项) failed the practical whatever the score.
    vetoed: Mapped[bool] = mapped_column(default=False)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    # Training rounds: 0 until the first retraining; attempts are counted within a round (2 = the makeup).
    training_round: Mapped[int] = mapped_column(default=0)
    attempt: Mapped[int]
    exam_date: Mapped[dt.date] = mapped_column(sa.Date)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    publish_by: Mapped[dt.date] = mapped_column(sa.Date)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    person: Mapped[User] = relationship()
    item: Mapped[Item] = relationship()

    def __repr__(self) -> str:
        return f"<PartResult {self.id} person={self.person_id} {self.part.value} {self.score} passed={self.passed}>"


class Retraining(Base):
    """Retraining completed after a failed makeup: the person's next attempts start a new round."""

    __tablename__ = "exam_retrainings"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_items.id"))
    completed_on: Mapped[dt.date] = mapped_column(sa.Date)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<Retraining {self.id} person={self.person_id} item={self.item_id} {self.completed_on}>"
