"""Rooms, sessions, booking, waitlist, rescheduling and no-shows: the rules, for views and commands to call.

Capacity is guarded in the database: a seat is taken by one conditional UPDATE of the session row
(`seats_taken < capacity AND status = 'open'`), which also serialises seat numbering per session on PostgreSQL
(the row stays locked until the commit) and runs under SQLite's write lock; the unique constraints on
(session, trainee) and (session, seat) are the last guard. Services flush; the caller commits once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from exams.sessions import notices
from exams.sessions.eligibility import check_eligibility
from exams.sessions.models import (
    BOOKING_TRANSITIONS,
    SESSION_TRANSITIONS,
    Booking,
    BookingStatus,
    Commitment,
    ExamApplication,
    ExamPart,
    ExamSession,
    Room,
    RoomLayout,
    SessionStatus,
)
from exams.sessions.notices import NotificationKind
from exams.sessions.tickets import TicketData, default_rules, make_ticket_token
from opcert.access import Role
from opcert.accounts.idnumber import mask_id_number
from opcert.accounts.models import Organisation, OrgKind, User
from opcert.accounts.services import visible_organisation
from opcert.audit.services import record_event
from opcert.catalogue.models import Education, Item
from opcert.db import flush_unique, utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.timeutil import local
from photos.services import reference_photo_jpeg


class BookingError(DomainError):
    """A booking, cancellation or move was refused."""


class SessionFullError(BookingError):
    """No seat is left in the session."""


class TransitionError(DomainError):
    """A status change that the life cycle does not allow."""


def _error(cls: type[DomainError], message: str, field: str = "") -> DomainError:
    return cls(message, {field: message})


def _local(moment: dt.datetime) -> str:
    return format_datetime(moment, "medium")


def exam_day(session: ExamSession) -> dt.date:
    """The session's calendar day where the centre is (eligibility counts age on that day)."""
    return local(session.starts_at).date()


def _rowcount(statement: Any) -> int:
    result = cast(CursorResult[Any], db.session.execute(statement, execution_options={"synchronize_session": False}))
    return int(result.rowcount or 0)


# --- life cycles -----------------------------------------------------------------------------------


def check_session_transition(current: SessionStatus, new: SessionStatus) -> None:
    """Refuse a session status change the life cycle does not allow."""
    if new not in SESSION_TRANSITIONS[current]:
        raise _error(TransitionError, _("场次状态不能从“%(a)s”变为“%(b)s”。", a=str(current.label), b=str(new.label)))


def check_booking_transition(current: BookingStatus, new: BookingStatus) -> None:
    """Refuse a booking status change the life cycle does not allow."""
    if new not in BOOKING_TRANSITIONS[current]:
        raise _error(TransitionError, _("预约状态不能从“%(a)s”变为“%(b)s”。", a=str(current.label), b=str(new.label)))


def _set_booking_status(booking: Booking, new: BookingStatus, now: dt.datetime) -> None:
    check_booking_transition(booking.status, new)
    booking.status = new
    booking.updated_at = now


# --- scoping ---------------------------------------------------------------------------------------


def visible_centre(*, viewer: User, centre_id: int) -> Organisation:
    """An exam centre the viewer manages: administrators any, centre staff only their own (else 404)."""
    try:
        centre = visible_organisation(viewer=viewer, org_id=centre_id)
    except NotFoundError:
        centre = None
    if centre is None or centre.kind is not OrgKind.EXAM_CENTRE:
        raise NotFoundError(_("考点不存在。"))
    return centre


def list_centres(*, viewer: User) -> list[Organisation]:
    """Exam centres the viewer manages."""
    query = sa.select(Organisation).where(Organisation.kind == OrgKind.EXAM_CENTRE).order_by(Organisation.name)
    if viewer.role is not Role.ADMIN:
        query = query.where(Organisation.id == viewer.organisation_id)
    return list(db.session.execute(query).scalars())


