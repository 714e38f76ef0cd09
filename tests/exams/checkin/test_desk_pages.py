"""The check-in desk's pages: scan, the candidate's photo, a burst posted as files, decisions, refusals."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from exams.checkin import services
from exams.checkin.models import CheckInStatus
from exams.sessions.models import Booking
from exams.sessions.tickets import make_ticket_token
from opcert.audit.models import AuditEvent
from opcert.extensions import db
from tests.exams.checkin.checkin_data import candidate, centre_staff, today_session
from tests.exams.sessions import sessions_data
from tests.factories import PASSWORD
from tests.fixtures.web import csrf_token, login, text
from tests.photos.imagelib import capture_640x480, photo


@pytest.fixture
def setup(app):
    with app.app_context():
        where = sessions_data.centre()
        item = sessions_data.item()
        session = today_session(where, [item])
        booking = candidate(session, item, library="identities/deepface__dp01/2.jpg", name="张一")
        account = centre_staff(where).login_name
        token = make_ticket_token(booking.id, expires_at=session.ends_at)
        ids = session.id, booking.id
    client = app.test_client()
    assert login(client, account, PASSWORD).status_code == 302
    return client, ids[0], ids[1], token


def test_scan_then_capture_admits(app, setup) -> None:
    client, session_id, booking_id, token = setup
    page = f"/exams/sessions/{session_id}/checkin"
    response = client.post(page, data={"scanned": token, "csrf_token": csrf_token(client, page)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/checkin/{booking_id}")
    shown = text(client.get(response.headers["Location"]))
    assert "张一" in shown
    assert "/photos/" in shown
    assert 'id="capture-form"' in shown
    frames = [(io.BytesIO(capture_640x480("identities/deepface__dp01/5.jpg")), "frame0.jpg")]
    response = client.post(
        f"{page}/{booking_id}/face",
        data={"frames": frames, "csrf_token": csrf_token(client, f"{page}/{booking_id}")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert "已入场" in text(client.get(f"{page}/{booking_id}"))
    with app.app_context():
        assert services.admission(booking_id) is not None


def test_a_capture_without_a_face_is_refused_with_a_message(app, setup) -> None:
    client, session_id, booking_id, _token = setup
    page = f"/exams/sessions/{session_id}/checkin/{booking_id}"
    response = client.post(
        f"{page}/face",
        data={
            "frames": [(io.BytesIO(photo("noface/noface__coffee.jpg")), "f.jpg")],
            "csrf_token": csrf_token(client, page),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "画面中未检测到人脸" in text(response)
    with app.app_context():
        assert services.admission(booking_id) is None


def test_an_unknown_text_is_refused_on_the_field(app, setup) -> None:
    client, session_id, _booking_id, _token = setup
    page = f"/exams/sessions/{session_id}/checkin"
    response = client.post(page, data={"scanned": "nonsense", "csrf_token": csrf_token(client, page)})
    assert response.status_code == 200
    assert "没有找到" in text(response)


def test_a_no_match_is_decided_by_a_second_staff_members_password(app, setup) -> None:
    client, session_id, booking_id, _token = setup
    page = f"/exams/sessions/{session_id}/checkin/{booking_id}"
    frames = [(io.BytesIO(capture_640x480("identities/deepface__dp02/1.jpg")), "frame0.jpg")]  # another person
    response = client.post(
        f"{page}/face",
        data={"frames": frames, "csrf_token": csrf_token(client, page)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    action = re.search(r'action="(/exams/checkins/\d+/supervisor)"', text(client.get(page))).group(1)
    with app.app_context():
        boss = centre_staff(db.session.get(Booking, booking_id).session.centre).login_name
    decision = {"decision": "refuse", "reason": "不是本人", "supervisor_account": boss}
    refused = client.post(
        action, data={**decision, "supervisor_password": "wrong-password-1", "csrf_token": csrf_token(client, page)}
    )
    assert refused.status_code == 200
    assert "账号或密码错误" in text(refused)
    with app.app_context():  # the failed password is kept (throttle and audit), as for a refused login
        failed = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "login.failed")).scalars().all()
        assert len(failed) == 1
        assert services.session_checkins(session_id)[booking_id].status is CheckInStatus.SUPERVISOR
    token = csrf_token(client, page)
    done = client.post(action, data={**decision, "supervisor_password": PASSWORD, "csrf_token": token})
    assert done.status_code == 302
    assert "拒绝入场" in text(client.get(page))
    with app.app_context():
        stored = services.session_checkins(session_id)[booking_id]
        assert (stored.status, stored.reason) == (CheckInStatus.REFUSED, "不是本人")
        assert services.admission(booking_id) is None
