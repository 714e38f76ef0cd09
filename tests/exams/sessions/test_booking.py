"""Booking rules: eligibility, window, the 60-day rule, twice, full, closed, cancellation, waitlist, moves, no-shows."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from exams.sessions import applications, bookings, errors, planning
from exams.sessions.eligibility import IneligibleError, eligibility_problems
from exams.sessions.models import Booking, BookingStatus, ExamApplication, SessionStatus
from opcert.access import Role
from opcert.accounts.models import Organisation, User
from opcert.catalogue.models import Education
from opcert.db import utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db as _db
from opcert.notifications.models import Notification
from tests.exams.sessions import sessions_data as data
from tests.factories import PASSWORD, id_number, staff, trainee
from tests.fixtures.web import login, submit, text


def notices(db, user: User, kind: str) -> list[Notification]:
    query = sa.select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)
    return list(db.session.execute(query).scalars())


def book(db, user: User, session_id: int, **kwargs) -> Booking:
    booking = bookings.book_seat(trainee=user, session_id=session_id, item_id=None, **kwargs)
    db.session.commit()
    return booking


@pytest.fixture
def setup(db):
    item = data.item()
    centre = data.centre()
    return item, centre, data.session(centre, [item])


# --- booking and eligibility ------------------------------------------------------------------------


def test_booking_takes_the_lowest_free_seat_and_notifies(db, setup) -> None:
    _, _, session = setup
    first, second = data.eligible(), data.eligible()
    assert book(db, first, session.id).seat == 1
    assert book(db, second, session.id).seat == 2
    assert db.session.get(type(session), session.id).seats_taken == 2
    [notice] = notices(db, first, "booking_confirmed")
    assert "座位号1-01" in notice.body
    application = db.session.execute(sa.select(ExamApplication).filter_by(trainee_id=first.id)).scalar_one()
    assert application.applied_at is not None


def test_without_commitment_booking_is_refused_and_nothing_is_written(db, setup) -> None:
    _, _, session = setup
    user = trainee()
    with pytest.raises(IneligibleError, match="告知承诺书"):
        bookings.book_seat(trainee=user, session_id=session.id, item_id=None)
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(Booking.id))).scalar_one() == 0
    assert db.session.execute(sa.select(sa.func.count(ExamApplication.id))).scalar_one() == 0


def test_retirement_age_is_refused(db, setup) -> None:
    _, _, session = setup
    retired = data.eligible(birth=dt.date(1955, 5, 1))
    with pytest.raises(IneligibleError, match="法定退休年龄（60周岁）"):
        bookings.book_seat(trainee=retired, session_id=session.id, item_id=None)


def test_retirement_age_is_a_setting_and_depends_on_sex(app, db, setup) -> None:
    item, _, session = setup
    woman = User(role=Role.TRAINEE, id_number=id_number(dt.date(1973, 1, 1), male=False), real_name="赵六")
    day = bookings.exam_day(session)
    assert any("法定退休年龄（50周岁）" in p for p in eligibility_problems(trainee=woman, item=item, exam_day=day))
    app.config["EXAM_RETIREMENT_AGE_FEMALE"] = 55
    try:
        assert not any("退休" in p for p in eligibility_problems(trainee=woman, item=item, exam_day=day))
    finally:
        app.config["EXAM_RETIREMENT_AGE_FEMALE"] = 50


def test_under_eighteen_on_the_exam_day_is_refused(db, setup) -> None:
    item, _, session = setup
    day = bookings.exam_day(session)
    young = User(role=Role.TRAINEE, id_number=id_number(day.replace(year=day.year - 18) + dt.timedelta(days=1)))
    assert any("未满18周岁" in p for p in eligibility_problems(trainee=young, item=item, exam_day=day))


def test_item_no_longer_offered_is_refused(db, setup) -> None:
    item, _, session = setup
    user = data.eligible()
    item.offered = False
    db.session.commit()
    with pytest.raises(IneligibleError, match="不开考"):
        bookings.book_seat(trainee=user, session_id=session.id, item_id=None)


def test_education_below_the_items_requirement_is_refused(db) -> None:
    item = data.item(education=Education.SENIOR)
    session = data.session(data.centre(), [item])
    user = trainee()
    data.sign(user, Education.JUNIOR)
    with pytest.raises(IneligibleError, match="高中"):
        bookings.book_seat(trainee=user, session_id=session.id, item_id=None)


def test_commitment_needs_every_statement_and_the_real_name(db) -> None:
    user = trainee(name="李四")
    with pytest.raises(DomainError) as caught:
        applications.sign_commitment(
            trainee=user,
            healthy=True,
            no_disqualifying_illness=False,
            education=None,
            lives_or_works_in_city=True,
            truthful=False,
            signed_name="张三",
        )
    assert set(caught.value.reasons) == {"no_disqualifying_illness", "education", "truthful", "signed_name"}


# --- window, 60 days, twice, full, closed -----------------------------------------------------------


def test_booking_window_is_enforced(db) -> None:
    item = data.item()
    now = utcnow()
    session = data.session(data.centre(), [item], opens_in=dt.timedelta(days=1), now=now)
    user = data.eligible()
    with pytest.raises(DomainError, match="尚未开放预约"):
        bookings.book_seat(trainee=user, session_id=session.id, item_id=None, now=now)
    db.session.rollback()
    with pytest.raises(DomainError, match="预约已截止"):
        bookings.book_seat(trainee=user, session_id=session.id, item_id=None, now=now + dt.timedelta(days=9, hours=1))


def test_exam_more_than_60_days_after_the_application_is_refused(db) -> None:
    item = data.item()
    centre = data.centre()
    now = utcnow()
    user = data.eligible()
    applications.apply_for_exam(trainee=user, item_id=item.id, now=now)
    db.session.commit()
    late = data.session(centre, [item], starts_in=dt.timedelta(days=61), now=now)
    within = data.session(centre, [item], starts_in=dt.timedelta(days=59), now=now)
    with pytest.raises(DomainError, match="60日内"):
        bookings.book_seat(trainee=user, session_id=late.id, item_id=None, now=now)
    db.session.rollback()
    assert book(db, user, within.id, now=now).status is BookingStatus.CONFIRMED


def test_booking_twice_is_refused(db, setup) -> None:
    item, centre, session = setup
    user = data.eligible()
    book(db, user, session.id)
    with pytest.raises(DomainError, match="请勿重复预约"):
        bookings.book_seat(trainee=user, session_id=session.id, item_id=None)
    db.session.rollback()
    other = data.session(centre, [item])
    with pytest.raises(DomainError, match="改约"):
        bookings.book_seat(trainee=user, session_id=other.id, item_id=None)


def test_full_session_is_refused(db) -> None:
    session = data.session(data.centre(), [data.item()], capacity=1)
    book(db, data.eligible(), session.id)
    with pytest.raises(errors.SessionFullError, match="已满"):
        bookings.book_seat(trainee=data.eligible(), session_id=session.id, item_id=None)


def test_closed_and_cancelled_sessions_are_refused(db, setup) -> None:
    _, _, session = setup
    user = data.eligible()
    planning.change_session_status(session=session, status=SessionStatus.CLOSED)
    db.session.commit()
    with pytest.raises(DomainError, match="已关闭预约"):
        bookings.book_seat(trainee=user, session_id=session.id, item_id=None)
    db.session.rollback()
    planning.change_session_status(session=session, status=SessionStatus.CANCELLED)
    db.session.commit()
    with pytest.raises(NotFoundError):
        bookings.book_seat(trainee=user, session_id=session.id, item_id=None)
    db.session.rollback()
    with pytest.raises(errors.TransitionError):
        planning.check_session_transition(SessionStatus.CANCELLED, SessionStatus.OPEN)


def test_cancelling_a_session_frees_seats_and_tells_everyone(db, setup) -> None:
    _, _, session = setup
    user = data.eligible()
    book(db, user, session.id)
    planning.change_session_status(session=session, status=SessionStatus.CANCELLED, reason="考场停电检修")
    db.session.commit()
    assert bookings.my_bookings(trainee=user)[0].status is BookingStatus.CANCELLED
    [notice] = notices(db, user, "session_cancelled")
    assert "原因：考场停电检修" in notice.body


def test_cancelling_a_booked_session_without_a_reason_is_refused_and_changes_nothing(db, setup) -> None:
    _, _, session = setup
    user = data.eligible()
    book(db, user, session.id)
    with pytest.raises(DomainError, match="请填写取消原因") as caught:
        planning.change_session_status(session=session, status=SessionStatus.CANCELLED, reason="  ")
    assert "reason" in caught.value.reasons
    db.session.rollback()
    assert db.session.get(type(session), session.id).status is SessionStatus.OPEN
    assert bookings.my_bookings(trainee=user)[0].status is BookingStatus.CONFIRMED
    assert notices(db, user, "session_cancelled") == []


# --- cancellation, waitlist, rescheduling, no-shows -------------------------------------------------


def test_cancel_before_the_deadline_only(db) -> None:
    now = utcnow()
    session = data.session(data.centre(), [data.item()], now=now)
    user = data.eligible()
    booking = book(db, user, session.id, now=now)
    with pytest.raises(DomainError, match="取消截止时间"):
        bookings.cancel_booking(trainee=user, booking_id=booking.id, now=now + dt.timedelta(days=8, hours=1))
    db.session.rollback()
    bookings.cancel_booking(trainee=user, booking_id=booking.id, now=now)
    db.session.commit()
    assert db.session.get(type(session), session.id).seats_taken == 0
    # The same trainee can take a seat in that session again (the row is reused: one per trainee and session).
    assert book(db, user, session.id, now=now).seat == 1


def test_cancellation_promotes_the_waitlist_in_order_and_notifies(db) -> None:
    session = data.session(data.centre(), [data.item()], capacity=1)
    holder, first, second = data.eligible(), data.eligible(), data.eligible()
    taken = book(db, holder, session.id)
    with pytest.raises(DomainError, match="仍有空位"):
        bookings.join_waitlist(trainee=first, session_id=data.session(data.centre(), [taken.item]).id, item_id=None)
    db.session.rollback()
    bookings.join_waitlist(trainee=first, session_id=session.id, item_id=None)
    db.session.commit()
    bookings.join_waitlist(trainee=second, session_id=session.id, item_id=None)
    db.session.commit()
    bookings.cancel_booking(trainee=holder, booking_id=taken.id)
    db.session.commit()
    [promoted] = [b for b in bookings.my_bookings(trainee=first)]
    assert (promoted.status, promoted.seat) == (BookingStatus.CONFIRMED, 1)
    assert bookings.my_bookings(trainee=second)[0].status is BookingStatus.WAITLISTED
    [notice] = notices(db, first, "waitlist_promoted")
    assert "候补转正" in notice.subject
    assert notices(db, second, "waitlist_promoted") == []


def test_reschedule_takes_the_new_seat_before_releasing_the_old(db) -> None:
    item = data.item()
    centre = data.centre()
    old = data.session(centre, [item], capacity=1)
    full = data.session(centre, [item], capacity=1)
    free = data.session(centre, [item], capacity=5)
    user, waiting, other = data.eligible(), data.eligible(), data.eligible()
    mine = book(db, user, old.id)
    book(db, other, full.id)
    bookings.join_waitlist(trainee=waiting, session_id=old.id, item_id=None)
    db.session.commit()
    # The new session is full: the move is refused and the old seat is still held (never released first).
    with pytest.raises(errors.SessionFullError):
        bookings.reschedule_booking(trainee=user, booking_id=mine.id, new_session_id=full.id)
    db.session.rollback()
    kept = db.session.get(Booking, mine.id)
    assert (kept.status, kept.seat) == (BookingStatus.CONFIRMED, 1)
    assert bookings.my_bookings(trainee=waiting)[0].status is BookingStatus.WAITLISTED
    moved = bookings.reschedule_booking(trainee=user, booking_id=mine.id, new_session_id=free.id)
    db.session.commit()
    assert (moved.session_id, moved.status, moved.seat) == (free.id, BookingStatus.CONFIRMED, 1)
    assert db.session.get(Booking, mine.id).status is BookingStatus.RESCHEDULED
    # The freed old seat went to the waitlist.
    assert bookings.my_bookings(trainee=waiting)[0].seat == 1


def test_no_show_only_after_the_start_and_only_by_the_centre(db) -> None:
    now = utcnow()
    centre = data.centre()
    session = data.session(centre, [data.item()], now=now)
    booking = book(db, data.eligible(), session.id, now=now)
    own_staff = staff(Role.CENTRE_STAFF, org=centre)
    with pytest.raises(DomainError, match="考试开始后"):
        bookings.mark_no_show(viewer=own_staff, booking_id=booking.id, now=now)
    db.session.rollback()
    with pytest.raises(NotFoundError):
        bookings.mark_no_show(viewer=staff(Role.CENTRE_STAFF), booking_id=booking.id, now=now + dt.timedelta(days=11))
    db.session.rollback()
    bookings.mark_no_show(viewer=own_staff, booking_id=booking.id, now=now + dt.timedelta(days=10, minutes=20))
    db.session.commit()
    assert db.session.get(Booking, booking.id).status is BookingStatus.NO_SHOW


def test_reminders_are_sent_once(app, db) -> None:
    now = utcnow()
    session = data.session(data.centre(), [data.item()], now=now - dt.timedelta(days=9, hours=12))
    user = data.eligible()
    bookings.book_seat(trainee=user, session_id=session.id, item_id=None, now=now - dt.timedelta(days=9, hours=12))
    db.session.commit()
    runner = app.test_cli_runner()
    assert "reminded 1" in runner.invoke(args=["exams", "remind"]).output
    assert "reminded 0" in runner.invoke(args=["exams", "remind"]).output
    assert len(notices(db, user, "exam_reminder")) == 1


# --- pages and scoping (requests run outside the test's app context, as a browser's would) ----------


def _world(app, *, capacity: int = 50):
    with app.app_context():
        item = data.item()
        centre = data.centre()
        session = data.session(centre, [item], capacity=capacity)
        return item.id, centre.id, session.id


def test_trainee_signs_books_and_sees_the_ticket_through_the_pages(app) -> None:
    item_id, _, session_id = _world(app)
    with app.app_context():
        account = trainee(name="李四").login_name
        foreign = bookings.book_seat(trainee=data.eligible(), session_id=session_id, item_id=None).id
        _db.session.commit()
    client = app.test_client()
    login(client, account, PASSWORD)
    response = submit(client, f"/exams/sessions/{session_id}/book", {"item_id": item_id}, follow=True)
    assert "告知承诺书" in text(response)
    with app.app_context():
        # The refused booking wrote nothing: only the other trainee's application exists.
        assert _db.session.execute(sa.select(sa.func.count(ExamApplication.id))).scalar_one() == 1
    form = {
        "healthy": "y",
        "no_disqualifying_illness": "y",
        "education": "junior",
        "lives_or_works_in_city": "y",
        "truthful": "y",
        "signed_name": "李四",
    }
    assert submit(client, "/exams/commitment", form, page="/exams/commitment").status_code == 302
    response = submit(client, f"/exams/sessions/{session_id}/book", {"item_id": item_id}, follow=True)
    assert "预约成功，座位号1-02" in text(response)
    response = submit(client, f"/exams/sessions/{session_id}/book", {"item_id": item_id}, follow=True)
    assert "请勿重复预约" in text(response)
    with app.app_context():
        mine = _db.session.execute(sa.select(Booking.id).where(Booking.id != foreign)).scalar_one()
    assert "测试项目" in text(client.get("/bookings"))
    page = client.get(f"/bookings/{mine}/ticket")
    assert page.status_code == 200
    assert "李四" in text(page)
    pdf = client.get(f"/bookings/{mine}/ticket.pdf")
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")
    assert client.get(f"/bookings/{foreign}/ticket").status_code == 404
    assert client.get(f"/bookings/{foreign}/ticket.pdf").status_code == 404
    response = submit(client, f"/bookings/{mine}/cancel", {"confirm": "y"}, follow=True)
    assert "已取消预约" in text(response)


def test_full_session_page_says_full_and_offers_the_waitlist(app) -> None:
    item_id, _, session_id = _world(app, capacity=1)
    with app.app_context():
        bookings.book_seat(trainee=data.eligible(), session_id=session_id, item_id=None)
        _db.session.commit()
        account = data.eligible().login_name
    client = app.test_client()
    login(client, account, PASSWORD)
    response = submit(client, f"/exams/sessions/{session_id}/book", {"item_id": item_id}, follow=True)
    assert "已满" in text(response)
    assert "登记候补" in text(response)
    response = submit(client, f"/exams/sessions/{session_id}/waitlist", {"item_id": item_id}, follow=True)
    assert "已登记候补" in text(response)


def test_centre_staff_see_only_their_own_centre(app) -> None:
    _, centre_id, session_id = _world(app)
    with app.app_context():
        bookings.book_seat(trainee=data.eligible(name="钱七"), session_id=session_id, item_id=None)
        _db.session.commit()
        centre = _db.session.get(Organisation, centre_id)
        own = staff(Role.CENTRE_STAFF, org=centre).login_name
        other = staff(Role.CENTRE_STAFF).login_name
        admin = staff(Role.ADMIN)
        admin_login, admin_secret = admin.login_name, admin.totp_secret
    client = app.test_client()
    login(client, own, PASSWORD)
    page = client.get(f"/exams/sessions/{session_id}/manage")
    assert page.status_code == 200
    assert "钱七" in text(page)
    assert client.get("/centres").headers["Location"].endswith(f"/centres/{centre_id}/sessions")
    assert client.get(f"/centres/{centre_id}/sessions").status_code == 200
    client = app.test_client()
    login(client, other, PASSWORD)
    assert client.get(f"/exams/sessions/{session_id}/manage").status_code == 404
    assert client.get(f"/centres/{centre_id}/rooms").status_code == 404
    assert submit(client, f"/exams/sessions/{session_id}/status", {"status": "cancelled"}).status_code == 404
    client = app.test_client()
    login(client, admin_login, PASSWORD, totp_secret=admin_secret)
    assert client.get(f"/exams/sessions/{session_id}/manage").status_code == 200


def test_staff_create_a_session_through_the_page(app) -> None:
    with app.app_context():
        item_id = data.item().id
        centre = data.centre()
        centre_id = centre.id
        room_id = data.room(centre, seats=30).id
        account = staff(Role.CENTRE_STAFF, org=centre).login_name
    client = app.test_client()
    login(client, account, PASSWORD)
    form = {
        "part": "theory",
        "item_ids": [item_id],
        "room_id": room_id,
        "starts_at": "2099-05-01T09:00",
        "duration_minutes": 120,
        "capacity": 40,
        "booking_opens_at": "2099-04-01T09:00",
        "booking_closes_at": "2099-04-28T17:00",
        "cancel_deadline": "2099-04-28T17:00",
    }
    page = f"/centres/{centre_id}/sessions/new"
    response = submit(client, page, form, page=page)
    assert response.status_code == 200
    assert "容量应在1到考场座位数（30）之间" in text(response)
    response = submit(client, page, {**form, "capacity": 30}, page=page)
    assert response.status_code == 302
    with app.app_context():
        [created] = planning.list_centre_sessions(centre=_db.session.get(Organisation, centre_id))
        assert created.starts_at == dt.datetime(2099, 5, 1, 1, 0, tzinfo=dt.UTC)


def test_cancel_reschedule_and_no_show_follow_one_rule_for_pages_and_services(app) -> None:
    _, _, session_id = _world(app)
    with app.app_context():
        booking = bookings.book_seat(trainee=data.eligible(), session_id=session_id, item_id=None)
        _db.session.commit()
        session = booking.session
        before_deadline = session.cancel_deadline - dt.timedelta(minutes=1)
        after_deadline = session.cancel_deadline + dt.timedelta(minutes=1)
        assert bookings.can_cancel(booking, before_deadline)
        assert bookings.can_reschedule(booking, before_deadline)
        assert not bookings.can_cancel(booking, after_deadline)
        assert not bookings.can_reschedule(booking, after_deadline)
        assert not bookings.can_mark_no_show(booking, session.starts_at - dt.timedelta(minutes=1))
        assert bookings.can_mark_no_show(booking, session.starts_at)
        with pytest.raises(DomainError) as refused:
            bookings.cancel_booking(trainee=booking.trainee, booking_id=booking.id, now=after_deadline)
        assert "已超过取消截止时间" in refused.value.message


def test_the_ticket_carries_the_library_photo_and_the_view_is_audited(app) -> None:
    from opcert.audit.models import AuditEvent
    from photos import services as photos
    from photos.models import PhotoSource
    from tests.fixtures.faces import IDENTITIES

    _, _, session_id = _world(app)
    with app.app_context():
        user = data.eligible(name="孙八")
        photos.store_photo(
            id_number=user.id_number,
            data=(IDENTITIES / "deepface__dp01" / "1.jpg").read_bytes(),
            source=PhotoSource.UNIFIED_LIBRARY,
        )
        booking_id = bookings.book_seat(trainee=user, session_id=session_id, item_id=None).id
        _db.session.commit()
        account = user.login_name
    client = app.test_client()
    login(client, account, PASSWORD)
    pdf = client.get(f"/bookings/{booking_id}/ticket.pdf")
    assert pdf.status_code == 200
    assert b"/Subtype /Image" in pdf.data
    with app.app_context():
        reasons = (
            _db.session.execute(sa.select(AuditEvent.details).where(AuditEvent.action == "photo.viewed"))
            .scalars()
            .all()
        )
        assert any('"reason":"ticket"' in r for r in reasons)
