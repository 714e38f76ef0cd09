"""A trainee without a usable photo is warned before and after booking, and the ticket says what to do."""

from __future__ import annotations

import shutil
import subprocess

import sqlalchemy as sa

from exams.sessions.models import Booking
from opcert.extensions import db as _db
from photos import services
from photos.models import PhotoSource
from tests.exams.sessions import sessions_data as data
from tests.factories import PASSWORD
from tests.fixtures.web import login, submit, text
from tests.photos.imagelib import photo

WARNING = "您还没有可用的照片"


def _client(app, *, with_photo: bool):
    with app.app_context():
        item = data.item()
        session = data.session(data.centre(), [item])
        user = data.eligible()
        if with_photo:
            services.store_photo(
                id_number=user.id_number,
                data=photo("identities/deepface__dp01/1.jpg"),
                source=PhotoSource.UNIFIED_LIBRARY,
            )
            _db.session.commit()
        ids = session.id, item.id, user.login_name
    client = app.test_client()
    login(client, ids[2], PASSWORD)
    return client, ids[0], ids[1]


def test_without_photo_the_session_page_the_booking_and_the_ticket_say_what_to_do(app) -> None:
    client, session_id, item_id = _client(app, with_photo=False)
    page = text(client.get(f"/exams/sessions/{session_id}"))
    assert WARNING in page
    assert 'href="/account/photo"' in page
    response = submit(client, f"/exams/sessions/{session_id}/book", {"item_id": item_id}, follow=True)
    assert "预约成功" in text(response)
    assert WARNING in text(response)
    with app.app_context():
        booking_id = _db.session.execute(sa.select(Booking.id).where(Booking.session_id == session_id)).scalar_one()
    ticket = text(client.get(f"/bookings/{booking_id}/ticket"))
    assert 'href="/account/photo"' in ticket
    assert "入场时将核对您的居民身份证" in ticket
    pdf = client.get(f"/bookings/{booking_id}/ticket.pdf").data
    tool = shutil.which("pdftotext")
    assert tool
    extracted = subprocess.run([tool, "-enc", "UTF-8", "-", "-"], input=pdf, check=True, capture_output=True)  # noqa: S603
    assert "身份证" in extracted.stdout.decode().replace("\n", "")
    assert "我的照片" in extracted.stdout.decode().replace("\n", "")


def test_with_a_photo_there_is_no_warning(app) -> None:
    client, session_id, item_id = _client(app, with_photo=True)
    assert WARNING not in text(client.get(f"/exams/sessions/{session_id}"))
    response = submit(client, f"/exams/sessions/{session_id}/book", {"item_id": item_id}, follow=True)
    assert "预约成功" in text(response)
    assert WARNING not in text(response)
