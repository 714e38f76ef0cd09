"""Study hours on the server's clock: every way of gaming it credits nothing extra."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from opcert.audit.models import AuditEvent
from opcert.db import utcnow
from opcert.errors import NotFoundError
from opcert.training import services, study
from opcert.training.models import IntervalStatus, LessonKind, StudyInterval
from opcert.training.services import LessonDraft
from photos import services as photos
from tests.factories import trainee
from tests.training import training_data as data

BEAT = dt.timedelta(seconds=30)


@pytest.fixture(autouse=True)
def _no_random_checks(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Face checks are tested in test_face_checks.py; here time is settled when a stretch ends."""
    monkeypatch.setitem(app.config, "TRAINING_FACE_CHECKS_PER_HOUR", 0)


class Page:
    """One lesson page: its lease token and heartbeat numbers; time moves only when the test says."""

    def __init__(self, learner, lesson, now: dt.datetime) -> None:
        self.learner, self.lesson, self.now = learner, lesson, now
        self.token = study.start_study(trainee=learner, lesson_id=lesson.id, now=now).token or ""
        self.seq = 0

    def beat(self, *, after: dt.timedelta = BEAT, visible: bool = True, active: bool = True, played=None, **kw):
        self.now += after
        self.seq += 1
        return study.heartbeat(
            trainee=self.learner,
            lesson_id=kw.get("lesson_id", self.lesson.id),
            token=kw.get("token", self.token),
            seq=kw.get("seq", self.seq),
            visible=visible,
            active=active,
            played=played or [],
            now=self.now,
        )


def _setup(db, *, minutes: int = 60, video: bool = False, consent: bool = True):
    drafts = [data.text_draft(minutes)]
    if video:
        clip = data.webm_bytes(seconds=61)
        drafts = [LessonDraft(kind=LessonKind.VIDEO, title="视频", minutes=1, data=clip), data.text_draft(minutes - 1)]
    course = data.published_course(data.small_item(theory_hours=minutes // 60 or 1), drafts=drafts)
    learner = trainee()
    if consent:
        photos.record_consent(id_number=learner.id_number or "", recorded_by_id=None)
    data.enrolled(learner, course)
    return learner, course


def _credited(db, learner) -> int:
    rows = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(StudyInterval.seconds), 0)).where(
            StudyInterval.trainee_id == learner.id, StudyInterval.status == IntervalStatus.CREDITED
        )
    )
    return int(rows.scalar_one())


def test_server_time_between_heartbeats_is_credited_and_aggregated(db) -> None:
    learner, course = _setup(db)
    page = Page(learner, course.lessons[0], utcnow())
    results = [page.beat() for _ in range(10)]
    assert [r.credited for r in results] == [30] * 10
    intervals = db.session.execute(sa.select(StudyInterval)).scalars().all()
    assert len(intervals) == 1
    assert intervals[0].seconds == 300
    assert intervals[0].beats == 10
    study.stop_study(trainee=learner, token=page.token, now=page.now)
    assert _credited(db, learner) == 300
    actions = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
    assert actions.count("training.interval_credited") == 1, "one audit row per interval, not per heartbeat"


def test_each_heartbeat_is_capped_and_a_long_silence_stops_the_clock(db) -> None:
    learner, course = _setup(db)
    page = Page(learner, course.lessons[0], utcnow())
    assert page.beat(after=dt.timedelta(seconds=60)).credited == 40
    stopped = page.beat(after=dt.timedelta(minutes=10))
    assert stopped.credited == 0
    assert "中断" in stopped.reason
    assert page.beat().credited == 30


def test_hidden_or_idle_pages_credit_nothing(db) -> None:
    learner, course = _setup(db)
    page = Page(learner, course.lessons[0], utcnow())
    assert page.beat(visible=False).credited == 0
    assert page.beat(active=False).credited == 0
    assert page.beat().credited == 30


def test_forged_heartbeats_credit_nothing(db) -> None:
    learner, course = _setup(db)
    lesson = course.lessons[0]
    page = Page(learner, lesson, utcnow())
    other_course = data.published_course()
    with pytest.raises(NotFoundError):  # a lesson the trainee is not enrolled in
        page.beat(lesson_id=other_course.lessons[0].id)
    with pytest.raises(NotFoundError):  # no such lesson
        page.beat(lesson_id=10_000)
    with pytest.raises(study.StudyRefusedError) as forged:
        page.beat(token="0" * 32)
    assert forged.value.code == "not_lease"
    someone = trainee()
    data.enrolled(someone, course)
    with pytest.raises(study.StudyRefusedError):  # another user's lease token
        study.heartbeat(
            trainee=someone,
            lesson_id=lesson.id,
            token=page.token,
            seq=1,
            visible=True,
            active=True,
            played=[],
            now=page.now + BEAT,
        )
    assert db.session.execute(sa.select(sa.func.count(StudyInterval.id))).scalar_one() == 0


def test_replayed_and_too_frequent_heartbeats_credit_nothing(db) -> None:
    learner, course = _setup(db)
    page = Page(learner, course.lessons[0], utcnow())
    assert page.beat().credited == 30
    with pytest.raises(study.StudyRefusedError) as replay:
        page.beat(seq=1, after=dt.timedelta(0))
    assert replay.value.code == "replayed"
    page.seq = 1
    with pytest.raises(study.StudyRefusedError) as rushed:
        page.beat(after=dt.timedelta(seconds=5))
    assert rushed.value.code == "too_frequent"
    page.seq = 1
    assert page.beat(after=dt.timedelta(seconds=25)).credited == 30, "refused beats do not move the clock"
    with pytest.raises(study.StudyRefusedError):
        page.beat(seq=99)


