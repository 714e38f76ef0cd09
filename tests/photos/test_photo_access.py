"""Who sees a face photo: by a random key only, for a purpose the viewer has (the person, the centre where the
candidate is booked, an administrator who says why, a grant a higher layer registers); every view audited."""

from __future__ import annotations

import dataclasses
import json

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from exams.sessions import bookings as sessions
from opcert.access import Role
from opcert.accounts.models import Organisation, User
from opcert.audit.models import AuditEvent
from opcert.extensions import db
from photos import access
from photos import services as photos
from photos.models import PhotoSource
from tests.exams.sessions import sessions_data as data
from tests.factories import PASSWORD, staff
from tests.fixtures.web import logged_in_client, login, text
from tests.photos.imagelib import photo

GOOD = "identities/deepface__dp03/1.jpg"
JPEG_MAGIC = b"\xff\xd8\xff"


@dataclasses.dataclass
class Scene:
    """Two centres, each with a session and a booked candidate with a photo, and someone booked nowhere."""

    centre_a: int
    candidate_a: int
    candidate_a_login: str
    candidate_a_ref: str
    booking_a: int
    key_a: str
    photo_id_a: int
    key_b: str
    key_unbooked: str


def _candidate_with_photo(seq: int) -> tuple[User, str, int]:
    user = data.eligible(seq=seq)
    stored = photos.store_photo(id_number=user.id_number, data=photo(GOOD), source=PhotoSource.UNIFIED_LIBRARY)
    db.session.commit()
    return user, stored.view_key, stored.id


@pytest.fixture
def scene(app) -> Scene:
    with app.app_context():
        item = data.item()
        centre_a, centre_b = data.centre(), data.centre()
        session_a, session_b = data.session(centre_a, [item]), data.session(centre_b, [item])
        candidate_a, key_a, photo_id_a = _candidate_with_photo(1)
        candidate_b, key_b, _ = _candidate_with_photo(2)
        _, key_unbooked, _ = _candidate_with_photo(3)
        booking_a = sessions.book_seat(trainee=candidate_a, session_id=session_a.id, item_id=None).id
        sessions.book_seat(trainee=candidate_b, session_id=session_b.id, item_id=None)
        db.session.commit()
        return Scene(
            centre_a=centre_a.id,
            candidate_a=candidate_a.id,
            candidate_a_login=candidate_a.login_name,
            candidate_a_ref=photos.subject_ref(candidate_a.id_number),
            booking_a=booking_a,
            key_a=key_a,
            photo_id_a=photo_id_a,
            key_b=key_b,
            key_unbooked=key_unbooked,
        )


def client_of(app: Flask, account: str, totp_secret: str | None = None) -> FlaskClient:
    client = app.test_client()
    assert login(client, account, PASSWORD, totp_secret=totp_secret).status_code == 302
    return client


def staff_of(app: Flask, role: Role, org_id: int) -> FlaskClient:
    with app.app_context():
        user = staff(role, org=db.session.get(Organisation, org_id))
        account, secret = user.login_name, user.totp_secret
    return client_of(app, account, secret)


def photo_views(app: Flask) -> list[dict]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEvent).where(AuditEvent.action == "photo.viewed").order_by(AuditEvent.seq)
        ).scalars()
        return [{"object_id": r.object_id, "actor_id": r.actor_id, **json.loads(r.details or "{}")} for r in rows]


def test_centre_staff_see_only_candidates_booked_at_their_centre(app, scene) -> None:
    client = staff_of(app, Role.CENTRE_STAFF, scene.centre_a)
    response = client.get(f"/photos/{scene.key_a}")
    assert response.status_code == 200
    assert response.data[:3] == JPEG_MAGIC
    assert response.headers["Cache-Control"] == "private, no-store"
    for refused in (scene.key_b, scene.key_unbooked, str(scene.photo_id_a), "0" * 48):
        assert client.get(f"/photos/{refused}").status_code == 404, refused
    [view] = photo_views(app)
    assert view["reason"] == "centre_checkin"
    assert view["object_id"] == str(scene.photo_id_a)
    assert view["actor_id"]


