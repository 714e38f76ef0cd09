"""Applications for a certificate (线上申请): the prefilled dossier, the signed commitment, delivery, the review."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opcert.accounts.models import Organisation, User
from opcert.catalogue.models import Item
from opcert.db import Base, UTCDateTime, str_enum, utcnow


class ApplicationStatus(enum.StrEnum):
    """Where an application stands."""

    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"
    APPROVED = "approved"
    REFUSED = "refused"

    @property
    def label(self) -> LazyString:
        """The status's name for people."""
        return APPLICATION_STATUS_LABELS[self]


APPLICATION_STATUS_LABELS = {
    ApplicationStatus.SUBMITTED: _l("已提交，待受理"),
    ApplicationStatus.ACCEPTED: _l("已受理，审核中"),
    ApplicationStatus.RETURNED: _l("退回补正"),
    ApplicationStatus.APPROVED: _l("已批准发证"),
    ApplicationStatus.REFUSED: _l("不予发证"),
}
OPEN_STATUSES = frozenset({ApplicationStatus.SUBMITTED, ApplicationStatus.ACCEPTED, ApplicationStatus.RETURNED})


class Matter(enum.StrEnum):
    """The matter (事项) an application asks for."""

    FIRST_ISSUE = "first_issue"
    REVIEW = "review"
    EXTENSION = "extension"
    REISSUE = "reissue"

    @property
    def label(self) -> LazyString:
        """The matter's name for people."""
        return MATTER_LABELS[self]


MATTER_LABELS = {
    Matter.FIRST_ISSUE: _l("首次发证"),
    Matter.REVIEW: _l("复审"),
    Matter.EXTENSION: _l("延期复审（换发新证）"),
    Matter.REISSUE: _l("补办（遗失补发）"),
}


class Delivery(enum.StrEnum):
    """How the certificate reaches its holder."""

    ELECTRONIC = "electronic"
    MAIL = "mail"

    @property
    def label(self) -> LazyString:
        """The choice's name for people."""
        return DELIVERY_LABELS[self]


# Reasons an officer may give for refusing a certificate (code → name for people).
REFUSAL_REASONS = {
    "not_qualified": _l("不符合申请条件"),
    "health": _l("身体条件不符合要求"),
    "false_information": _l("提供虚假信息或隐瞒情况"),
    "barred": _l("依法不得申请（如被撤销证书未满3年）"),
    "other": _l("其他原因"),
    "review_training": _l("复审培训学时不足"),
    "record": _l("有违章记录或被暂扣、撤销"),
}


DELIVERY_LABELS = {Delivery.ELECTRONIC: _l("仅电子证书"), Delivery.MAIL: _l("电子证书并邮寄实体卡")}


class CertificateApplication(Base):
    """One person's application for one item's certificate, routed to the competent authority."""

    __tablename__ = "certificate_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_items.id"), index=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(str_enum(ApplicationStatus, "application_status", 16))
    matter: Mapped[Matter] = mapped_column(
        str_enum(Matter, "application_matter", 16), default=Matter.FIRST_ISSUE, server_default="first_issue"
    )
    # "user_id:item_id" while the application is open, NULL after the decision: one open application per item
    # (a later matter on the certificate: "user_id:item_id:matter").
    open_key: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    dossier: Mapped[str] = mapped_column(sa.Text)  # JSON: what the platform held when the person applied
    commitment_version: Mapped[str] = mapped_column(sa.String(20))
    commitment_text: Mapped[str] = mapped_column(sa.Text)
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    delivery: Mapped[Delivery] = mapped_column(str_enum(Delivery, "application_delivery", 16))
    mail_address: Mapped[str] = mapped_column(sa.String(200), default="")
    mail_recipient: Mapped[str] = mapped_column(sa.String(30), default="")
    mail_phone: Mapped[str] = mapped_column(sa.String(20), default="")
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    accept_by: Mapped[dt.date] = mapped_column(sa.Date)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decide_by: Mapped[dt.date | None] = mapped_column(sa.Date)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    corrections: Mapped[str] = mapped_column(sa.Text, default="")  # the one-time list, one correction a line
    refusal_code: Mapped[str] = mapped_column(sa.String(30), default="")
    refusal_text: Mapped[str] = mapped_column(sa.Text, default="")
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Four eyes (CERT_FOUR_EYES): the first of the two approvals, by an officer other than the second.
    first_approved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    first_approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    certificate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificates.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    item: Mapped[Item] = relationship()
    authority: Mapped[Organisation] = relationship()

    def __repr__(self) -> str:
        return f"<CertificateApplication {self.id} user={self.user_id} item={self.item_id} {self.status.value}>"
