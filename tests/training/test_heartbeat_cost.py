"""Heartbeats are many: the usual one costs two statements on PostgreSQL (three on SQLite) and no audit row; a page
whose answer was lost can go on from the number the server holds (only the page holding the lease is told it)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from opcert.audit.models import AuditEvent
from opcert.db import utcnow
from opcert.errors import NotFoundError
from opcert.training import study
from opcert.training.models import CourseStatus, IntervalStatus, StudyInterval, StudyLease
from tests.training.test_study import Page, _setup


@pytest.fixture(autouse=True)
def _no_random_checks(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TRAINING_FACE_CHECKS_PER_HOUR", 0)


@pytest.fixture
def statements(db) -> Iterator[list[str]]:
    """The SQL statements the engine runs while the test runs (BEGIN/COMMIT/SAVEPOINT left out)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")):
            seen.append(statement.split(None, 1)[0].upper())

    sa.event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", record)


def test_a_usual_heartbeat_is_a_read_and_advance_then_the_interval(db, statements) -> None:
    learner, course = _setup(db)
    page = Page(learner, course.lessons[0], utcnow())
    assert page.beat().credited == 30  # opens the interval
    db.session.commit()
    audited = db.session.execute(sa.select(sa.func.count(AuditEvent.id))).scalar_one()
    assert page.beat().credited == 30  # (the commit expired the trainee: it is loaded again here)
    statements.clear()
    for _ in range(4):
        assert page.beat().credited == 30
    postgresql = db.engine.dialect.name == "postgresql"
    if postgresql:
        assert statements == ["WITH", "UPDATE"] * 4, "lesson+lease+used seconds with the lease's advance; the interval"
    else:
        assert statements == ["SELECT", "UPDATE", "UPDATE"] * 4, "lesson+lease+used seconds, the lease, the interval"
    statements.clear()
    assert page.beat(visible=False).credited == 0
    closing = ["WITH", "UPDATE"] if postgresql else ["SELECT", "UPDATE", "UPDATE"]
    assert statements == closing, "a step that credits nothing closes the interval"
    statements.clear()
    assert page.beat(visible=False).credited == 0
    assert statements == (["WITH"] if postgresql else ["SELECT", "UPDATE"]), "no interval open: the lease only"
    db.session.commit()
    assert db.session.execute(sa.select(sa.func.count(AuditEvent.id))).scalar_one() == audited, "no audit per beat"
    study.stop_study(trainee=learner, token=page.token, now=page.now + dt.timedelta(seconds=5))
    assert study.credit_provisional(trainee=learner, now=page.now) == 0  # stop credited the 150 s already


def test_a_page_whose_answer_was_lost_goes_on_from_the_servers_number(db) -> None:
    learner, course = _setup(db)
    page = Page(learner, course.lessons[0], utcnow())
    page.beat()
    page.beat()  # the server counted beat 2; say its answer never reached the page
    db.session.commit()
    page.seq = 1
    with pytest.raises(study.StudyRefusedError) as refused:
        page.beat()  # the page sends 2 again
    assert (refused.value.code, refused.value.seq) == ("replayed", 2)
    db.session.rollback()
    page.seq = refused.value.seq
    assert page.beat().credited == 40, "the next number counts: server time since beat 2 (60 s), capped at 40"


def test_only_the_page_holding_the_lease_learns_the_number(db) -> None:
    learner, course = _setup(db)
    page = Page(learner, course.lessons[0], utcnow())
    page.beat()
    with pytest.raises(study.StudyRefusedError) as refused:
        page.beat(token="0" * 32)
    assert (refused.value.code, refused.value.seq) == ("not_lease", None)


def test_the_refusal_answer_carries_the_number(app: Flask) -> None:
    from opcert.extensions import db
    from tests.factories import PASSWORD
    from tests.fixtures.web import login

    with app.app_context():
        learner, course = _setup(db)
        account, lesson_id = learner.login_name, course.lessons[0].id
    client = app.test_client()
    login(client, account, PASSWORD)
    page = client.get(f"/training/lessons/{lesson_id}").get_data(as_text=True)
    headers = {"X-CSRFToken": page.split('data-csrf="')[1].split('"')[0]}
    token = client.post(f"/training/lessons/{lesson_id}/start", json={}, headers=headers).get_json()["token"]
    body = {"token": token, "seq": 5, "visible": True, "active": True}
    answer = client.post(f"/training/lessons/{lesson_id}/beat", json=body, headers=headers)
    assert answer.status_code == 409
    assert answer.get_json()["code"] == "replayed"
    assert answer.get_json()["seq"] == 0


