"""Centre staff plan exams: rooms, sessions and their status (open, closed, cancelled), reminders."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from exams.sessions import notices
from exams.sessions.bookings import active_bookings, promote_waitlist, set_booking_status
from exams.sessions.errors import TransitionError
from exams.sessions.models import (
    SESSION_TRANSITIONS,
    Booking,
    BookingStatus,
    ExamPart,
    ExamSession,
    Room,
    RoomLayout,
    SessionStatus,
)
from opcert.accounts.models import Organisation
from opcert.audit.services import record_event
from opcert.catalogue.models import Item
from opcert.db import flush_unique, utcnow
from opcert.errors import DomainError
from opcert.extensions import db


def check_session_transition(current: SessionStatus, new: SessionStatus) -> None:
    """Refuse a session status change the life cycle does not allow."""
    if new not in SESSION_TRANSITIONS[current]:
        raise TransitionError.on_field(_("场次状态不能从“%(a)s”变为“%(b)s”。", a=str(current.label), b=str(new.label)))


def list_rooms(*, centre: Organisation, active_only: bool = False) -> list[Room]:
    """A centre's rooms by name."""
    query = sa.select(Room).where(Room.centre_id == centre.id).order_by(Room.name)
    if active_only:
        query = query.where(Room.is_active.is_(True))
    return list(db.session.execute(query).scalars())


def save_room(
    *,
    centre: Organisation,
    room: Room | None,
    name: str,
    layout: RoomLayout,
    seats: int,
    seats_per_row: int,
    is_active: bool = True,
) -> Room:
    """Create or change a room of a centre; a room cannot shrink below a planned session's capacity."""
    name = name.strip()
    if not name:
        raise DomainError.on_field(_("请输入考场名称。"), "name")
    if seats < 1 or seats_per_row < 1:
        raise DomainError.on_field(_("座位数和每排座位数必须大于0。"), "seats")
    if room is not None:
        largest = db.session.execute(
            sa.select(sa.func.max(ExamSession.capacity)).where(
                ExamSession.room_id == room.id,
                ExamSession.status != SessionStatus.CANCELLED,
                ExamSession.starts_at > utcnow(),
            )
        ).scalar_one_or_none()
        if largest is not None and seats < largest:
            raise DomainError.on_field(_("该考场已安排容量为%(n)d的场次，座位数不能少于此数。", n=largest), "seats")
    clash = sa.select(Room.id).where(Room.centre_id == centre.id, Room.name == name)
    if room is not None:
        clash = clash.where(Room.id != room.id)
    if db.session.execute(clash).first() is not None:
        raise DomainError.on_field(_("本考点已有同名考场。"), "name")
    if room is None:
        room = Room(centre_id=centre.id)
        db.session.add(room)
    room.name, room.layout, room.seats, room.seats_per_row, room.is_active = (
        name,
        layout,
        seats,
        seats_per_row,
        is_active,
    )
    flush_unique(_("本考点已有同名考场。"), "name")
    record_event("exam.room_saved", object_type="exam_room", object_id=room.id)
    return room


@dataclasses.dataclass(frozen=True)
class SessionPlan:
    """What staff set for a session."""

    room_id: int
    item_ids: Sequence[int]
    part: ExamPart
    starts_at: dt.datetime
    duration_minutes: int
    capacity: int
    booking_opens_at: dt.datetime
    booking_closes_at: dt.datetime
    cancel_deadline: dt.datetime


def _check_plan(
    centre: Organisation, plan: SessionPlan, session: ExamSession | None, now: dt.datetime
) -> tuple[Room, list[Item]]:
    room = db.session.get(Room, plan.room_id)
    if room is None or room.centre_id != centre.id or not room.is_active:
        raise DomainError.on_field(_("请选择本考点可用的考场。"), "room_id")
    expected = RoomLayout.COMPUTER if plan.part is ExamPart.THEORY else RoomLayout.PRACTICAL
    if room.layout is not expected:
        raise DomainError.on_field(
            _("“%(room)s”是%(layout)s，不适合此类考试。", room=room.name, layout=str(room.layout.label)),
            "room_id",
        )
    items = list(db.session.execute(sa.select(Item).where(Item.id.in_(list(plan.item_ids)))).scalars())
    if not items or len(items) != len(set(plan.item_ids)):
        raise DomainError.on_field(_("请至少选择一个操作项目。"), "item_ids")
    closed = [i.name for i in items if not i.offered]
    if closed:
        raise DomainError.on_field(_("以下项目未开考：%(names)s。", names="、".join(closed)), "item_ids")
    if plan.duration_minutes < 1:
        raise DomainError.on_field(_("考试时长必须大于0分钟。"), "duration_minutes")
    if not 1 <= plan.capacity <= room.seats:
        raise DomainError.on_field(_("容量应在1到考场座位数（%(n)d）之间。", n=room.seats), "capacity")
    if session is None and plan.starts_at <= now:
        raise DomainError.on_field(_("开考时间必须晚于现在。"), "starts_at")
    if not plan.booking_opens_at < plan.booking_closes_at <= plan.starts_at:
        raise DomainError.on_field(
            _("预约开始时间应早于预约截止时间，预约截止时间不得晚于开考时间。"), "booking_closes_at"
        )
    if plan.cancel_deadline > plan.starts_at:
        raise DomainError.on_field(_("取消截止时间不得晚于开考时间。"), "cancel_deadline")
    if session is not None:
        highest = db.session.execute(
            sa.select(sa.func.max(Booking.seat)).where(Booking.session_id == session.id)
        ).scalar_one_or_none()
        if plan.capacity < max(session.seats_taken, highest or 0):
            raise DomainError.on_field(
                _("已有考生占用至%(n)d号座位，容量不能低于此数。", n=max(session.seats_taken, highest or 0)),
                "capacity",
            )
    return room, items