def visible_room(*, viewer: User, room_id: int) -> Room:
    """A room of a centre the viewer manages (else 404)."""
    room = db.session.get(Room, room_id)
    if room is None:
        raise NotFoundError(_("考场不存在。"))
    visible_centre(viewer=viewer, centre_id=room.centre_id)
    return room


def managed_session(*, viewer: User, session_id: int) -> ExamSession:
    """A session of a centre the viewer manages (else 404)."""
    session = db.session.get(ExamSession, session_id)
    if session is None:
        raise NotFoundError(_("考试场次不存在。"))
    visible_centre(viewer=viewer, centre_id=session.centre_id)
    return session


def own_booking(*, trainee: User, booking_id: int) -> Booking:
    """One of the trainee's own bookings; anyone else's is 'not found'."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.trainee_id != trainee.id:
        raise NotFoundError(_("预约记录不存在。"))
    return booking


# --- rooms -----------------------------------------------------------------------------------------


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
        raise _error(DomainError, _("请输入考场名称。"), "name")
    if seats < 1 or seats_per_row < 1:
        raise _error(DomainError, _("座位数和每排座位数必须大于0。"), "seats")
    if room is not None:
        largest = db.session.execute(
            sa.select(sa.func.max(ExamSession.capacity)).where(
                ExamSession.room_id == room.id,
                ExamSession.status != SessionStatus.CANCELLED,
                ExamSession.starts_at > utcnow(),
            )
        ).scalar_one_or_none()
        if largest is not None and seats < largest:
            raise _error(DomainError, _("该考场已安排容量为%(n)d的场次，座位数不能少于此数。", n=largest), "seats")
    clash = sa.select(Room.id).where(Room.centre_id == centre.id, Room.name == name)
    if room is not None:
        clash = clash.where(Room.id != room.id)
    if db.session.execute(clash).first() is not None:
        raise _error(DomainError, _("本考点已有同名考场。"), "name")
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


# --- sessions --------------------------------------------------------------------------------------


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
        raise _error(DomainError, _("请选择本考点可用的考场。"), "room_id")
    expected = RoomLayout.COMPUTER if plan.part is ExamPart.THEORY else RoomLayout.PRACTICAL
    if room.layout is not expected:
        raise _error(
            DomainError,
            _("“%(room)s”是%(layout)s，不适合此类考试。", room=room.name, layout=str(room.layout.label)),
            "room_id",
        )
    items = list(db.session.execute(sa.select(Item).where(Item.id.in_(list(plan.item_ids)))).scalars())
    if not items or len(items) != len(set(plan.item_ids)):
        raise _error(DomainError, _("请至少选择一个操作项目。"), "item_ids")
    closed = [i.name for i in items if not i.offered]
    if closed:
        raise _error(DomainError, _("以下项目未开考：%(names)s。", names="、".join(closed)), "item_ids")
    if plan.duration_minutes < 1:
        raise _error(DomainError, _("考试时长必须大于0分钟。"), "duration_minutes")
    if not 1 <= plan.capacity <= room.seats:
        raise _error(DomainError, _("容量应在1到考场座位数（%(n)d）之间。", n=room.seats), "capacity")
    if session is None and plan.starts_at <= now:
        raise _error(DomainError, _("开考时间必须晚于现在。"), "starts_at")
    if not plan.booking_opens_at < plan.booking_closes_at <= plan.starts_at:
        raise _error(
            DomainError, _("预约开始时间应早于预约截止时间，预约截止时间不得晚于开考时间。"), "booking_closes_at"
        )
    if plan.cancel_deadline > plan.starts_at:
        raise _error(DomainError, _("取消截止时间不得晚于开考时间。"), "cancel_deadline")
    if session is not None:
        highest = db.session.execute(
            sa.select(sa.func.max(Booking.seat)).where(Booking.session_id == session.id)
        ).scalar_one_or_none()
        if plan.capacity < max(session.seats_taken, highest or 0):
            raise _error(
                DomainError,
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
        raise _error(DomainError, _("已取消的场次不能修改。"))
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
        for booking in _active_bookings(session.id):
            notices.tell_session_changed(booking, session)
    _promote_waitlist(session, now)
    return session


def _active_bookings(session_id: int) -> list[Booking]:
    query = sa.select(Booking).where(
        Booking.session_id == session_id, Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.WAITLISTED])
    )
    return list(db.session.execute(query.order_by(Booking.id)).scalars())


def change_session_status(*, session: ExamSession, status: SessionStatus, now: dt.datetime | None = None) -> None:
    """Open, close or cancel a session; cancelling frees every seat and tells every candidate."""
    now = now or utcnow()
    check_session_transition(session.status, status)
    if status is SessionStatus.CANCELLED:
        if session.starts_at <= now:
            raise _error(DomainError, _("考试已开始，不能取消场次。"))
        for booking in _active_bookings(session.id):
            _set_booking_status(booking, BookingStatus.CANCELLED, now)
            booking.seat = None
            notices.tell_session_cancelled(booking, session)
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


def bookable_sessions(*, now: dt.datetime | None = None) -> list[ExamSession]:
    """Open sessions whose booking has not closed, for offered items, soonest first."""
    now = now or utcnow()
    query = (
        sa.select(ExamSession)
        .where(
            ExamSession.status == SessionStatus.OPEN,
            ExamSession.booking_closes_at > now,
            ExamSession.items.any(Item.offered.is_(True)),
        )
        .options(selectinload(ExamSession.items), selectinload(ExamSession.room), selectinload(ExamSession.centre))
        .order_by(ExamSession.starts_at, ExamSession.id)
    )
    return list(db.session.execute(query).scalars())


def bookable_session(*, session_id: int) -> ExamSession:
    """A session a trainee may look at: not cancelled (else 404)."""
    session = db.session.get(ExamSession, session_id)
    if session is None or session.status is SessionStatus.CANCELLED:
        raise NotFoundError(_("考试场次不存在。"))
    return session


# --- commitment and application --------------------------------------------------------------------


def sign_commitment(
    *,
    trainee: User,
    healthy: bool,
    no_disqualifying_illness: bool,
    education: Education | None,
    lives_or_works_in_city: bool,
    truthful: bool,
    signed_name: str,
    ip: str = "",
) -> Commitment:
    """Record the trainee's commitment (告知承诺) for the current statement; every statement must be affirmed."""
    reasons: dict[str, str] = {}
    if not healthy:
        reasons["healthy"] = _("请确认本人身体健康。")
    if not no_disqualifying_illness:
        reasons["no_disqualifying_illness"] = _("请确认本人无妨碍从事特种作业的疾病和生理缺陷。")
    if education is None:
        reasons["education"] = _("初中以下学历不能申请特种作业操作证。")
    if not lives_or_works_in_city:
        reasons["lives_or_works_in_city"] = _("请确认本人在本市居住或工作。")
    if not truthful:
        reasons["truthful"] = _("请确认所填信息真实，并知悉虚假承诺的后果。")
    if signed_name.strip() != trainee.real_name:
        reasons["signed_name"] = _("签名须与实名登记的姓名一致。")
    if reasons or education is None:
        raise DomainError(next(iter(reasons.values())), reasons)
    version = str(current_app.config["COMMITMENT_VERSION"])
    existing = db.session.execute(
        sa.select(Commitment).where(Commitment.trainee_id == trainee.id, Commitment.version == version)
    ).scalar_one_or_none()
    if existing is not None:
        raise _error(DomainError, _("您已签署本版《告知承诺书》。"))
    row = Commitment(
        trainee_id=trainee.id,
        version=version,
        healthy=True,
        no_disqualifying_illness=True,
        education=education,
        lives_or_works_in_city=True,
        truthful=True,
        signed_name=trainee.real_name,
        ip=ip[:45],
    )
    db.session.add(row)
    flush_unique(_("您已签署本版《告知承诺书》。"))
    record_event("exam.commitment_signed", object_type="exam_commitment", object_id=row.id)
    return row


