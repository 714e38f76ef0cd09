"""Cancelling takes a confirmation: a booking by its trainee, a session (with the reason) by its centre's staff."""

from __future__ import annotations

import sqlalchemy as sa

from exams.sessions import bookings
from exams.sessions.models import Booking, BookingStatus, ExamSession, SessionStatus
from opcert.access import Role
from opcert.extensions import db as _db
from opcert.notifications.models import Notification
from tests.exams.sessions import sessions_data as data
from tests.factories import PASSWORD, staff
from tests.fixtures.web import login, submit, text


def _booked(app):
    """A session with one confirmed booking; the ids and the trainee's and the centre staff's accounts."""
    with app.app_context():
        centre = data.centre()
        session = data.session(centre, [data.item()])
        user = data.eligible()
        booking = bookings.book_seat(trainee=user, session_id=session.id, item_id=None)
        _db.session.commit()
        return session.id, booking.id, user.id, user.login_name, staff(Role.CENTRE_STAFF, org=centre).login_name


def _status(app, booking_id: int) -> BookingStatus:
    with app.app_context():
        return _db.session.get(Booking, booking_id).status


def _session_status(app, session_id: int) -> SessionStatus:
    with app.app_context():
        return _db.session.get(ExamSession, session_id).status


def _cancel_notices(app, user_id: int) -> list[str]:
    with app.app_context():
        query = sa.select(Notification.body).where(
            Notification.user_id == user_id, Notification.kind == "session_cancelled"
        )
        return list(_db.session.execute(query).scalars())


def test_one_click_does_not_cancel_a_booking_the_confirmed_form_does(app) -> None:
    _, booking_id, _, account, _ = _booked(app)
    client = app.test_client()
    login(client, account, PASSWORD)
    listing = text(client.get("/bookings"))
    assert f'href="/bookings/{booking_id}/cancel"' in listing, "the list links to the confirmation page"
    page = client.get(f"/bookings/{booking_id}/cancel")
    assert page.status_code == 200
    assert "我确认取消该预约" in text(page)
    assert _status(app, booking_id) is BookingStatus.CONFIRMED
    response = submit(client, f"/bookings/{booking_id}/cancel", page=f"/bookings/{booking_id}/cancel")
    assert response.status_code == 200
    assert "请勾选确认后再取消" in text(response)
    assert _status(app, booking_id) is BookingStatus.CONFIRMED
    response = submit(client, f"/bookings/{booking_id}/cancel", {"confirm": "y"}, follow=True)
    assert "已取消预约" in text(response)
    assert _status(app, booking_id) is BookingStatus.CANCELLED


def test_staff_cancel_a_booked_session_only_confirmed_and_with_a_reason(app) -> None:
    session_id, booking_id, user_id, _, staff_account = _booked(app)
    client = app.test_client()
    login(client, staff_account, PASSWORD)
    manage = f"/exams/sessions/{session_id}/manage"
    assert f'href="/exams/sessions/{session_id}/cancel"' in text(client.get(manage))

    response = submit(client, f"/exams/sessions/{session_id}/status", {"status": "cancelled"}, page=manage)
    assert response.headers["Location"].endswith(f"/exams/sessions/{session_id}/cancel")
    assert _session_status(app, session_id) is SessionStatus.OPEN

    cancel = f"/exams/sessions/{session_id}/cancel"
    assert "1名考生" in text(client.get(cancel))
    response = submit(client, cancel, {"reason": "考场停电检修"}, page=cancel)
    assert "请勾选确认后再取消" in text(response)
    response = submit(client, cancel, {"confirm": "y", "reason": ""}, page=cancel)
    assert "请填写取消原因" in text(response)
    assert _session_status(app, session_id) is SessionStatus.OPEN
    assert _status(app, booking_id) is BookingStatus.CONFIRMED
    assert _cancel_notices(app, user_id) == []

    response = submit(client, cancel, {"confirm": "y", "reason": "考场停电检修"}, page=cancel, follow=True)
    assert "场次已取消" in text(response)
    assert _session_status(app, session_id) is SessionStatus.CANCELLED
    assert _status(app, booking_id) is BookingStatus.CANCELLED
    [body] = _cancel_notices(app, user_id)
    assert "考场停电检修" in body


def test_an_empty_session_is_cancelled_without_a_reason(app) -> None:
    with app.app_context():
        centre = data.centre()
        session_id = data.session(centre, [data.item()]).id
        account = staff(Role.CENTRE_STAFF, org=centre).login_name
    client = app.test_client()
    login(client, account, PASSWORD)
    cancel = f"/exams/sessions/{session_id}/cancel"
    response = submit(client, cancel, {"confirm": "y"}, page=cancel, follow=True)
    assert "场次已取消" in text(response)
    assert _session_status(app, session_id) is SessionStatus.CANCELLED
