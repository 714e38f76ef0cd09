"""Exam-day test data: a theory session starting now, candidates booked with library photos and consent."""

from __future__ import annotations

import datetime as dt

from exams.sessions import bookings
from exams.sessions.models import Booking, ExamSession
from opcert.accounts.models import Organisation, User
from opcert.catalogue.models import Item
from opcert.db import utcnow
from opcert.extensions import db
from photos import services as photo_services
from photos.models import PhotoSource
from tests.exams.sessions import sessions_data
from tests.factories import staff
from tests.photos.imagelib import photo

BOOKED_DAYS_AGO = 10


def today_session(where: Organisation, items: list[Item], *, capacity: int = 50) -> ExamSession:
    """A theory session that starts a minute from now (planned and booked days ago)."""
    past = utcnow() - dt.timedelta(days=BOOKED_DAYS_AGO)
    return sessions_data.session(
        where, items, capacity=capacity, starts_in=dt.timedelta(days=BOOKED_DAYS_AGO, minutes=1), now=past
    )


def candidate(
    session: ExamSession, item: Item, *, library: str | None = None, consent: bool = True, name: str = "王五"
) -> Booking:
    """An eligible trainee booked into the session, with a library photo (a path under faces/) and consent."""
    user = sessions_data.eligible(name=name)
    if library is not None:
        photo_services.store_photo(id_number=user.id_number, data=photo(library), source=PhotoSource.UNIFIED_LIBRARY)
    if consent:
        photo_services.record_consent(id_number=user.id_number, recorded_by_id=None)
    db.session.commit()
    booked_at = session.booking_opens_at + dt.timedelta(minutes=1)
    booking = bookings.book_seat(trainee=user, session_id=session.id, item_id=item.id, now=booked_at)
    db.session.commit()
    return booking


def centre_staff(where: Organisation) -> User:
    """A centre-staff account of the centre (committed)."""
    from opcert.access import Role

    return staff(Role.CENTRE_STAFF, org=where)
