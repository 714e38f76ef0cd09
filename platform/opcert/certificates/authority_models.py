"""The competent authority's tables: routing rules (事权下放) and the versioned service guides (办事指南)."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opcert.accounts.models import Organisation, User
from opcert.catalogue.models import Category, Item
from opcert.db import Base, UTCDateTime, str_enum, utcnow


class Matter(enum.StrEnum):
    """The matters (办理事项) a person brings to the authority about a certificate."""

    FIRST_ISSUE = "first_issue"
    REVIEW = "review"
    REISSUE = "reissue"
    CANCELLATION = "cancellation"
    CHANGE = "change"

    @property
    def label(self) -> LazyString:
        """The matter's name for people."""
        return MATTER_LABELS[self]


MATTER_LABELS = {
    Matter.FIRST_ISSUE: _l("特种作业操作证首次申领"),
    Matter.REVIEW: _l("特种作业操作证复审"),
    Matter.REISSUE: _l("特种作业操作证补办"),
    Matter.CANCELLATION: _l("特种作业操作证注销"),
    Matter.CHANGE: _l("特种作业操作证信息变更"),
}


class RoutingRule(Base):
    """Which authority is competent: for a matter (or any), an item or category (or any), a district (or any)."""

    __tablename__ = "certificate_routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter: Mapped[str] = mapped_column(sa.String(20), default="")  # "" = every matter
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("catalogue_categories.id"))
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("catalogue_items.id"))
    district: Mapped[str] = mapped_column(sa.String(6), default="")  # GB/T 2260 county code; "" = everywhere
    # matter|category|item|district: one rule per combination (NULLs would not collide in a unique constraint).
    key: Mapped[str] = mapped_column(sa.String(60), unique=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    updated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    category: Mapped[Category | None] = relationship()
    item: Mapped[Item | None] = relationship()
    authority: Mapped[Organisation] = relationship()

    def __repr__(self) -> str:
        return f"<RoutingRule {self.id} {self.key!r} -> {self.authority_id}>"


class Guide(Base):
    """A matter's public service guide (办事指南); its text lives in versions, never overwritten."""

    __tablename__ = "service_guides"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter: Mapped[Matter] = mapped_column(str_enum(Matter, "guide_matter", 20), unique=True)
    current_number: Mapped[int] = mapped_column(default=0)

    versions: Mapped[list[GuideVersion]] = relationship(order_by="GuideVersion.number.desc()", viewonly=True)

    def __repr__(self) -> str:
        return f"<Guide {self.matter.value} v{self.current_number}>"


class GuideVersion(Base):
    """One version of a guide: every section as it read, with the date and the editor of the change."""

    __tablename__ = "service_guide_versions"
    __table_args__ = (sa.UniqueConstraint("guide_id", "number", name="uq_service_guide_versions_guide_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    guide_id: Mapped[int] = mapped_column(sa.ForeignKey("service_guides.id"), index=True)
    number: Mapped[int]
    conditions: Mapped[str] = mapped_column(sa.Text)
    materials: Mapped[str] = mapped_column(sa.Text)
    time_limit: Mapped[str] = mapped_column(sa.Text)
    fees: Mapped[str] = mapped_column(sa.Text)
    delivery: Mapped[str] = mapped_column(sa.Text)
    faq: Mapped[str] = mapped_column(sa.Text)  # 问：… / 答：… lines
    change_note: Mapped[str] = mapped_column(sa.String(200), default="")
    edited_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    edited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    guide: Mapped[Guide] = relationship()
    editor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<GuideVersion {self.guide_id} v{self.number}>"
