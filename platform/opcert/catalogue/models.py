"""The special-operation catalogue: categories and operation items (特种作业目录)."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opcert.db import Base, str_enum


class Education(enum.StrEnum):
    """Minimum education an item requires."""

    JUNIOR = "junior"
    SENIOR = "senior"

    @property
    def label(self) -> LazyString:
        """The level's name for people."""
        return EDUCATION_LABELS[self]


EDUCATION_LABELS = {Education.JUNIOR: _l("初中及以上"), Education.SENIOR: _l("高中（含中专）及以上")}


class Category(Base):
    """An operation category (作业类别), e.g. 1 电工作业."""

    __tablename__ = "catalogue_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(10), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    name_en: Mapped[str] = mapped_column(sa.String(120), default="")
    sort_key: Mapped[int] = mapped_column(default=0)

    items: Mapped[list[Item]] = relationship(back_populates="category", order_by="Item.sort_key")

    def __repr__(self) -> str:
        return f"<Category {self.code} {self.name}>"


class Item(Base):
    """An operation item (操作项目), with its training hours and exam formats."""

    __tablename__ = "catalogue_items"
    __table_args__ = (
        sa.CheckConstraint(
            "theory_hours >= 0 AND practical_hours >= 0 AND review_hours >= 0", name="hours_not_negative"
        ),
        sa.CheckConstraint(
            "theory_pass BETWEEN 0 AND 100 AND practical_pass BETWEEN 0 AND 100", name="pass_mark_range"
        ),
        sa.CheckConstraint("weight_k1 + weight_k2 + weight_k3 + weight_k4 = 100", name="weights_sum_100"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_categories.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(10), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    name_en: Mapped[str] = mapped_column(sa.String(120), default="")
    sort_key: Mapped[int] = mapped_column(default=0)
    offered: Mapped[bool] = mapped_column(default=False)
    education: Mapped[Education] = mapped_column(str_enum(Education, "education", 10), default=Education.JUNIOR)
    theory_hours: Mapped[int] = mapped_column(default=40)
    practical_hours: Mapped[int] = mapped_column(default=32)
    review_hours: Mapped[int] = mapped_column(default=8)
    theory_true_false: Mapped[int] = mapped_column(default=70)
    theory_single: Mapped[int] = mapped_column(default=30)
    theory_multiple: Mapped[int] = mapped_column(default=0)
    theory_minutes: Mapped[int] = mapped_column(default=120)
    theory_pass: Mapped[int] = mapped_column(default=80)
    practical_minutes: Mapped[int] = mapped_column(default=60)
    practical_pass: Mapped[int] = mapped_column(default=80)
    weight_k1: Mapped[int] = mapped_column(default=20)
    weight_k2: Mapped[int] = mapped_column(default=40)
    weight_k3: Mapped[int] = mapped_column(default=20)
    weight_k4: Mapped[int] = mapped_column(default=20)

    category: Mapped[Category] = relationship(back_populates="items")

    @property
    def theory_questions(self) -> int:
        """Questions on a theory paper."""
        return self.theory_true_false + self.theory_single + self.theory_multiple

    def __repr__(self) -> str:
        return f"<Item {self.code} {self.name}>"


# Columns an administrator edits and the data file sets, besides code/name/name_en.
ITEM_SETTINGS = (
    "offered",
    "education",
    "theory_hours",
    "practical_hours",
    "review_hours",
    "theory_true_false",
    "theory_single",
    "theory_multiple",
    "theory_minutes",
    "theory_pass",
    "practical_minutes",
    "practical_pass",
    "weight_k1",
    "weight_k2",
    "weight_k3",
    "weight_k4",
)