def _application(trainee: User, item: Item, now: dt.datetime) -> ExamApplication:
    """The trainee's application for the item, created on first booking; locked for this transaction."""
    query = (
        sa.select(ExamApplication)
        .where(ExamApplication.trainee_id == trainee.id, ExamApplication.item_id == item.id)
        .with_for_update()
    )
    row = db.session.execute(query).scalar_one_or_none()
    if row is not None:
        return row
    row = ExamApplication(trainee_id=trainee.id, item_id=item.id, applied_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        # The same trainee's other request created it a moment ago.
        return db.session.execute(query).scalar_one()
    return row


def apply_for_exam(*, trainee: User, item_id: int, now: dt.datetime | None = None) -> ExamApplication:
    """Apply (or apply again, once the last application's period is over) to be examined in an item."""
    now = now or utcnow()
    item = db.session.get(Item, item_id)
    if item is None or not item.offered:
        raise _error(BookingError, _("该项目未开考。"), "item_id")
    row = _application(trainee, item, now)
    days = int(current_app.config["EXAM_APPLICATION_DAYS"])
    if row.applied_at != now and row.applied_at + dt.timedelta(days=days) < now:
        row.applied_at = now
        db.session.flush()
    return row


def _check_deadline(application: ExamApplication, session: ExamSession) -> None:
    days = int(current_app.config["EXAM_APPLICATION_DAYS"])
    latest = application.applied_at + dt.timedelta(days=days)
    if session.starts_at > latest:
        raise _error(
            BookingError,
            _(
                "考试须在报名之日起%(days)d日内进行：您的报名日期为%(applied)s，该场次开考时间超出期限（最晚%(latest)s）。",
                days=days,
                applied=_local(application.applied_at),
                latest=_local(latest),
            ),
            "session_id",
        )


# --- booking ---------------------------------------------------------------------------------------


def _check_bookable(session: ExamSession, now: dt.datetime) -> None:
    if session.status is SessionStatus.CANCELLED:
        raise _error(BookingError, _("该场次已取消，不能预约。"), "session_id")
    if session.status is SessionStatus.CLOSED or session.starts_at <= now:
        raise _error(BookingError, _("该场次已关闭预约。"), "session_id")
    if now < session.booking_opens_at:
        raise _error(
            BookingError,
            _("该场次尚未开放预约，预约开始时间：%(t)s。", t=_local(session.booking_opens_at)),
            "session_id",
        )
    if now > session.booking_closes_at:
        raise _error(BookingError, _("该场次预约已截止（%(t)s）。", t=_local(session.booking_closes_at)), "session_id")


def _session_item(session: ExamSession, item_id: int | None) -> Item:
    items = session.items
    if item_id is None and len(items) == 1:
        return items[0]
    for item in items:
        if item.id == item_id:
            return item
    raise _error(BookingError, _("请选择该场次考试的操作项目。"), "item_id")


def _check_not_booked(trainee: User, session: ExamSession, item: Item, replacing: Booking | None) -> Booking | None:
    """Refuse a second booking; return the trainee's inactive row for this session (taken up again) if any."""
    rows = db.session.execute(
        sa.select(Booking)
        .join(ExamSession, Booking.session_id == ExamSession.id)
        .where(
            Booking.trainee_id == trainee.id,
            Booking.item_id == item.id,
            ExamSession.part == session.part,
            sa.or_(
                Booking.session_id == session.id,
                Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.WAITLISTED]),
            ),
        )
    ).scalars()
    own: Booking | None = None
    for row in rows:
        if row.session_id == session.id:
            if row.status.is_active:
                message = (
                    _("您已在该场次的候补名单中。")
                    if row.status is BookingStatus.WAITLISTED
                    else _("您已预约该场次，请勿重复预约。")
                )
                raise _error(BookingError, message, "session_id")
            if row.status is BookingStatus.NO_SHOW:
                raise _error(BookingError, _("您已预约该场次，请勿重复预约。"), "session_id")
            own = row
        elif replacing is None or row.id != replacing.id:
            raise _error(
                BookingError,
                _(
                    "您已预约“%(item)s”的其他%(part)s场次，如需更换请使用改约。",
                    item=item.name,
                    part=str(session.part.label),
                ),
                "session_id",
            )
    return own