def save_session(
    *, centre: Organisation, session: ExamSession | None, plan: SessionPlan, now: dt.datetime | None = None
) -> ExamSession:
    """Create or change a centre's session; candidates are told when time or room change, the waitlist moves up."""
    now = now or utcnow()
    if session is not None and session.status is SessionStatus.CANCELLED:
        raise DomainError.on_field(_("已取消的场次不能修改。"))
    room, items = _check_plan(centre, plan, session, now)
    changed = session is not None and (
        session.starts_at != plan.starts_at
        or session.room_id != room.id
        or session.duration_minutes != plan.duration_minutes
    )
    if session is None:
        session = ExamSession(centre_id=centre.id, status=SessionStatus.OPEN, seats_taken=0)
        db.session.add(session)
    session.room_id = room.id
    session.room = room
    session.items = items
    session.part = plan.part
    session.starts_at = plan.starts_at
    session.duration_minutes = plan.duration_minutes
    session.capacity = plan.capacity
    session.booking_opens_at = plan.booking_opens_at
    session.booking_closes_at = plan.booking_closes_at
    session.cancel_deadline = plan.cancel_deadline
    db.session.flush()
    record_event("exam.session_saved", object_type="exam_session", object_id=session.id)
    if changed:
        for booking in active_bookings(session.id):
            notices.tell_session_changed(booking, session)
    promote_waitlist(session, now)
    return session


def change_session_status(
    *, session: ExamSession, status: SessionStatus, reason: str = "", now: dt.datetime | None = None
) -> None:
    """Open, close or cancel a session; cancelling frees every seat and tells every candidate the reason."""
    now = now or utcnow()
    check_session_transition(session.status, status)
    if status is SessionStatus.CANCELLED:
        if session.starts_at <= now:
            raise DomainError.on_field(_("考试已开始，不能取消场次。"))
        candidates = active_bookings(session.id)
        if candidates and not reason.strip():
            raise DomainError.on_field(_("该场次已有考生预约，请填写取消原因，系统将通知考生。"), "reason")
        for booking in candidates:
            set_booking_status(booking, BookingStatus.CANCELLED, now)
            booking.seat = None
            notices.tell_session_cancelled(booking, session, reason=reason.strip())
        session.seats_taken = 0
    session.status = status
    db.session.flush()
    record_event(
        "exam.session_status", object_type="exam_session", object_id=session.id, details={"status": status.value}
    )


def list_centre_sessions(*, centre: Organisation) -> list[ExamSession]:
    """A centre's sessions, latest first."""
    query = (
        sa.select(ExamSession)
        .where(ExamSession.centre_id == centre.id)
        .options(selectinload(ExamSession.items), selectinload(ExamSession.room))
        .order_by(ExamSession.starts_at.desc())
    )
    return list(db.session.execute(query).scalars())


def session_bookings(*, session: ExamSession) -> list[Booking]:
    """A session's bookings: seats in order, then the waitlist in order, then the rest."""
    query = (
        sa.select(Booking)
        .where(Booking.session_id == session.id)
        .options(selectinload(Booking.trainee), selectinload(Booking.item))
    )
    rows = list(db.session.execute(query).scalars())
    order = {BookingStatus.CONFIRMED: 0, BookingStatus.NO_SHOW: 0, BookingStatus.WAITLISTED: 1}
    return sorted(rows, key=lambda b: (order.get(b.status, 2), b.seat or 0, b.queued_at or b.created_at, b.id))


def send_reminders(*, now: dt.datetime | None = None) -> int:
    """Tell candidates with a seat about their exam the day before (once per session); return how many were told."""
    now = now or utcnow()
    horizon = now + dt.timedelta(hours=int(current_app.config["EXAM_REMINDER_HOURS"]))
    sessions = db.session.execute(
        sa.select(ExamSession).where(
            ExamSession.status != SessionStatus.CANCELLED,
            ExamSession.starts_at > now,
            ExamSession.starts_at <= horizon,
            ExamSession.reminded_at.is_(None),
        )
    ).scalars()
    told = 0
    for session in list(sessions):
        for booking in active_bookings(session.id):
            if booking.status is not BookingStatus.CONFIRMED:
                continue
            notices.tell_reminder(booking, session)
            told += 1
        session.reminded_at = now
    db.session.flush()
    return told
