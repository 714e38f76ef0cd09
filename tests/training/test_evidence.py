"""Evidence: staff see every credited interval and face check, export CSV, PDF and xAPI (server durations),
approve the alternative check; captures are shown only under photos' grants and survive the photo purge while the
training record needs them."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from opcert.access import Role
from opcert.db import utcnow
from opcert.extensions import db as _db
from opcert.training import evidence, study
from opcert.training.models import IntervalStatus
from photos import services as photos
from photos.models import FaceDecision, Photo
from tests.factories import PASSWORD, staff
from tests.fixtures.web import login, submit, text
from tests.photos.imagelib import capture_640x480
from tests.training import training_data as data
from tests.training.test_face_checks import OWN, Study
from tests.training.test_study import Page


@pytest.fixture(autouse=True)
def _one_check_per_hour(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TRAINING_FACE_CHECKS_PER_HOUR", 1)


def _studied(db) -> Study:
    run = Study(db)
    run.beat()
    run.beat()
    assert run.answer(capture_640x480(OWN)) is True
    db.session.commit()
    return run


def test_the_record_and_its_exports_hold_the_servers_durations(app: Flask, db) -> None:
    run = _studied(db)
    record = evidence.record_of(run.learner)
    assert record.credited_seconds == 60
    assert [row.check.outcome.value for row in record.checks] == ["passed"]
    assert record.checks[0].capture_key
    with app.test_request_context():
        statements = evidence.xapi_statements(run.learner)
        csv_text = evidence.evidence_csv(run.learner)
        pdf = evidence.evidence_pdf(run.learner)
    assert [s["result"]["duration"] for s in statements] == ["PT60S"]
    assert statements[0]["verb"]["id"] == evidence.XAPI_VERB
    assert "interval" in csv_text
    assert ",60,credited," in csv_text
    assert "face_check" in csv_text
    assert pdf.startswith(b"%PDF-")


def test_captures_are_for_staff_allowed_to_see_photos(app: Flask, db) -> None:
    run = _studied(db)
    key = evidence.record_of(run.learner).checks[0].capture_key or ""
    own_provider = staff(Role.PROVIDER, org=run.course.provider)
    stranger = data.provider()
    assert photos.view_photo(key=key, viewer=own_provider)[:2] == b"\xff\xd8"
    with pytest.raises(Exception, match="照片不存在"):
        photos.view_photo(key=key, viewer=stranger)
    from opcert.errors import NotFoundError

    with pytest.raises(NotFoundError):
        evidence.trainee_for_staff(viewer=stranger, trainee_id=run.learner.id)


def test_purge_keeps_the_captures_training_still_needs(app: Flask, db) -> None:
    run = _studied(db)
    decision_id = evidence.record_of(run.learner).checks[0].check.decision_id
    later = run.now + dt.timedelta(days=365 * 4)
    assert photos.purge_expired(now=later) == {"captures": 0, "decisions": 0}
    db.session.commit()
    decision = db.session.get(FaceDecision, decision_id)
    assert decision is not None
    assert db.session.get(Photo, decision.probe_photo_id) is not None
    app.config["TRAINING_RECORD_RETENTION_YEARS"] = 3
    try:
        assert photos.purge_expired(now=later) == {"captures": 1, "decisions": 1}
    finally:
        app.config["TRAINING_RECORD_RETENTION_YEARS"] = 6


def test_staff_approve_the_alternative_check_for_trainees_without_face_consent(app: Flask, db) -> None:
    course = data.published_course()
    from tests.factories import trainee

    learner = trainee()
    data.enrolled(learner, course)
    page = Page(learner, course.lessons[0], utcnow())
    assert page.beat().credited == 30
    study.stop_study(trainee=learner, token=page.token, now=page.now)
    assert evidence.record_of(learner).intervals[0].status is IntervalStatus.AWAITING_ALTERNATIVE
    officer = staff(Role.PROVIDER, org=course.provider)
    from opcert.errors import DomainError

    with pytest.raises(DomainError, match="写明"):
        evidence.approve_alternative(staff=officer, trainee=learner, note="")
    assert evidence.approve_alternative(staff=officer, trainee=learner, note="现场核对居民身份证") == 30
    record = evidence.record_of(learner)
    assert record.credited_seconds == 30
    assert record.checks[-1].check.outcome.value == "alternative"


def test_staff_pages_show_the_record_and_exports(app: Flask) -> None:
    with app.app_context():
        run = _studied(_db)
        provider = staff(Role.PROVIDER, org=run.course.provider)
        account, trainee_id = provider.login_name, run.learner.id
    client = app.test_client()
    assert login(client, account, PASSWORD).status_code == 302
    page = text(client.get(f"/training/trainees/{trainee_id}"))
    assert "已计入 1分钟" in page
    assert "本轮已计入" not in page  # one round only: the review-round line would only puzzle
    assert "查看抓拍" in page
    assert client.get(f"/training/trainees/{trainee_id}/record.csv").mimetype == "text/csv"
    assert client.get(f"/training/trainees/{trainee_id}/record.pdf").data.startswith(b"%PDF-")
    assert client.get(f"/training/trainees/{trainee_id}/xapi.json").get_json()[0]["result"]["duration"] == "PT60S"
    refused = submit(client, f"/training/trainees/{trainee_id}/clear-flag", page=f"/training/trainees/{trainee_id}")
    assert refused.status_code == 302
