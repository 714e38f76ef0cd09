"""Exams' grant in the photo registry: centre staff see the faces of candidates booked at their own centre."""

from __future__ import annotations

import datetime as dt
import hmac

import sqlalchemy as sa
from flask import current_app
from flask.blueprints import BlueprintSetupState

from exams.sessions.models import Booking, BookingStatus, ExamSession, SessionStatus
from opcert.access import Role
from opcert.accounts.models import User
from opcert.db import utcnow
from opcert.extensions import db
from photos.access import register_grant
from photos.services import subject_ref

PURPOSE = "centre_checkin"


def booked_at_viewers_centre(viewer: User, ref: str) -> bool:
    """Whether subject `ref` holds a seat in a session of the viewer's centre (recent or to come)."""
    if viewer.role is not Role.CENTRE_STAFF or viewer.organisation_id is None:
        return False
    since = utcnow() - dt.timedelta(days=int(current_app.config["EXAM_PHOTO_ACCESS_DAYS"]))
    numbers = db.session.execute(
        sa.select(User.id_number)
        .join(Booking, Booking.trainee_id == User.id)
        .join(ExamSession, ExamSession.id == Booking.session_id)
        .where(
            ExamSession.centre_id == viewer.organisation_id,
            ExamSession.status != SessionStatus.CANCELLED,
            ExamSession.starts_at >= since,
            Booking.status == BookingStatus.CONFIRMED,
            User.id_number.is_not(None),
        )
        .distinct()
    ).scalars()
    # Photo rows carry only the HMAC of the ID number, so the candidates' numbers are turned into references.
    return any(hmac.compare_digest(subject_ref(number), ref) for number in numbers if number)


def register(state: BlueprintSetupState) -> None:
    """Put the grant in the app's photo registry (called when the sessions blueprint is registered)."""
    register_grant(state.app, PURPOSE, booked_at_viewers_centre)