def _take_seat(session: ExamSession) -> int:
    """Take one seat by a conditional UPDATE (the capacity guard) and return the lowest free seat number."""
    taken = _rowcount(
        sa.update(ExamSession)
        .where(
            ExamSession.id == session.id,
            ExamSession.status == SessionStatus.OPEN,
            ExamSession.seats_taken < ExamSession.capacity,
        )
        .values(seats_taken=ExamSession.seats_taken + 1)
    )
    db.session.expire(session, ["seats_taken", "status"])
    if taken == 0:
        if session.status is not SessionStatus.OPEN:
            raise _error(BookingError, _("该场次已关闭预约。"), "session_id")
        raise _error(SessionFullError, _("该场次座位已满，您可以登记候补，有人取消时将按顺序自动递补。"), "session_id")
    return _lowest_free_seat(session)


def _lowest_free_seat(session: ExamSession) -> int:
    # The session row is locked by the UPDATE just made (PostgreSQL) or the database by BEGIN IMMEDIATE (SQLite):
    # no one else numbers seats in this session until the commit.
    used = set(
        db.session.execute(
            sa.select(Booking.seat).where(Booking.session_id == session.id, Booking.seat.is_not(None))
        ).scalars()
    )
    return next(n for n in range(1, session.capacity + 1) if n not in used)


