"""Question bank: questions per operation item and paper blueprints."""

from __future__ import annotations

import datetime as dt
import enum
import json

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opcert.accounts.models import Organisation
from opcert.catalogue.models import Item
from opcert.db import Base, UTCDateTime, str_enum, utcnow

OPTION_LETTERS = "ABCDEF"


class QuestionKind(enum.StrEnum):
    """The three kinds of theory question."""

    TRUE_FALSE = "true_false"
    SINGLE = "single"
    MULTIPLE = "multiple"

    @property
    def label(self) -> LazyString:
        """The kind's name for people."""
        return KIND_LABELS[self]


KIND_LABELS = {
    QuestionKind.TRUE_FALSE: _l("判断题"),
    QuestionKind.SINGLE: _l("单选题"),
    QuestionKind.MULTIPLE: _l("多选题"),
}


class QuestionStatus(enum.StrEnum):
    """A question's life: drafted, in use for papers, withdrawn."""

    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"

    @property
    def label(self) -> LazyString:
        """The status's name for people."""
        return STATUS_LABELS[self]


STATUS_LABELS = {
    QuestionStatus.DRAFT: _l("草稿"),
    QuestionStatus.ACTIVE: _l("启用"),
    QuestionStatus.RETIRED: _l("停用"),
}

# Allowed status changes; an active question never goes back to draft (papers may already contain it).
STATUS_TRANSITIONS = {
    QuestionStatus.DRAFT: frozenset({QuestionStatus.ACTIVE, QuestionStatus.RETIRED}),
    QuestionStatus.ACTIVE: frozenset({QuestionStatus.RETIRED}),
    QuestionStatus.RETIRED: frozenset({QuestionStatus.ACTIVE}),
}


class Question(Base):
    """One question of an item's bank; `options` is a JSON list (A, B, ...), `answer` letters or T/F."""

    __tablename__ = "questions"
    __table_args__ = (
        sa.UniqueConstraint("item_id", "content_hash"),
        sa.CheckConstraint("difficulty BETWEEN 1 AND 5", name="difficulty_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_items.id"), index=True)
    kind: Mapped[QuestionKind] = mapped_column(str_enum(QuestionKind, "question_kind", 12))
    stem: Mapped[str] = mapped_column(sa.Text)
    options: Mapped[str] = mapped_column(sa.Text, default="[]")
    answer: Mapped[str] = mapped_column(sa.String(6))
    knowledge_point: Mapped[str] = mapped_column(sa.String(60), default="")
    difficulty: Mapped[int] = mapped_column(default=3)
    explanation: Mapped[str] = mapped_column(sa.Text, default="")
    image_key: Mapped[str | None] = mapped_column(sa.String(80))
    # The provider organisation that created or imported the question; NULL: the authority's (decision 0002).
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[QuestionStatus] = mapped_column(
        str_enum(QuestionStatus, "question_status", 10), default=QuestionStatus.DRAFT
    )
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    item: Mapped[Item] = relationship()
    organisation: Mapped[Organisation | None] = relationship()

    @property
    def option_list(self) -> list[str]:
        """The options' texts, A first."""
        values: list[str] = json.loads(self.options)
        return values

    def __repr__(self) -> str:
        return f"<Question {self.id} {self.kind.value} {self.status.value}>"


class Blueprint(Base):
    """How an item's theory paper is made up (when absent, the catalogue item's counts apply)."""

    __tablename__ = "exam_blueprints"
    __table_args__ = (
        sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),
        sa.CheckConstraint("pass_mark > 0", name="pass_mark_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_items.id"), unique=True)
    duration_minutes: Mapped[int]
    pass_mark: Mapped[int]
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    rows: Mapped[list[BlueprintRow]] = relationship(
        back_populates="blueprint", cascade="all, delete-orphan", order_by="BlueprintRow.position"
    )

    def __repr__(self) -> str:
        return f"<Blueprint item={self.item_id}>"


class BlueprintRow(Base):
    """N questions of one kind (and knowledge point, "" for any) at P points each."""

    __tablename__ = "exam_blueprint_rows"
    __table_args__ = (
        sa.UniqueConstraint("blueprint_id", "kind", "knowledge_point"),
        sa.CheckConstraint("count >= 0 AND points > 0", name="count_points"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    blueprint_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_blueprints.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[QuestionKind] = mapped_column(str_enum(QuestionKind, "blueprint_kind", 12))
    knowledge_point: Mapped[str] = mapped_column(sa.String(60), default="")
    count: Mapped[int]
    points: Mapped[int] = mapped_column(default=1)

    blueprint: Mapped[Blueprint] = relationship(back_populates="rows")

    def __repr__(self) -> str:
        return f"<BlueprintRow {self.kind.value} {self.knowledge_point!r} x{self.count}>"
