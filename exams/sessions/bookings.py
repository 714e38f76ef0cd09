"""Booking a seat, the waitlist, cancelling, rescheduling, no-shows and the admission ticket.

Capacity is guarded in the database: a seat is taken by one conditional UPDATE of the session row
(`seats_taken < capacity AND status = 'open'`), which also serialises seat numbering per session on PostgreSQL
(the row stays locked until the commit) and runs under SQLite's write lock; the unique constraints on
(session, trainee) and (session, seat) are the last guard. Services flush; the caller commits once.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from exams.sessions import notices
from exams.sessions.applications import application_for, check_deadline
from exams.sessions.eligibility import check_eligibility
from exams.sessions.errors import BookingError, SessionFullError, TransitionError
from exams.sessions.models import BOOKING_TRANSITIONS, Booking, BookingStatus, ExamSession, SessionStatus
from exams.sessions.notices import NotificationKind
from exams.sessions.scoping import bookable_session, booking_for_staff, own_booking
from exams.sessions.tickets import TicketData, default_rules, make_ticket_token, ticket_number
from opcert.accounts.idnumber import mask_id_number
from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.catalogue.models import Item
from opcert.db import flush_unique, rowcount, utcnow
from opcert.errors import NotFoundError
from opcert.extensions import db
from opcert.timeutil import local, show_datetime
from photos.services import reference_photo_jpeg, reference_status


def exam_day(session: ExamSession) -> dt.date:
    """The session's calendar day where the centre is (eligibility counts age on that day)."""
    return local(session.starts_at).date()


def check_booking_transition(current: BookingStatus, new: BookingStatus) -> None:
    """Refuse a booking status change the life cycle does not allow."""
    if new not in BOOKING_TRANSITIONS[current]:
        raise TransitionError.on_field(_("预约状态不能从“%(a)s”变为“%(b)s”。", a=str(current.label), b=str(new.label)))


def set_booking_status(booking: Booking, new: BookingStatus, now: dt.datetime) -> None:
    """Move a booking along its life cycle (TransitionError for a move it does not allow)."""
    check_booking_transition(booking.status, new)
    booking.status = new
    booking.updated_at = now


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


def active_bookings(session_id: int) -> list[Booking]:
    """A session's confirmed and waitlisted bookings, oldest first."""
    query = sa.select(Booking).where(
        Booking.session_id == session_id, Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.WAITLISTED])
    )
    return list(db.session.execute(query.order_by(Booking.id)).scalars())


def _check_bookable(session: ExamSession, now: dt.datetime) -> None:
    if session.status is SessionStatus.CANCELLED:
        raise BookingError.on_field(_("该场次已取消，不能预约。"), "session_id")
    if session.status is SessionStatus.CLOSED or session.starts_at <= now:
        raise BookingError.on_field(_("该场次已关闭预约。"), "session_id")
    if now < session.booking_opens_at:
        raise BookingError.on_field(
            _("该场次尚未开放预约，预约开始时间：%(t)s。", t=show_datetime(session.booking_opens_at)),
            "session_id",
        )
    if now > session.booking_closes_at:
        raise BookingError.on_field(
            _("该场次预约已截止（%(t)s）。", t=show_datetime(session.booking_closes_at)), "session_id"
        )


