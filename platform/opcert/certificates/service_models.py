"""After issuance: the mailed card's journey (邮寄), the ratings of each completed matter (好差评), follow-ups."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opcert.accounts.models import User
from opcert.catalogue.models import Item
from opcert.certificates.models import Certificate
from opcert.db import Base, UTCDateTime, str_enum, utcnow


class MailingStatus(enum.StrEnum):
    """Where a mailed card stands."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    RETURNED = "returned"

    @property
    def label(self) -> LazyString:
        """The status's name for people."""
        return MAILING_STATUS_LABELS[self]


MAILING_STATUS_LABELS = {
    MailingStatus.QUEUED: _l("待打印封装"),
    MailingStatus.SENT: _l("已寄出"),
    MailingStatus.DELIVERED: _l("已签收"),
    MailingStatus.RETURNED: _l("已退回"),
}


class Mailing(Base):
    """One card to mail: queued at issuance (or reissue), packed and sent with a tracking number, then delivered
    or returned. `source` ("application:12", "reissue:3") makes queuing it idempotent."""

    __tablename__ = "certificate_mailings"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(40), unique=True)
    matter: Mapped[str] = mapped_column(sa.String(20))
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    status: Mapped[MailingStatus] = mapped_column(str_enum(MailingStatus, "mailing_status", 16))
    address: Mapped[str] = mapped_column(sa.String(200))
    recipient: Mapped[str] = mapped_column(sa.String(30))
    phone: Mapped[str] = mapped_column(sa.String(20))
    courier: Mapped[str] = mapped_column(sa.String(16), default="")
    tracking_number: Mapped[str] = mapped_column(sa.String(30), default="")
    return_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # delivered or returned
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    certificate: Mapped[Certificate] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def item(self) -> Item:
        """The operation item of the mailed card."""
        return self.certificate.item

    def __repr__(self) -> str:
        return f"<Mailing {self.id} {self.source} {self.status.value}>"


class RatingLevel(enum.StrEnum):
    """The five levels of 好差评, best first."""

    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    BASIC = "basic"
    DISSATISFIED = "dissatisfied"
    VERY_DISSATISFIED = "very_dissatisfied"

    @property
    def label(self) -> LazyString:
        """The level's name for people."""
        return RATING_LABELS[self]

    @property
    def is_bad(self) -> bool:
        """A bad rating (差评) opens a follow-up."""
        return self in (RatingLevel.DISSATISFIED, RatingLevel.VERY_DISSATISFIED)


RATING_LABELS = {
    RatingLevel.VERY_SATISFIED: _l("非常满意"),
    RatingLevel.SATISFIED: _l("满意"),
    RatingLevel.BASIC: _l("基本满意"),
    RatingLevel.DISSATISFIED: _l("不满意"),
    RatingLevel.VERY_DISSATISFIED: _l("非常不满意"),
}


class ServiceRating(Base):
    """A person's one rating of one completed matter (`subject` "application:12", "mailing:3" is unique)."""

    __tablename__ = "certificate_service_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(40), unique=True)
    matter: Mapped[str] = mapped_column(sa.String(20), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    level: Mapped[RatingLevel] = mapped_column(str_enum(RatingLevel, "rating_level", 20))
    comment: Mapped[str] = mapped_column(sa.String(500), default="")
    rated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    month: Mapped[str] = mapped_column(sa.String(7), index=True)  # "2026-12", in the deployment's zone

    user: Mapped[User] = relationship()
    follow_up: Mapped[RatingFollowUp | None] = relationship(back_populates="rating")

    def __repr__(self) -> str:
        return f"<ServiceRating {self.id} {self.subject} {self.level.value}>"


class RatingFollowUp(Base):
    """The follow-up of a bad rating: an officer of the authority closes it, with a note, by `due_on`."""

    __tablename__ = "certificate_rating_followups"

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(sa.ForeignKey("certificate_service_ratings.id"), unique=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    opened_on: Mapped[dt.date] = mapped_column(sa.Date)
    due_on: Mapped[dt.date] = mapped_column(sa.Date)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    closed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")

    rating: Mapped[ServiceRating] = relationship(back_populates="follow_up")

    def __repr__(self) -> str:
        return f"<RatingFollowUp {self.id} rating={self.rating_id} due={self.due_on}>"
