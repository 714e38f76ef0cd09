"""Rooms, exam sessions, exam applications, signed commitments (告知承诺) and bookings."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opcert.accounts.models import Organisation, User
from opcert.catalogue.models import Education, Item
from opcert.db import Base, UTCDateTime, str_enum, utcnow


class RoomLayout(enum.StrEnum):
    """What a room is set up for: computer-based theory exams or practical exams."""

    COMPUTER = "computer"
    PRACTICAL = "practical"

    @property
    def label(self) -> LazyString:
        """The layout's name for people."""
        return {RoomLayout.COMPUTER: _l("机考教室"), RoomLayout.PRACTICAL: _l("实操考场")}[self]


class ExamPart(enum.StrEnum):
    """The part of the exam a session holds."""

    THEORY = "theory"
    PRACTICAL = "practical"

    @property
    def label(self) -> LazyString:
        """The part's name for people."""
        return {ExamPart.THEORY: _l("理论考试"), ExamPart.PRACTICAL: _l("实际操作考试")}[self]


class SessionStatus(enum.StrEnum):
    """A session's life: open for booking, closed by staff, cancelled (final)."""

    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> LazyString:
        """The status's name for people."""
        return {
            SessionStatus.OPEN: _l("开放预约"),
            SessionStatus.CLOSED: _l("已关闭预约"),
            SessionStatus.CANCELLED: _l("已取消"),
        }[self]


class BookingStatus(enum.StrEnum):
    """A booking's life; a cancelled or moved booking can be taken up again for the same session."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"
    NO_SHOW = "no_show"

    @property
    def label(self) -> LazyString:
        """The status's name for people."""
        return {
            BookingStatus.CONFIRMED: _l("已预约"),
            BookingStatus.WAITLISTED: _l("候补中"),
            BookingStatus.CANCELLED: _l("已取消"),
            BookingStatus.RESCHEDULED: _l("已改约"),
            BookingStatus.NO_SHOW: _l("缺考"),
        }[self]

    @property
    def is_active(self) -> bool:
        """Whether the booking holds a seat or a place in the queue."""
        return self in (BookingStatus.CONFIRMED, BookingStatus.WAITLISTED)


SESSION_TRANSITIONS: dict[SessionStatus, frozenset[SessionStatus]] = {
    SessionStatus.OPEN: frozenset({SessionStatus.CLOSED, SessionStatus.CANCELLED}),
    SessionStatus.CLOSED: frozenset({SessionStatus.OPEN, SessionStatus.CANCELLED}),
    SessionStatus.CANCELLED: frozenset(),
}

BOOKING_TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.CONFIRMED: frozenset({BookingStatus.CANCELLED, BookingStatus.RESCHEDULED, BookingStatus.NO_SHOW}),
    BookingStatus.WAITLISTED: frozenset({BookingStatus.CONFIRMED, BookingStatus.CANCELLED, BookingStatus.RESCHEDULED}),
    BookingStatus.CANCELLED: frozenset({BookingStatus.CONFIRMED, BookingStatus.WAITLISTED}),
    BookingStatus.RESCHEDULED: frozenset({BookingStatus.CONFIRMED, BookingStatus.WAITLISTED}),
    BookingStatus.NO_SHOW: frozenset({BookingStatus.CONFIRMED}),
}