def test_the_centre_loses_sight_of_a_candidate_who_cancels(app, scene) -> None:
    client = staff_of(app, Role.CENTRE_STAFF, scene.centre_a)
    assert client.get(f"/photos/{scene.key_a}").status_code == 200
    with app.app_context():
        candidate = db.session.get(User, scene.candidate_a)
        sessions.cancel_booking(trainee=candidate, booking_id=scene.booking_a)
        db.session.commit()
    assert client.get(f"/photos/{scene.key_a}").status_code == 404


def test_a_session_long_past_no_longer_gives_access(app, scene) -> None:
    client = staff_of(app, Role.CENTRE_STAFF, scene.centre_a)
    days = app.config["EXAM_PHOTO_ACCESS_DAYS"]
    app.config["EXAM_PHOTO_ACCESS_DAYS"] = -30  # the session (10 days ahead) now counts as long past
    try:
        assert client.get(f"/photos/{scene.key_a}").status_code == 404
    finally:
        app.config["EXAM_PHOTO_ACCESS_DAYS"] = days
    assert client.get(f"/photos/{scene.key_a}").status_code == 200


def test_examiners_and_providers_never_and_officers_without_a_grant_see_nothing(app, scene) -> None:
    examiner = staff_of(app, Role.EXAMINER, scene.centre_a)
    assert examiner.get(f"/photos/{scene.key_a}").status_code == 403
    assert logged_in_client(app, Role.PROVIDER).get(f"/photos/{scene.key_a}").status_code == 403
    # Certifying officers will see the photos of applications they handle once certificates registers that grant.
    assert logged_in_client(app, Role.OFFICER).get(f"/photos/{scene.key_a}").status_code == 404
    assert app.test_client().get(f"/photos/{scene.key_a}").status_code == 302
    assert photo_views(app) == []


def test_a_grant_registered_by_a_higher_layer_opens_the_photo_for_its_purpose(app, scene) -> None:
    def handles(viewer: User, ref: str) -> bool:
        return viewer.role is Role.OFFICER and ref == scene.candidate_a_ref

    access.register_grant(app, "test_application", handles)
    try:
        officer = logged_in_client(app, Role.OFFICER)
        assert officer.get(f"/photos/{scene.key_a}").status_code == 200
        assert officer.get(f"/photos/{scene.key_b}").status_code == 404
    finally:
        del app.extensions[access.EXTENSION]["test_application"]
    assert [v["reason"] for v in photo_views(app)] == ["test_application"]


def test_administrators_see_a_photo_only_with_a_stated_reason(app, scene) -> None:
    admin = logged_in_client(app, Role.ADMIN)
    asked = admin.get(f"/photos/{scene.key_a}")
    assert asked.status_code == 200
    assert asked.mimetype == "text/html"
    assert "管理员查看人脸照片须说明理由" in text(asked)
    assert 'name="statement"' in text(asked)
    too_short = admin.get(f"/photos/{scene.key_a}", query_string={"statement": "看看"})
    assert too_short.mimetype == "text/html"
    assert photo_views(app) == []
    statement = "考生投诉入场核验结果，复核照片（工单2026-0031）"
    shown = admin.get(f"/photos/{scene.key_a}", query_string={"statement": statement})
    assert shown.status_code == 200
    assert shown.data[:3] == JPEG_MAGIC
    assert admin.get("/photos/" + "0" * 48, query_string={"statement": statement}).status_code == 404
    [view] = photo_views(app)
    assert view["reason"] == "admin"
    assert view["statement"] == statement


def test_the_person_sees_their_own_photo_and_nobody_elses(app, scene) -> None:
    own = client_of(app, scene.candidate_a_login)
    assert own.get(f"/photos/{scene.key_a}").status_code == 200
    assert own.get("/account/photo/image").data[:3] == JPEG_MAGIC
    assert own.get(f"/photos/{scene.key_b}").status_code == 404
    assert [v["reason"] for v in photo_views(app)] == ["self", "self"]


def test_each_photo_gets_its_own_random_key(app) -> None:
    with app.app_context():
        user = data.eligible()
        keys = {
            photos.store_photo(id_number=user.id_number, data=photo(GOOD), source=source).view_key
            for source in (PhotoSource.UPLOADED, PhotoSource.CHECKIN, PhotoSource.CHECKIN)
        }
        db.session.commit()
    assert len(keys) == 3
    assert all(len(key) == 48 and int(key, 16) >= 0 for key in keys)