def test_two_tabs_or_two_devices_never_study_at_once(db) -> None:
    learner, course = _setup(db)
    lesson = course.lessons[0]
    now = utcnow()
    first = Page(learner, lesson, now)
    with pytest.raises(study.StudyRefusedError) as busy:
        Page(learner, lesson, now + dt.timedelta(seconds=10))
    assert busy.value.code == "busy"
    first.beat()
    # The other device waits until the first page's heartbeats stop, then takes over; the first page is out.
    second = Page(learner, lesson, first.now + dt.timedelta(minutes=3))
    with pytest.raises(study.StudyRefusedError):
        first.beat(after=dt.timedelta(minutes=3, seconds=30))
    assert second.beat().credited == 30
    assert _credited(db, learner) == 30, "the first page's stretch was settled when the second took over"


def test_a_lesson_never_collects_more_than_its_length_plus_margin(app: Flask, db, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "STUDY_LESSON_MARGIN_SECONDS", 60)
    learner, course = _setup(db)
    page = Page(learner, course.lessons[0], utcnow())
    total = sum(page.beat().credited for _ in range(130))
    assert total == 60 * 60 + 60
    study.stop_study(trainee=learner, token=page.token, now=page.now)
    assert services.course_progress(trainee=learner, course=course).left == 0


def test_the_daily_cap_holds_across_lessons(app: Flask, db, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "STUDY_DAILY_CAP_MINUTES", 5)
    learner, course = _setup(db)
    start = dt.datetime.now(dt.UTC).replace(hour=17, minute=0, second=0, microsecond=0)  # 01:00 in Shanghai
    page = Page(learner, course.lessons[0], start)
    total = sum(page.beat().credited for _ in range(20))
    assert total == 300
    assert "今日学时已达上限" in page.beat().reason


def test_video_credits_only_segments_played_at_normal_speed(db) -> None:
    learner, course = _setup(db, video=True)
    video = course.lessons[0]
    page = Page(learner, video, utcnow())
    assert page.beat(played=[[0, 29.5]]).credited == 29
    seek = page.beat(played=[[59, 60.5]])  # seeking to the end plays a second or two
    assert seek.credited == 1
    fast = page.beat(played=[[30, 58]], after=dt.timedelta(seconds=20))  # 28 s of video in 20 s: 1.4x
    assert fast.credited == 0
    assert "倍速" in fast.reason
    again = page.beat(played=[[0, 29.5]])  # watching the same part again
    assert again.credited == 0
    with pytest.raises(study.StudyRefusedError):
        page.beat(played=[[0, 5000]])
    page.seq -= 1
    with pytest.raises(study.StudyRefusedError):
        page.beat(played="0-60")
    page.seq -= 1
    assert page.beat(played=[[30, 58]]).credited == 28
    study.stop_study(trainee=learner, token=page.token, now=page.now)
    assert sum(p.counted for p in services.course_progress(trainee=learner, course=course).lessons[:1]) == 58


def test_client_durations_and_clocks_change_nothing(app: Flask) -> None:
    """Through the real endpoint: whatever times the browser sends, the server counts by its own clock."""
    from tests.factories import PASSWORD
    from tests.fixtures.web import login

    with app.app_context():
        learner, course = _setup(__import__("opcert.extensions", fromlist=["db"]).db)
        account, lesson_id = learner.login_name, course.lessons[0].id
    client = app.test_client()
    login(client, account, PASSWORD)
    page = client.get(f"/training/lessons/{lesson_id}").get_data(as_text=True)
    token = page.split('data-csrf="')[1].split('"')[0]
    headers = {"X-CSRFToken": token}
    started = client.post(f"/training/lessons/{lesson_id}/start", json={}, headers=headers).get_json()
    assert started["ok"] is True
    forged = {
        "token": started["token"],
        "seq": 1,
        "visible": True,
        "active": True,
        "duration": 3600,
        "client_time": "2099-01-01T00:00:00Z",
        "elapsed": 3600,
    }
    answer = client.post(f"/training/lessons/{lesson_id}/beat", json=forged, headers=headers)
    assert answer.status_code == 409, "a beat right after the start is too frequent, whatever the client says"
    assert answer.get_json()["code"] == "too_frequent"
    junk = client.post(f"/training/lessons/{lesson_id}/beat", json={"token": 5, "seq": "x"}, headers=headers)
    assert junk.status_code == 400
    with app.app_context():
        from opcert.extensions import db

        assert db.session.execute(sa.select(sa.func.count(StudyInterval.id))).scalar_one() == 0


def test_without_face_consent_hours_wait_for_a_staff_check(db) -> None:
    learner, course = _setup(db, consent=False)
    page = Page(learner, course.lessons[0], utcnow())
    assert page.beat().credited == 30
    study.stop_study(trainee=learner, token=page.token, now=page.now)
    assert _credited(db, learner) == 0
    problems = services.training_shortfall(learner, course.item, page.now.date())
    assert any("人工核验" in p for p in problems)


def test_the_settle_command_credits_stretches_whose_heartbeats_stopped(app: Flask, db, runner) -> None:
    learner, course = _setup(db)
    page = Page(learner, course.lessons[0], utcnow() - dt.timedelta(minutes=10))
    page.beat()
    page.beat()
    db.session.commit()
    result = runner.invoke(args=["training", "settle"])
    assert result.exit_code == 0, result.output
    assert "checked 1 lease(s)" in result.output
    db.session.expire_all()
    assert _credited(db, learner) == 60
