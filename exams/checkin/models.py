"""Check-in at the door (人证核验): one admission row per booking and every face check made for it."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exams.sessions.models import Booking
from opcert.db import Base, UTCDateTime, str_enum, utcnow


class CheckInStatus(enum.StrEnum):
    """Where a candidate's check-in stands: admitted and refused are final."""

    REVIEW = "review"
    SUPERVISOR = "supervisor"
    ADMITTED = "admitted"
    REFUSED = "refused"

    @property
    def label(self) -> LazyString:
        """The status's name for people."""
        return {
            CheckInStatus.REVIEW: _l("待工作人员核对"),
            CheckInStatus.SUPERVISOR: _l("待主管决定"),
            CheckInStatus.ADMITTED: _l("已入场"),
            CheckInStatus.REFUSED: _l("拒绝入场"),
        }[self]


class CheckInMethod(enum.StrEnum):
    """How the identity was checked: face comparison, or staff against the ID card (no photo or no consent)."""

    FACE = "face"
    MANUAL = "manual"


class CheckIn(Base):
    """A booking's check-in: the last face check it rests on, who decided, why, and the stand-in flag."""

    __tablename__ = "exam_checkins"
    __table_args__ = (sa.UniqueConstraint("booking_id", name="uq_exam_checkins_booking"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_bookings.id"))
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    status: Mapped[CheckInStatus] = mapped_column(str_enum(CheckInStatus, "checkin_status", 20))
    method: Mapped[CheckInMethod] = mapped_column(str_enum(CheckInMethod, "checkin_method", 10))
    # The face check the status rests on (photos.FaceDecision holds frames, distances, templates, thresholds, model).
    decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("face_decisions.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(sa.String(10), default="")
    # A manual check's capture: the candidate's photo for this exam (photos.Photo, source check-in).
    photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photos.id", ondelete="SET NULL"))
    standin_suspected: Mapped[bool] = mapped_column(default=False)
    standin_matches: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    checked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    supervisor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    booking: Mapped[Booking] = relationship()
    captures: Mapped[list[CheckInCapture]] = relationship(
        back_populates="checkin", order_by="CheckInCapture.id", cascade="all, delete-orphan"
    )

    @property
    def admitted(self) -> bool:
        """Whether the candidate may enter."""
        return self.status is CheckInStatus.ADMITTED

    def __repr__(self) -> str:
        return f"<CheckIn {self.id} booking={self.booking_id} {self.status.value}>"


class CheckInCapture(Base):
    """One face check at the desk: the decision photos stored, and the 1:N search made with its capture."""

    __tablename__ = "exam_checkin_captures"

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_checkins.id", ondelete="CASCADE"), index=True)
    decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("face_decisions.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(sa.String(10))
    distance: Mapped[float] = mapped_column(sa.Float)
    match_threshold: Mapped[float] = mapped_column(sa.Float)
    review_threshold: Mapped[float] = mapped_column(sa.Float)
    model_name: Mapped[str] = mapped_column(sa.String(60))
    standin_matches: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    checkin: Mapped[CheckIn] = relationship(back_populates="captures")

    def __repr__(self) -> str:
        return f"<CheckInCapture {self.id} checkin={self.checkin_id} {self.outcome}>"