def _release_seat(session: ExamSession) -> None:
    _rowcount(
        sa.update(ExamSession)
        .where(ExamSession.id == session.id, ExamSession.seats_taken > 0)
        .values(seats_taken=ExamSession.seats_taken - 1)
    )
    db.session.expire(session, ["seats_taken"])


def _book(
    *,
    trainee: User,
    session: ExamSession,
    item_id: int | None,
    now: dt.datetime,
    waitlist: bool,
    replacing: Booking | None = None,
) -> Booking:
    _check_bookable(session, now)
    item = _session_item(session, item_id)
    previous = _check_not_booked(trainee, session, item, replacing)
    check_eligibility(trainee=trainee, item=item, exam_day=exam_day(session))
    application = _application(trainee, item, now)
    _check_deadline(application, session)
    if waitlist:
        if session.seats_left > 0:
            raise _error(BookingError, _("该场次仍有空位，请直接预约。"), "session_id")
        seat, status = None, BookingStatus.WAITLISTED
    else:
        seat, status = _take_seat(session), BookingStatus.CONFIRMED
    if previous is None:
        booking = Booking(session_id=session.id, trainee_id=trainee.id, item_id=item.id, status=status, created_at=now)
        db.session.add(booking)
    else:
        booking = previous
        _set_booking_status(booking, status, now)
        booking.item_id = item.id
    booking.application_id = application.id
    booking.seat = seat
    booking.queued_at = now if waitlist else None
    booking.updated_at = now
    flush_unique(_("您已预约该场次，请勿重复预约。"), "session_id", error=BookingError)
    db.session.refresh(booking, ["session", "item"])
    record_event(
        "exam.waitlisted" if waitlist else "exam.booked",
        object_type="exam_booking",
        object_id=booking.id,
        details={"session": session.id, "seat": seat},
    )
    return booking


def book_seat(*, trainee: User, session_id: int, item_id: int | None, now: dt.datetime | None = None) -> Booking:
    """Book a seat for an eligible trainee: window, eligibility, the 60-day rule, then capacity in the database."""
    now = now or utcnow()
    booking = _book(
        trainee=trainee, session=bookable_session(session_id=session_id), item_id=item_id, now=now, waitlist=False
    )
    notices.tell_seat_confirmed(booking, NotificationKind.BOOKING_CONFIRMED)
    return booking


def join_waitlist(*, trainee: User, session_id: int, item_id: int | None, now: dt.datetime | None = None) -> Booking:
    """Queue an eligible trainee for a full session; the first in line gets the next freed seat."""
    now = now or utcnow()
    return _book(
        trainee=trainee, session=bookable_session(session_id=session_id), item_id=item_id, now=now, waitlist=True
    )


