"""Exam day in the demo (`opcert demo`, idempotent): today at the demo centre, a theory session with the demo
trainee booked (their ticket, the check-in desk, the invigilator console) and a practical session with a second
demo candidate whose theory is passed, the demo examiner assigned and the tasks drawn (a sheet to score).

Everything goes through the services. One exception, said here: the demo's candidates have not studied the item's
hours, so their seats are booked with TRAINING_REQUIRED off for the booking alone (every other rule applies: the
booking window, the commitment, the 60-day rule, theory before practical, capacity).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import sqlalchemy as sa
from flask import current_app

from exams.practical import services as practical
from exams.results import services as results
from exams.sessions import applications, bookings, eligibility, planning
from exams.sessions.models import Booking, BookingStatus, ExamPart, ExamSession, Room, RoomLayout
from opcert.accounts import services as accounts
from opcert.accounts.idnumber import check_character
from opcert.accounts.models import Organisation, User
from opcert.catalogue.models import Education, Item
from opcert.db import utcnow
from opcert.extensions import db
from opcert.timeutil import local, local_today, local_tz

ITEM_CODE = "1.2"
DEMO_PASSWORD = "Demo2026pass"  # noqa: S105 (published demo credential, as opcert.demo's)
SECOND_CANDIDATE_ID = "31010119920512123" + check_character("31010119920512123")
THEORY_HOUR, PRACTICAL_HOUR = 9, 14  # on a day before today; today's sessions start later than now (_todays_hours)


@contextlib.contextmanager
def _training_not_asked() -> Iterator[None]:
    saved = current_app.config["TRAINING_REQUIRED"]
    current_app.config["TRAINING_REQUIRED"] = False
    try:
        yield
    finally:
        current_app.config["TRAINING_REQUIRED"] = saved


def _room(centre: Organisation, layout: RoomLayout, name: str) -> Room:
    room = db.session.execute(
        sa.select(Room).where(Room.centre_id == centre.id, Room.layout == layout).order_by(Room.id).limit(1)
    ).scalar()
    if room is None:
        room = planning.save_room(centre=centre, room=None, name=name, layout=layout, seats=20, seats_per_row=5)
    return room


def _todays_hours(now: dt.datetime) -> tuple[int, int]:
    """Today's theory and practical hours: the theory at the next full hour (9:00 at the earliest), the practical
    two hours after it, so that a demo loaded in the afternoon still shows a seat on the trainee's home page and a
    ticket (a session that has ended is no longer a coming seat). Late in the evening the theory starts at 22:00
    (two hours long, it has not ended before midnight) and the practical at 23:00: both stay on today."""
    theory = min(max(9, local(now).hour + 1), 22)
    return theory, min(theory + 2, 23)


def _session(centre: Organisation, item: Item, part: ExamPart, day: dt.date, hour: int) -> ExamSession:
    """The demo centre's session of `part` for the item on `day` (made once, at `hour` local time, planned two weeks
    before): a rerun later in the day finds the one made earlier."""
    zone = local_tz()
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    starts = dt.datetime.combine(day, dt.time(hour), tzinfo=zone).astimezone(dt.UTC)
    found = db.session.execute(
        sa.select(ExamSession)
        .where(
            ExamSession.centre_id == centre.id,
            ExamSession.part == part,
            ExamSession.items.any(Item.id == item.id),
            ExamSession.starts_at >= midnight.astimezone(dt.UTC),
            ExamSession.starts_at < (midnight + dt.timedelta(days=1)).astimezone(dt.UTC),
        )
        .order_by(ExamSession.starts_at)
        .limit(1)
    ).scalar()
    if found is not None:
        return found
    layout, name = (
        (RoomLayout.COMPUTER, "第一机考室") if part is ExamPart.THEORY else (RoomLayout.PRACTICAL, "第一实操考场")
    )
    planned = starts - dt.timedelta(days=14)
    plan = planning.SessionPlan(
        room_id=_room(centre, layout, name).id,
        item_ids=[item.id],
        part=part,
        starts_at=starts,
        duration_minutes=120,
        capacity=20,
        booking_opens_at=planned,
        booking_closes_at=starts - dt.timedelta(days=1),
        cancel_deadline=starts - dt.timedelta(days=2),
    )
    return planning.save_session(centre=centre, session=None, plan=plan, now=planned)


def _booked(trainee: User, session: ExamSession, item: Item) -> Booking:
    """The trainee's confirmed seat in the session (booked while booking was open, two weeks before)."""
    found = db.session.execute(
        sa.select(Booking).where(
            Booking.session_id == session.id,
            Booking.trainee_id == trainee.id,
            Booking.status == BookingStatus.CONFIRMED,
        )
    ).scalar()
    if found is not None:
        return found
    if eligibility.current_commitment(trainee) is None:
        applications.sign_commitment(
            trainee=trainee,
            healthy=True,
            no_disqualifying_illness=True,
            education=Education.SENIOR,
            lives_or_works_in_city=True,
            truthful=True,
            signed_name=trainee.real_name,
        )
    with _training_not_asked():
        return bookings.book_seat(trainee=trainee, session_id=session.id, item_id=item.id, now=session.booking_opens_at)


def _second_candidate(centre: Organisation, item: Item, today: dt.date) -> User:
    """李四, who passed the item's theory a week ago (a past demo session): ready for the practical."""
    user = accounts.find_user_by_login(SECOND_CANDIDATE_ID)
    if user is None:
        user = accounts.register_trainee(
            real_name="李四", id_number=SECOND_CANDIDATE_ID, mobile="13900000002", password=DEMO_PASSWORD
        )
        past = _session(centre, item, ExamPart.THEORY, today - dt.timedelta(days=7), THEORY_HOUR)
        results.record_part_result(
            person_id=user.id, item_id=item.id, part=ExamPart.THEORY, score=86, session_id=past.id
        )
    return user


def load_exam_day_demo(*, centre: Organisation, trainee: User, staff: User, examiner: User) -> str:
    """Today's exam day at the demo centre (see the module's docstring); a line for the demo's printout."""
    item = db.session.execute(sa.select(Item).where(Item.code == ITEM_CODE)).scalar()
    if item is None:
        return f"no exam-day demo: the catalogue has no item {ITEM_CODE}"
    today = local_today()
    theory_hour, practical_hour = _todays_hours(utcnow())
    theory = _session(centre, item, ExamPart.THEORY, today, theory_hour)
    _booked(trainee, theory, item)
    practical_session = _session(centre, item, ExamPart.PRACTICAL, today, practical_hour)
    second = _second_candidate(centre, item, today)
    _booked(second, practical_session, item)
    if not any(a.examiner_id == examiner.id for a in practical.assignments(session_id=practical_session.id)):
        practical.assign_examiner(session=practical_session, examiner_id=examiner.id, by=staff)
    practical.draw_tasks(session=practical_session)
    db.session.flush()
    return (
        f"exam day today ({today}): theory session {theory.id} at {local(theory.starts_at):%H:%M} (check-in desk, "
        f"invigilator console) with {trainee.real_name} booked; practical session {practical_session.id} at "
        f"{local(practical_session.starts_at):%H:%M} with 李四 ({SECOND_CANDIDATE_ID}) "
        f"to score by {examiner.username}"
    )
