"""Certificates: the holder's record (number "T" + ID number), one certificate per operation item, status history."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from opcert.catalogue.models import Item
from opcert.db import Base, UTCDateTime, str_enum, utcnow


class CertificateStatus(enum.StrEnum):
    """A certificate's status; the one-byte codes are used in the QR payload and the status list."""

    VALID = "valid"
    REVIEW_DUE = "review_due"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    REVOKED = "revoked"
    CANCELLED = "cancelled"

    @property
    def label(self) -> LazyString:
        """The status's name for people."""
        return STATUS_LABELS[self]

    @property
    def code(self) -> int:
        """The status's byte in compact payloads."""
        return list(CertificateStatus).index(self)


STATUS_LABELS = {
    CertificateStatus.VALID: _l("有效"),
    CertificateStatus.REVIEW_DUE: _l("待复审"),
    CertificateStatus.SUSPENDED: _l("暂扣"),
    CertificateStatus.EXPIRED: _l("已过期"),
    CertificateStatus.REVOKED: _l("已撤销"),
    CertificateStatus.CANCELLED: _l("已注销"),
}


class EventKind(enum.StrEnum):
    """What an entry of the history records: a status change, a review (复审), an extension (延期复审), a reissue."""

    STATUS = "status"
    REVIEW = "review"
    EXTENSION = "extension"
    REISSUE = "reissue"


class CertificateHolder(Base):
    """A person's certificate record: the number is "T" + the ID number, and each item adds a certificate."""

    __tablename__ = "certificate_holders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(19), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    id_number: Mapped[str] = mapped_column(sa.String(18), unique=True)
    name: Mapped[str] = mapped_column(sa.String(30))
    sex: Mapped[str] = mapped_column(sa.String(1))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    certificates: Mapped[list[Certificate]] = relationship(back_populates="holder", order_by="Certificate.id")

    def __repr__(self) -> str:
        return f"<CertificateHolder {self.id} {self.number}>"


class Certificate(Base):
    """One operation item's certificate: dates, current status, the sealed payload of its QR code."""

    __tablename__ = "certificates"
    __table_args__ = (sa.UniqueConstraint("holder_id", "item_id", name="uq_certificates_holder_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # also the certificate's index in the status list
    holder_id: Mapped[int] = mapped_column(sa.ForeignKey("certificate_holders.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_items.id"), index=True)
    first_issued_on: Mapped[dt.date] = mapped_column(sa.Date)
    valid_until: Mapped[dt.date] = mapped_column(sa.Date)
    review_due_on: Mapped[dt.date] = mapped_column(sa.Date)
    status: Mapped[CertificateStatus] = mapped_column(str_enum(CertificateStatus, "certificate_status", 16))
    status_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    status_on: Mapped[dt.date] = mapped_column(sa.Date)
    authority: Mapped[str] = mapped_column(sa.String(60))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    theory_score: Mapped[float | None] = mapped_column(sa.Float)
    theory_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    practical_score: Mapped[float | None] = mapped_column(sa.Float)
    practical_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    theory_session_id: Mapped[int | None] = mapped_column(sa.Integer)
    practical_session_id: Mapped[int | None] = mapped_column(sa.Integer)
    # The sealed QR payload (opcert.certificates.payload): set in the transaction that inserts the row.
    sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    seal_alg: Mapped[str] = mapped_column(sa.String(16), default="")
    seal_kid: Mapped[str] = mapped_column(sa.String(32), default="")

    holder: Mapped[CertificateHolder] = relationship(back_populates="certificates")
    item: Mapped[Item] = relationship()
    events: Mapped[list[CertificateEvent]] = relationship(back_populates="certificate", order_by="CertificateEvent.id")

    def __repr__(self) -> str:
        return f"<Certificate {self.id} holder={self.holder_id} item={self.item_id} {self.status.value}>"


class CertificateEvent(Base):
    """One entry of a certificate's status history (never changed or deleted)."""

    __tablename__ = "certificate_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id"), index=True)
    status: Mapped[CertificateStatus] = mapped_column(str_enum(CertificateStatus, "certificate_event_status", 16))
    kind: Mapped[EventKind] = mapped_column(
        str_enum(EventKind, "certificate_event_kind", 16), default=EventKind.STATUS, server_default="status"
    )
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    on: Mapped[dt.date] = mapped_column(sa.Date)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    certificate: Mapped[Certificate] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return f"<CertificateEvent {self.id} cert={self.certificate_id} {self.status.value} {self.on}>"


class StatusList(Base):
    """A published, sealed status list (W3C Bitstring Status List style); the newest one is served."""

    __tablename__ = "certificate_status_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    document: Mapped[str] = mapped_column(sa.Text)
    # How many status events existed when it was built: history is append-only, so any later one raises the count.
    events_seen: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"<StatusList {self.id} {self.issued_at:%Y-%m-%d %H:%M}>"


class HistoryTamperingError(Exception):
    """An attempt to change or delete a certificate's status history."""


@event.listens_for(Session, "before_flush")
def _refuse_history_changes(session: Session, flush_context: object, instances: object) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, CertificateEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise HistoryTamperingError("certificate status history is append-only")
