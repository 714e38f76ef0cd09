"""300 simultaneous booking requests through the WSGI app for a 50-seat session: exactly 50 seats, no duplicates.

Each request runs in its own thread with its own client, cookie session and database connection (the app under
test gets a pool big enough for every thread), released together by a barrier.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter

import sqlalchemy as sa
from flask.testing import FlaskClient

from exams.sessions import applications
from exams.sessions.models import Booking, BookingStatus, ExamSession
from opcert.accounts import services as accounts
from opcert.catalogue.models import Education
from opcert.extensions import db
from tests.exams.sessions import sessions_data as data
from tests.factories import PASSWORD, id_number
from tests.fixtures.database import make_app
from tests.fixtures.web import CSRF_RE, text

REQUESTS = 300
SEATS = 50
POOL = {"pool_pre_ping": True, "pool_size": 64, "max_overflow": 16, "pool_timeout": 60}


def logged_in_trainees(count: int) -> list[str]:
    """`count` eligible trainees with an open server-side session each; their session tokens (committed)."""
    tokens = []
    for n in range(count):
        # factories.id_number varies 50 sequence numbers per birth date: spread over enough dates.
        number = id_number(dt.date(1985, 1, 1) + dt.timedelta(days=n // 40), seq=n % 40)
        user = accounts.register_trainee(real_name="考生", id_number=number, mobile="13912345678", password=PASSWORD)
        applications.sign_commitment(
            trainee=user,
            healthy=True,
            no_disqualifying_illness=True,
            education=Education.SENIOR,
            lives_or_works_in_city=True,
            truthful=True,
            signed_name=user.real_name,
        )
        tokens.append(accounts.start_session(user=user, ip="127.0.0.1", user_agent="race"))
    db.session.commit()
    return tokens


def test_300_simultaneous_bookings_for_50_seats(app, database_url) -> None:
    with app.app_context():
        item = data.item()
        session = data.session(data.centre(), [item], capacity=SEATS)
        item_id, session_id = item.id, session.id
        tokens = logged_in_trainees(REQUESTS)
    racer = make_app(database_url, SQLALCHEMY_ENGINE_OPTIONS=POOL)
    start = threading.Barrier(REQUESTS)
    results: list[tuple[int, str, FlaskClient]] = []
    errors: list[BaseException] = []

    def attempt(token: str) -> None:
        try:
            client = racer.test_client()
            with client.session_transaction() as cookie:
                cookie["_user_id"] = token
                cookie["_fresh"] = True
            match = CSRF_RE.search(text(client.get(f"/exams/sessions/{session_id}")))
            assert match, "no CSRF token on the session page"
            start.wait(timeout=120)
            response = client.post(
                f"/exams/sessions/{session_id}/book", data={"item_id": item_id, "csrf_token": match.group(1)}
            )
            results.append((response.status_code, response.headers.get("Location", ""), client))
        except BaseException as exc:
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=attempt, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not errors, errors[:3]
        assert len(results) == REQUESTS
        assert Counter(status for status, _, _ in results) == {302: REQUESTS}  # no 500, no 400
        booked = [r for r in results if r[1].endswith("/bookings")]
        refused = [r for r in results if re.search(rf"/exams/sessions/{session_id}$", r[1])]
        assert len(booked) == SEATS
        assert len(refused) == REQUESTS - SEATS
        # Every refusal says, in Chinese, that the session is full (the flash shown on the page it redirects to).
        answers = [text(client.get(location)) for _, location, client in refused]
        assert all("座位已满" in answer for answer in answers)
    finally:
        with racer.app_context():
            db.engine.dispose()
    with app.app_context():
        seats = db.session.execute(
            sa.select(Booking.seat).where(Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED)
        ).scalars()
        assert sorted(seats) == list(range(1, SEATS + 1))
        assert db.session.execute(sa.select(sa.func.count(Booking.id))).scalar_one() == SEATS
        assert db.session.get(ExamSession, session_id).seats_taken == SEATS
