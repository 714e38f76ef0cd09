"""Candidates' papers (the drawn questions in order) and their recorded answers."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opcert.catalogue.models import Item
from opcert.db import Base, UTCDateTime, utcnow


class Paper(Base):
    """One candidate's paper: the drawn questions in order, each with its shuffled option order and points.

    `questions` is JSON: [{"id": 12, "order": [2, 0, 3, 1], "points": 1}, ...]; `order[i]` is the original index
    of the option shown at position i (empty for true/false). `seed` reproduces the draw from the same bank.
    """

    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_items.id"), index=True)
    candidate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(40), default="")
    seed: Mapped[str] = mapped_column(sa.String(64))
    questions: Mapped[str] = mapped_column(sa.Text)
    duration_minutes: Mapped[int]
    pass_mark: Mapped[int]
    total_points: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship()

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The decoded question entries, in paper order."""
        values: list[dict[str, Any]] = json.loads(self.questions)
        return values

    def __repr__(self) -> str:
        return f"<Paper {self.id} item={self.item_id} candidate={self.candidate_id}>"


class PaperAnswer(Base):
    """A recorded answer to one question of a paper, in the question's original letters."""

    __tablename__ = "paper_answers"
    __table_args__ = (sa.UniqueConstraint("paper_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(sa.ForeignKey("papers.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"), index=True)
    chosen: Mapped[str] = mapped_column(sa.String(6), default="")
    correct: Mapped[bool]
    points: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<PaperAnswer paper={self.paper_id} question={self.question_id} {self.correct}>"
