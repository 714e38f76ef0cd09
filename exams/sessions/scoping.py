"""Who may see which centre, room, session and booking: foreign or unknown ids are 'not found' (404)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from exams.sessions.models import Booking, ExamSession, Room, SessionStatus
from opcert.access import Role
from opcert.accounts.models import Organisation, OrgKind, User
from opcert.accounts.services import visible_organisation
from opcert.errors import NotFoundError
from opcert.extensions import db


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


def booking_for_staff(*, viewer: User, booking_id: int) -> Booking:
    """A booking in a session of a centre the viewer manages (else 404)."""
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFoundError(_("预约记录不存在。"))
    managed_session(viewer=viewer, session_id=booking.session_id)
    return booking


def bookable_session(*, session_id: int) -> ExamSession:
    """A session a trainee may look at: not cancelled (else 404)."""
    session = db.session.get(ExamSession, session_id)
    if session is None or session.status is SessionStatus.CANCELLED:
        raise NotFoundError(_("考试场次不存在。"))
    return session