def _promote_waitlist(session: ExamSession, now: dt.datetime) -> list[Booking]:
    """Give freed seats to the waitlist in queue order, telling each promoted trainee."""
    promoted: list[Booking] = []
    if session.status is SessionStatus.CANCELLED or session.starts_at <= now:
        return promoted
    queue = db.session.execute(
        sa.select(Booking)
        .where(Booking.session_id == session.id, Booking.status == BookingStatus.WAITLISTED)
        .order_by(Booking.queued_at, Booking.id)
    ).scalars()
    for booking in list(queue):
        taken = _rowcount(
            sa.update(ExamSession)
            .where(
                ExamSession.id == session.id,
                ExamSession.status != SessionStatus.CANCELLED,
                ExamSession.seats_taken < ExamSession.capacity,
            )
            .values(seats_taken=ExamSession.seats_taken + 1)
        )
        db.session.expire(session, ["seats_taken"])
        if taken == 0:
            break
        booking.seat = _lowest_free_seat(session)
        _set_booking_status(booking, BookingStatus.CONFIRMED, now)
        booking.queued_at = None
        db.session.flush()
        record_event("exam.promoted", object_type="exam_booking", object_id=booking.id, details={"seat": booking.seat})
        notices.tell_seat_confirmed(booking, NotificationKind.WAITLIST_PROMOTED)
        promoted.append(booking)
    return promoted


def _release(booking: Booking, status: BookingStatus, now: dt.datetime) -> None:
    """Give up a booking's seat (or queue place) and let the waitlist move up."""
    held = booking.status is BookingStatus.CONFIRMED
    _set_booking_status(booking, status, now)
    booking.seat = None
    booking.queued_at = None
    db.session.flush()
    if held:
        _release_seat(booking.session)
        _promote_waitlist(booking.session, now)


def can_cancel(booking: Booking, now: dt.datetime) -> bool:
    """A waitlist place can always be given up; a seat only until the session's cancellation deadline."""
    if not booking.status.is_active:
        return False
    return booking.status is BookingStatus.WAITLISTED or now <= booking.session.cancel_deadline


def can_reschedule(booking: Booking, now: dt.datetime) -> bool:
    """A confirmed seat can be moved until the cancellation deadline."""
    return booking.status is BookingStatus.CONFIRMED and now <= booking.session.cancel_deadline


def can_mark_no_show(booking: Booking, now: dt.datetime) -> bool:
    """Staff record a no-show for a candidate with a seat once the session has started."""
    return booking.status is BookingStatus.CONFIRMED and now >= booking.session.starts_at


def cancel_booking(*, trainee: User, booking_id: int, now: dt.datetime | None = None) -> Booking:
    """Cancel one's own booking before the session's cancellation deadline (a waitlist place at any time)."""
    now = now or utcnow()
    booking = own_booking(trainee=trainee, booking_id=booking_id)
    if not booking.status.is_active:
        raise _error(BookingError, _("该预约已不是有效状态，无需取消。"))
    session = booking.session
    if not can_cancel(booking, now):
        raise _error(BookingError, _("已超过取消截止时间（%(t)s），不能取消预约。", t=_local(session.cancel_deadline)))
    _release(booking, BookingStatus.CANCELLED, now)
    record_event("exam.booking_cancelled", object_type="exam_booking", object_id=booking.id)
    return booking


