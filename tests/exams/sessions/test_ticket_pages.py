"""The ticket as a trainee reaches it: number, issuing authority, seat label and the PDF link, on page and paper."""

from __future__ import annotations

import shutil
import subprocess

import sqlalchemy as sa

from exams.sessions import bookings
from exams.sessions.models import Booking
from exams.sessions.tickets import ticket_number
from opcert.accounts.models import OrgKind
from opcert.extensions import db as _db
from tests.exams.sessions import sessions_data as data
from tests.factories import PASSWORD, organisation
from tests.fixtures.web import login, submit, text


def pdf_text(pdf: bytes) -> str:
    path = shutil.which("pdftotext")
    assert path, "pdftotext is missing: apt-get install -y poppler-utils"
    return subprocess.run([path, "-enc", "UTF-8", "-", "-"], input=pdf, check=True, capture_output=True).stdout.decode()  # noqa: S603


def _booked_second_seat(app, where: str = "示范"):
    """A trainee who booked the second seat of a session at a centre under a named authority, and the client."""
    with app.app_context():
        authority = organisation(OrgKind.AUTHORITY, name=f"{where}市应急管理局")
        centre = organisation(OrgKind.EXAM_CENTRE, name=f"{where}考点", authority=authority)
        item = data.item()
        session = data.session(centre, [item])
        bookings.book_seat(trainee=data.eligible(), session_id=session.id, item_id=None)
        _db.session.commit()
        user = data.eligible(name="赵六")
        ids = session.id, item.id, item.code, user.login_name
    client = app.test_client()
    login(client, ids[3], PASSWORD)
    response = submit(client, f"/exams/sessions/{ids[0]}/book", {"item_id": ids[1]}, follow=True)
    with app.app_context():
        booking = _db.session.execute(
            sa.select(Booking).where(Booking.session_id == ids[0], Booking.seat == 2)
        ).scalar_one()
        number = ticket_number(item_code=ids[2], exam_day=bookings.exam_day(booking.session), session_id=ids[0], seat=2)
        booking_id = booking.id
    return client, response, booking_id, number


def test_ticket_page_and_pdf_show_number_authority_and_row_seat(app) -> None:
    client, response, booking_id, number = _booked_second_seat(app)
    assert "预约成功，座位号1-02" in text(response)
    listing = text(client.get("/bookings"))
    assert f"/bookings/{booking_id}/ticket.pdf" in listing
    assert "1-02" in listing
    page = text(client.get(f"/bookings/{booking_id}/ticket"))
    assert "准考证号" in page
    assert number in page
    assert "示范市应急管理局" in page
    assert "1-02" in page
    assert f'href="/bookings/{booking_id}/ticket.pdf"' in page
    extracted = pdf_text(client.get(f"/bookings/{booking_id}/ticket.pdf").data)
    assert number in extracted
    assert "示范市应急管理局" in extracted
    assert "1-02" in extracted


def test_ticket_numbers_differ_per_seat_and_session(app) -> None:
    client, _, booking_id, number = _booked_second_seat(app)
    _, _, other_id, other = _booked_second_seat(app, "另一")
    assert other_id != booking_id
    assert other != number
    assert number in text(client.get(f"/bookings/{booking_id}/ticket")), "the number is stable between views"