session_items = sa.Table(
    "exam_session_items",
    Base.metadata,
    sa.Column("session_id", sa.ForeignKey("exam_sessions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("item_id", sa.ForeignKey("catalogue_items.id"), primary_key=True),
)


class Room(Base):
    """A room of an exam centre, with its seats."""

    __tablename__ = "exam_rooms"
    __table_args__ = (
        sa.UniqueConstraint("centre_id", "name", name="uq_exam_rooms_centre_name"),
        sa.CheckConstraint("seats > 0 AND seats_per_row > 0", name="seats_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    layout: Mapped[RoomLayout] = mapped_column(str_enum(RoomLayout, "room_layout", 20))
    seats: Mapped[int]
    # Seats are numbered row by row from the front; the ticket shows row and place.
    seats_per_row: Mapped[int] = mapped_column(default=10)
    is_active: Mapped[bool] = mapped_column(default=True)

    centre: Mapped[Organisation] = relationship()

    def seat_label(self, seat: int) -> str:
        """Row and place of a seat number (e.g. 3-07)."""
        row, place = divmod(seat - 1, self.seats_per_row)
        return f"{row + 1}-{place + 1:02d}"

    def __repr__(self) -> str:
        return f"<Room {self.id} centre={self.centre_id} {self.name!r} seats={self.seats}>"


class ExamSession(Base):
    """One sitting of an exam in a room: its items, time, capacity, booking window and status."""

    __tablename__ = "exam_sessions"
    __table_args__ = (
        sa.CheckConstraint("capacity > 0", name="capacity_positive"),
        sa.CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats_within_capacity"),
        sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),
        sa.CheckConstraint("booking_opens_at < booking_closes_at", name="booking_window_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_rooms.id"), index=True)
    part: Mapped[ExamPart] = mapped_column(str_enum(ExamPart, "exam_part", 20))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    duration_minutes: Mapped[int]
    capacity: Mapped[int]
    # Confirmed seats, changed only by conditional UPDATEs: the capacity guard under concurrency.
    seats_taken: Mapped[int] = mapped_column(default=0)
    booking_opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    booking_closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    cancel_deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[SessionStatus] = mapped_column(
        str_enum(SessionStatus, "exam_session_status", 20), default=SessionStatus.OPEN
    )
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    centre: Mapped[Organisation] = relationship()
    room: Mapped[Room] = relationship()
    items: Mapped[list[Item]] = relationship(secondary=session_items, order_by=Item.sort_key)

    @property
    def ends_at(self) -> dt.datetime:
        """When the session ends."""
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)

    @property
    def seats_left(self) -> int:
        """Seats not yet taken."""
        return self.capacity - self.seats_taken

    def __repr__(self) -> str:
        return f"<ExamSession {self.id} {self.part.value} {self.starts_at:%Y-%m-%d %H:%M} {self.status.value}>"


class ExamApplication(Base):
    """A trainee's application to be examined in an item: the exam must follow within the set number of days."""

    __tablename__ = "exam_applications"
    __table_args__ = (sa.UniqueConstraint("trainee_id", "item_id", name="uq_exam_applications_trainee_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_items.id"))
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    item: Mapped[Item] = relationship()

    def __repr__(self) -> str:
        return f"<ExamApplication {self.id} trainee={self.trainee_id} item={self.item_id}>"


class Commitment(Base):
    """A signed commitment (告知承诺) replacing proofs of health, education and residence; one per version."""

    __tablename__ = "exam_commitments"
    __table_args__ = (
        sa.UniqueConstraint("trainee_id", "version", name="uq_exam_commitments_trainee_version"),
        sa.CheckConstraint(
            "healthy AND no_disqualifying_illness AND lives_or_works_in_city AND truthful", name="all_affirmed"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    version: Mapped[str] = mapped_column(sa.String(20))
    healthy: Mapped[bool]
    no_disqualifying_illness: Mapped[bool]
    education: Mapped[Education] = mapped_column(str_enum(Education, "commitment_education", 10))
    lives_or_works_in_city: Mapped[bool]
    truthful: Mapped[bool]
    # The employer the trainee declares (工作单位): an examiner of the same organisation may not mark them.
    employer: Mapped[str] = mapped_column(sa.String(100), default="")
    signed_name: Mapped[str] = mapped_column(sa.String(30))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip: Mapped[str] = mapped_column(sa.String(45), default="")

    def __repr__(self) -> str:
        return f"<Commitment {self.id} trainee={self.trainee_id} v={self.version}>"


class Booking(Base):
    """A trainee's seat (or place on the waitlist) in a session; one row per trainee and session."""

    __tablename__ = "exam_bookings"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "trainee_id", name="uq_exam_bookings_session_trainee"),
        sa.UniqueConstraint("session_id", "seat", name="uq_exam_bookings_session_seat"),
        sa.CheckConstraint("seat IS NULL OR seat > 0", name="seat_positive"),
        sa.CheckConstraint("(status = 'confirmed' OR status = 'no_show') = (seat IS NOT NULL)", name="seat_iff_held"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_sessions.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalogue_items.id"))
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_applications.id"))
    status: Mapped[BookingStatus] = mapped_column(str_enum(BookingStatus, "exam_booking_status", 20))
    seat: Mapped[int | None]
    # Position on the waitlist: the earliest queued is promoted first.
    queued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    session: Mapped[ExamSession] = relationship()
    trainee: Mapped[User] = relationship()
    item: Mapped[Item] = relationship()

    @property
    def seat_label(self) -> str:
        """The held seat as every page, notice and ticket shows it (row-place, Room.seat_label); "" without one."""
        return self.session.room.seat_label(self.seat) if self.seat else ""

    def __repr__(self) -> str:
        return f"<Booking {self.id} session={self.session_id} trainee={self.trainee_id} {self.status.value}>"
