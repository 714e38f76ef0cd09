"""The life of a certificate after issue: past validity periods (延期复审) and reminders sent (docs/decisions/0004)."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from opcert.db import Base, UTCDateTime, str_enum, utcnow


class CertificatePeriod(Base):
    """A validity period a certificate had before an extension, or a new issue after it ended, replaced it (kept,
    never changed)."""

    __tablename__ = "certificate_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id"), index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[dt.date] = mapped_column(sa.Date)
    review_due_on: Mapped[dt.date] = mapped_column(sa.Date)
    sealed: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    seal_kid: Mapped[str] = mapped_column(sa.String(32), default="")
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<CertificatePeriod {self.id} cert={self.certificate_id} until {self.valid_until}>"


class ReminderKind(enum.StrEnum):
    """What a reminder is about: the review date or the end of the validity period."""

    REVIEW = "review"
    EXPIRY = "expiry"


class CertificateReminder(Base):
    """One reminder sent: at most one per certificate, kind, date it is about and days before (idempotent)."""

    __tablename__ = "certificate_reminders"
    __table_args__ = (
        sa.UniqueConstraint("certificate_id", "kind", "due_on", "days", name="uq_certificate_reminders_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id"), index=True)
    kind: Mapped[ReminderKind] = mapped_column(str_enum(ReminderKind, "certificate_reminder_kind", 10))
    due_on: Mapped[dt.date] = mapped_column(sa.Date)
    days: Mapped[int] = mapped_column()
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<CertificateReminder {self.certificate_id} {self.kind.value} {self.due_on} -{self.days}>"