def test_a_heartbeat_forged_from_another_site_credits_nothing(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The heartbeat takes no CSRF token (docs/decisions/0006-heartbeat-forgery.md): its proof is the lease token
    that only the page holding the lease was given, in a JSON body. Another site's page can make the trainee's
    browser post with the trainee's cookie, but cannot know that token, nor send JSON without asking first."""
    from opcert.extensions import db
    from tests.factories import PASSWORD
    from tests.fixtures.web import login

    monkeypatch.setitem(app.config, "STUDY_HEARTBEAT_MIN_SECONDS", 0)
    with app.app_context():
        learner, course = _setup(db)
        account, lesson_id, learner_id = learner.login_name, course.lessons[0].id, learner.id
    client = app.test_client()
    login(client, account, PASSWORD)
    page = client.get(f"/training/lessons/{lesson_id}").get_data(as_text=True)
    headers = {"X-CSRFToken": page.split('data-csrf="')[1].split('"')[0]}
    assert client.post(f"/training/lessons/{lesson_id}/start", json={}).status_code == 400, "start takes CSRF"
    token = client.post(f"/training/lessons/{lesson_id}/start", json={}, headers=headers).get_json()["token"]
    url = f"/training/lessons/{lesson_id}/beat"
    guessed = client.post(url, json={"token": "0" * 32, "seq": 1, "visible": True, "active": True})
    assert (guessed.status_code, guessed.get_json()["code"]) == (409, "not_lease")
    body = {"token": token, "seq": 1, "visible": True, "active": True}
    as_form = client.post(url, data={key: str(value) for key, value in body.items()})
    as_text = client.post(url, data=json.dumps(body), content_type="text/plain")
    for refused in (as_form, as_text):  # what a cross-site form or a no-cors fetch can send
        assert (refused.status_code, refused.get_json()["code"]) == (400, "malformed")
    with app.app_context():
        lease = db.session.get(StudyLease, learner_id)
        assert lease is not None
        assert lease.seq == 0, "no forged heartbeat advanced the lease"
    own = client.post(url, json=body)
    assert own.status_code == 200, "the page's own beat needs only its token"
    assert own.get_json()["ok"] is True
    assert own.get_json()["lesson_text"] is None, "no whole second passed: the total and its text are unchanged"
    time.sleep(1.1)  # the server's clock must move a whole second for the next beat to credit
    credited = client.post(url, json=body | {"seq": 2}).get_json()
    assert credited["credited"] >= 1
    assert credited["lesson_text"] == "0分钟", "a beat that credits renews the page's text"


def test_the_answer_renews_the_lesson_text_only_when_the_total_changed(db) -> None:
    learner, course = _setup(db)
    page = Page(learner, course.lessons[0], utcnow())
    credited = page.beat()
    assert (credited.credited, credited.total_changed) == (30, True)
    hidden = page.beat(visible=False)
    assert (hidden.credited, hidden.recounted, hidden.total_changed) == (0, False, False)


def test_objects_loaded_before_a_beat_show_what_its_statements_wrote(db) -> None:
    """The usual beat writes with Core statements; objects this session loaded earlier are expired, not stale."""
    learner, course = _setup(db)
    page = Page(learner, course.lessons[0], utcnow())
    page.beat()
    lease = db.session.get(StudyLease, learner.id)
    interval = db.session.execute(sa.select(StudyInterval)).scalar_one()
    assert (lease.seq, interval.seconds) == (1, 30)
    page.beat()
    page.beat()
    assert (lease.seq, lease.last_beat_at) == (3, page.now)
    assert (interval.seconds, interval.beats, interval.ended_at) == (90, 3, page.now)


def test_a_step_whose_interval_was_closed_meanwhile_starts_a_new_one(db) -> None:
    learner, course = _setup(db)
    page = Page(learner, course.lessons[0], utcnow())
    page.beat()
    page.beat()
    db.session.commit()
    first = db.session.execute(sa.select(StudyInterval)).scalar_one()
    assert (first.seconds, first.beats) == (60, 2)
    # Closed by another request after this step read the lease (which still names it).
    db.session.execute(
        sa.update(StudyInterval).where(StudyInterval.id == first.id).values(status=IntervalStatus.DISCARDED)
    )
    assert page.beat().credited == 30
    db.session.commit()
    intervals = db.session.execute(sa.select(StudyInterval).order_by(StudyInterval.id)).scalars().all()
    assert [(i.status, i.seconds, i.beats) for i in intervals] == [
        (IntervalStatus.DISCARDED, 60, 2),
        (IntervalStatus.PROVISIONAL, 30, 1),
    ], "the closed interval is left alone; the lease advanced once and the new interval holds the step"
    assert study.heartbeat(
        trainee=learner, lesson_id=course.lessons[0].id, token=page.token, seq=page.seq + 1, visible=True,
        active=True, played=[], now=page.now + dt.timedelta(seconds=30),
    ).credited == 30  # fmt: skip
    db.session.commit()
    db.session.refresh(intervals[1])
    assert (intervals[1].seconds, intervals[1].ended_at) == (60, page.now + dt.timedelta(seconds=30))


def test_a_refused_heartbeat_leaves_the_lease_as_it_was_even_if_the_caller_commits(db) -> None:
    """On PostgreSQL the lease advances in the heartbeat's read: it must not when the beat is then refused."""
    learner, course = _setup(db, video=True)
    text, video = course.lessons[1], course.lessons[0]

    def lease() -> tuple[int, dt.datetime | None]:
        row = db.session.get(StudyLease, learner.id, populate_existing=True)
        assert row is not None
        return row.seq, row.last_beat_at

    page = Page(learner, text, utcnow())
    assert page.beat().credited == 30
    db.session.commit()
    before = lease()
    course.status = CourseStatus.RETURNED  # the course is withdrawn while the page is open
    db.session.commit()
    with pytest.raises(NotFoundError):
        page.beat()
    db.session.commit()
    assert lease() == before, "a lesson the read does not find advances nothing"
    course.status = CourseStatus.PUBLISHED
    db.session.commit()
    page.seq -= 1
    assert page.beat().credited == 40, "the same number counts once the course is back (60 s, capped at 40)"

    study.stop_study(trainee=learner, token=page.token, now=page.now)
    watching = Page(learner, video, page.now)
    assert watching.beat(played=[[0, 29.5]]).credited == 29
    db.session.commit()
    before = lease()
    with pytest.raises(study.StudyRefusedError):
        watching.beat(played=[[0, 5000]])
    db.session.commit()
    assert lease() == before, "malformed video segments advance nothing"
    watching.seq -= 1
    assert watching.beat(played=[[30, 58]]).credited == 28