def reschedule_booking(
    *, trainee: User, booking_id: int, new_session_id: int, now: dt.datetime | None = None
) -> Booking:
    """Move a confirmed booking: take the seat in the new session first, only then release the old one."""
    now = now or utcnow()
    old = own_booking(trainee=trainee, booking_id=booking_id)
    if old.status is not BookingStatus.CONFIRMED:
        raise _error(BookingError, _("只有已确认座位的预约可以改约。"))
    if old.session_id == new_session_id:
        raise _error(BookingError, _("请选择另一个场次。"), "session_id")
    if not can_reschedule(old, now):
        raise _error(
            BookingError, _("已超过原场次的取消截止时间（%(t)s），不能改约。", t=_local(old.session.cancel_deadline))
        )
    new_session = bookable_session(session_id=new_session_id)
    # Lock both session rows in id order, so two opposite moves cannot deadlock (PostgreSQL; SQLite is serial).
    db.session.execute(
        sa.select(ExamSession.id)
        .where(ExamSession.id.in_([old.session_id, new_session.id]))
        .order_by(ExamSession.id)
        .with_for_update()
    ).all()
    booking = _book(trainee=trainee, session=new_session, item_id=old.item_id, now=now, waitlist=False, replacing=old)
    _release(old, BookingStatus.RESCHEDULED, now)
    record_event("exam.booking_rescheduled", object_type="exam_booking", object_id=old.id, details={"to": booking.id})
    notices.tell_seat_confirmed(booking, NotificationKind.BOOKING_CONFIRMED)
    return booking


def my_bookings(*, trainee: User) -> list[Booking]:
    """The trainee's bookings, upcoming first."""
    query = (
        sa.select(Booking)
        .join(ExamSession, Booking.session_id == ExamSession.id)
        .where(Booking.trainee_id == trainee.id)
        .options(selectinload(Booking.item), selectinload(Booking.session))
        .order_by(ExamSession.starts_at.desc(), Booking.id.desc())
    )
    return list(db.session.execute(query).scalars())


def reschedule_targets(*, booking: Booking, now: dt.datetime | None = None) -> list[ExamSession]:
    """Open sessions of the same part and item a booking could move to."""
    return [
        s
        for s in bookable_sessions(now=now)
        if s.id != booking.session_id and s.part is booking.session.part and booking.item_id in {i.id for i in s.items}
    ]


def booking_for_staff(*, viewer: User, booking_id: int) -> Booking:
    """A booking in a session of a centre the viewer manages (else 404)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFoundError(_("预约记录不存在。"))
    managed_session(viewer=viewer, session_id=booking.session_id)
    return booking


def mark_no_show(*, booking_id: int, viewer: User, now: dt.datetime | None = None) -> Booking:
    """Staff record that a candidate with a seat did not come; only once the session has started."""
    now = now or utcnow()
    booking = booking_for_staff(viewer=viewer, booking_id=booking_id)
    if booking.status is not BookingStatus.CONFIRMED:
        raise _error(BookingError, _("只有已确认座位的考生可以登记缺考。"))
    if not can_mark_no_show(booking, now):
        raise _error(BookingError, _("考试开始后才能登记缺考。"))
    _set_booking_status(booking, BookingStatus.NO_SHOW, now)
    db.session.flush()
    record_event("exam.no_show", object_type="exam_booking", object_id=booking.id)
    return booking


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
        for booking in _active_bookings(session.id):
            if booking.status is not BookingStatus.CONFIRMED:
                continue
            notices.tell_reminder(booking, session)
            told += 1
        session.reminded_at = now
    db.session.flush()
    return told


def ticket_for(*, trainee: User, booking_id: int, now: dt.datetime | None = None) -> TicketData:
    """The admission ticket of one of the trainee's own confirmed bookings, with the library photo if any."""
    booking = own_booking(trainee=trainee, booking_id=booking_id)
    if booking.status is not BookingStatus.CONFIRMED or booking.seat is None:
        raise NotFoundError(_("只有已确认座位的预约才有准考证。"))
    session = booking.session
    photo = reference_photo_jpeg(trainee.id_number or "", reason="ticket")
    return TicketData(
        name=trainee.real_name,
        masked_id=mask_id_number(trainee.id_number or ""),
        item=f"{booking.item.code} {booking.item.name}",
        centre=session.centre.name,
        address=session.centre.address,
        room=session.room.name,
        seat=booking.seat,
        starts_at=session.starts_at,
        duration_minutes=session.duration_minutes,
        rules=default_rules(),
        photo_jpeg=photo,
        # The check-in desk scans it on the exam day; it stops working a day after the session ends.
        token=make_ticket_token(booking.id, expires_at=session.ends_at + dt.timedelta(days=1)),
        exam_kind=str(session.part.label),
    )
