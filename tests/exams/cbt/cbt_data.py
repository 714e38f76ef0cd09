"""Theory-exam test data: a small bank and blueprint, a session starting now, admitted candidates."""

from __future__ import annotations

import dataclasses

from exams.bank import services as bank
from exams.bank.models import QuestionKind
from exams.checkin.models import CheckIn, CheckInMethod, CheckInStatus
from exams.sessions.bookings import exam_day
from exams.sessions.models import Booking, ExamSession
from exams.sessions.tickets import ticket_number
from opcert.accounts.models import Organisation, User
from opcert.catalogue.models import Item
from opcert.db import utcnow
from opcert.extensions import db
from tests.exams.bank.bank_data import fill_bank
from tests.exams.checkin.checkin_data import candidate, centre_staff, today_session
from tests.exams.sessions import sessions_data


@dataclasses.dataclass
class Room:
    """A session of a centre with its item, a staff member and the candidates."""

    centre: Organisation
    item: Item
    session: ExamSession
    staff: User
    bookings: list[Booking]


def exam_item(*, duration_minutes: int = 30) -> Item:
    """An item with 6 true/false and 4 single-choice questions, 10 points each, pass mark 80 (committed)."""
    item = sessions_data.item()
    fill_bank(item, true_false=8, single=6)
    bank.save_blueprint(
        item_id=item.id,
        rows=[bank.RowSpec(QuestionKind.TRUE_FALSE, 6, 10), bank.RowSpec(QuestionKind.SINGLE, 4, 10)],
        duration_minutes=duration_minutes,
        pass_mark=80,
    )
    db.session.commit()
    return item


def admit(booking: Booking, by: User) -> None:
    """Record the booking as admitted at the door (the desk itself is tested in tests/exams/checkin)."""
    db.session.add(
        CheckIn(
            booking_id=booking.id,
            session_id=booking.session_id,
            status=CheckInStatus.ADMITTED,
            method=CheckInMethod.MANUAL,
            checked_by_id=by.id,
            decided_by_id=by.id,
            decided_at=utcnow(),
            reason="测试",
        )
    )
    db.session.commit()


def room(candidates: int = 1, *, admitted: bool = True, duration_minutes: int = 30) -> Room:
    """A theory session starting now with booked (and admitted) candidates."""
    where = sessions_data.centre()
    item = exam_item(duration_minutes=duration_minutes)
    session = today_session(where, [item])
    staff = centre_staff(where)
    bookings = [
        candidate(session, item, consent=False, name="考生" + "甲乙丙丁戊己庚辛壬癸"[n % 10]) for n in range(candidates)
    ]
    if admitted:
        for booking in bookings:
            admit(booking, staff)
    return Room(where, item, session, staff, bookings)


def ticket_of(booking: Booking) -> str:
    """The booking's 准考证号."""
    return ticket_number(
        item_code=booking.item.code,
        exam_day=exam_day(booking.session),
        session_id=booking.session_id,
        seat=booking.seat,
    )