def _session_item(session: ExamSession, item_id: int | None) -> Item:
    items = session.items
    if item_id is None and len(items) == 1:
        return items[0]
    for item in items:
        if item.id == item_id:
            return item
    raise BookingError.on_field(_("请选择该场次考试的操作项目。"), "item_id")


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
                raise BookingError.on_field(message, "session_id")
            if row.status is BookingStatus.NO_SHOW:
                raise BookingError.on_field(_("您已预约该场次，请勿重复预约。"), "session_id")
            own = row
        elif replacing is None or row.id != replacing.id:
            raise BookingError.on_field(
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
    taken = rowcount(
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
            raise BookingError.on_field(_("该场次已关闭预约。"), "session_id")
        raise SessionFullError.on_field(_("该场次座位已满，您可以登记候补，有人取消时将按顺序自动递补。"), "session_id")
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
    rowcount(
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
    check_eligibility(trainee=trainee, item=item, exam_day=exam_day(session), part=session.part)
    application = application_for(trainee, item, now)
    check_deadline(application, session)
    if waitlist:
        if session.seats_left > 0:
            raise BookingError.on_field(_("该场次仍有空位，请直接预约。"), "session_id")
        seat, status = None, BookingStatus.WAITLISTED
    else:
        seat, status = _take_seat(session), BookingStatus.CONFIRMED
    if previous is None:
        booking = Booking(session_id=session.id, trainee_id=trainee.id, item_id=item.id, status=status, created_at=now)
        db.session.add(booking)
    else:
        booking = previous
        set_booking_status(booking, status, now)
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


def promote_waitlist(session: ExamSession, now: dt.datetime) -> list[Booking]:
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
        taken = rowcount(
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
        set_booking_status(booking, BookingStatus.CONFIRMED, now)
        booking.queued_at = None
        db.session.flush()
        record_event("exam.promoted", object_type="exam_booking", object_id=booking.id, details={"seat": booking.seat})
        notices.tell_seat_confirmed(booking, NotificationKind.WAITLIST_PROMOTED)
        promoted.append(booking)
    return promoted


def _release(booking: Booking, status: BookingStatus, now: dt.datetime) -> None:
    """Give up a booking's seat (or queue place) and let the waitlist move up."""
    held = booking.status is BookingStatus.CONFIRMED
    set_booking_status(booking, status, now)
    booking.seat = None
    booking.queued_at = None
    db.session.flush()
    if held:
        _release_seat(booking.session)
        promote_waitlist(booking.session, now)


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
        raise BookingError.on_field(_("该预约已不是有效状态，无需取消。"))
    session = booking.session
    if not can_cancel(booking, now):
        raise BookingError.on_field(
            _("已超过取消截止时间（%(t)s），不能取消预约。", t=show_datetime(session.cancel_deadline))
        )
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
        raise BookingError.on_field(_("只有已确认座位的预约可以改约。"))
    if old.session_id == new_session_id:
        raise BookingError.on_field(_("请选择另一个场次。"), "session_id")
    if not can_reschedule(old, now):
        raise BookingError.on_field(
            _("已超过原场次的取消截止时间（%(t)s），不能改约。", t=show_datetime(old.session.cancel_deadline))
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


def mark_no_show(*, booking_id: int, viewer: User, now: dt.datetime | None = None) -> Booking:
    """Staff record that a candidate with a seat did not come; only once the session has started."""
    now = now or utcnow()
    booking = booking_for_staff(viewer=viewer, booking_id=booking_id)
    if booking.status is not BookingStatus.CONFIRMED:
        raise BookingError.on_field(_("只有已确认座位的考生可以登记缺考。"))
    if not can_mark_no_show(booking, now):
        raise BookingError.on_field(_("考试开始后才能登记缺考。"))
    set_booking_status(booking, BookingStatus.NO_SHOW, now)
    db.session.flush()
    record_event("exam.no_show", object_type="exam_booking", object_id=booking.id)
    return booking


def has_reference_photo(trainee: User) -> bool:
    """Whether there is a photo of the trainee for the ticket and the door check (library's or uploaded)."""
    return reference_status(trainee.id_number or "").photo is not None


def ticket_for(*, trainee: User, booking_id: int, now: dt.datetime | None = None) -> TicketData:
    """The admission ticket of one of the trainee's own confirmed bookings, with the library photo if any."""
    booking = own_booking(trainee=trainee, booking_id=booking_id)
    if booking.status is not BookingStatus.CONFIRMED or booking.seat is None:
        raise NotFoundError(_("只有已确认座位的预约才有准考证。"))
    session = booking.session
    photo = reference_photo_jpeg(trainee.id_number or "", reason="ticket")
    authority = session.centre.authority
    return TicketData(
        number=ticket_number(
            item_code=booking.item.code, exam_day=exam_day(session), session_id=session.id, seat=booking.seat
        ),
        authority=authority.name if authority is not None else "",
        name=trainee.real_name,
        masked_id=mask_id_number(trainee.id_number or ""),
        item=f"{booking.item.code} {booking.item.name}",
        centre=session.centre.name,
        address=session.centre.address,
        room=session.room.name,
        seat=booking.seat_label,
        starts_at=session.starts_at,
        duration_minutes=session.duration_minutes,
        rules=default_rules(),
        photo_jpeg=photo,
        # The check-in desk scans it on the exam day; it stops working a day after the session ends.
        token=make_ticket_token(booking.id, expires_at=session.ends_at + dt.timedelta(days=1)),
        exam_kind=str(session.part.label),
    )
