"""Rounds of review training (复审培训): a holder studies the same review course again for each review period; a
new round starts only on a completed review course, once however often the button is clicked, and counts only the
study that started in it (the lesson caps on the heartbeat path too); the record keeps every round, marked."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from opcert.access import Role
from opcert.accounts.models import User
from opcert.audit.models import AuditEvent
from opcert.db import utcnow
from opcert.errors import DomainError
from opcert.extensions import db as _db
from opcert.timeutil import local_today
from opcert.training import evidence, services, study
from opcert.training.models import CheckOutcome, Course, CoursePurpose, Enrolment, FaceCheck, LessonKind
from opcert.training.services import LessonDraft
from photos import services as photos
from tests.factories import PASSWORD, staff, trainee
from tests.fixtures.database import make_app, race
from tests.fixtures.web import login, submit, text
from tests.training import training_data as data
from tests.training.test_study import Page

CLICKS = 4
POOL = {"pool_pre_ping": True, "pool_size": 8, "max_overflow": 2, "pool_timeout": 60}
LESSON_CAP = 60 * 60 + 300  # a lesson's minutes plus STUDY_LESSON_MARGIN_SECONDS


@pytest.fixture(autouse=True)
def _no_random_checks(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TRAINING_FACE_CHECKS_PER_HOUR", 0)
    monkeypatch.setitem(app.config, "CERT_REVIEW_TRAINING_HOURS", 2)  # two-hour review courses keep the tests short


def _review_course(*, video: bool = False) -> Course:
    """A published review course of a 2-hour item: a 60-minute text lesson and 60 more (a 1-minute video first)."""
    item = data.small_item(theory_hours=1, review_hours=2)
    drafts = [data.text_draft(60, title="复审一"), data.text_draft(60, title="复审二")]
    if video:
        clip = LessonDraft(kind=LessonKind.VIDEO, title="视频", minutes=1, data=data.webm_bytes(seconds=61))
        drafts = [data.text_draft(60, title="复审一"), clip, data.text_draft(59, title="复审二")]
    return data.published_course(item, drafts=drafts, purpose=CoursePurpose.REVIEW)


def _holder(course: Course):
    """A trainee with face consent enrolled in the course a day ago (committed)."""
    learner = trainee()
    photos.record_consent(id_number=learner.id_number or "", recorded_by_id=None)
    enrolment = services.enrol(trainee=learner, item_id=course.item_id, on=local_today(), purpose=course.purpose)
    enrolment.enrolled_at = enrolment.counts_from = utcnow() - dt.timedelta(days=1)  # so a test may study "earlier"
    _db.session.commit()
    return learner


def _study(learner, lesson, now: dt.datetime, beats: int, played=None) -> tuple[int, Page]:
    """Study a lesson for `beats` heartbeats of 30 s from `now`, the stretch settled; the seconds credited."""
    page = Page(learner, lesson, now)
    credited = sum(page.beat(played=played(page.seq + 1) if played else None).credited for _ in range(beats))
    study.stop_study(trainee=learner, token=page.token, now=page.now)
    _db.session.commit()
    return credited, page


def _completed(course: Course, learner, now: dt.datetime) -> dt.datetime:
    """Study every lesson of the course to its cap from `now`; when the study ended."""
    for lesson in course.lessons:
        if lesson.kind is LessonKind.VIDEO:
            _credited, page = _study(learner, lesson, now, 3, played=lambda seq: [[(seq - 1) * 30, min(seq * 30, 61)]])
        else:
            _credited, page = _study(learner, lesson, now, LESSON_CAP // 30 + 4)
        now = page.now + dt.timedelta(minutes=1)
    return now


def _rounds_audited() -> int:
    query = sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "training.round_started")
    return int(_db.session.execute(query).scalar_one())


def test_a_new_round_credits_the_same_course_again_up_to_each_lessons_length(db) -> None:
    course = _review_course(video=True)
    learner = _holder(course)
    now = _completed(course, learner, utcnow())
    first = services.course_progress(trainee=learner, course=course)
    assert (first.counted, first.left) == (2 * 3600, 0)
    full, _page = _study(learner, course.lessons[0], now, 4)
    assert full == 0, "the lesson's cap holds within a round"

    assert services.start_new_round(trainee=learner, course=course, now=now + dt.timedelta(minutes=5)) is True
    db.session.commit()
    fresh = services.course_progress(trainee=learner, course=course)
    assert (fresh.counted, fresh.left, fresh.since) == (0, 2 * 3600, now + dt.timedelta(minutes=5))

    later = now + dt.timedelta(minutes=10)
    text_lesson, video = course.lessons[0], course.lessons[1]
    credited, page = _study(learner, text_lesson, later, LESSON_CAP // 30 + 4)
    assert credited == LESSON_CAP, "the heartbeat's lesson cap counts this round only: the whole length again"
    replay, page = _study(learner, video, page.now, 3, played=lambda seq: [[(seq - 1) * 30, min(seq * 30, 61)]])
    assert replay == 61, "the video's segments played in the first round play (and count) again"
    again = services.course_progress(trainee=learner, course=course)
    assert [p.counted for p in again.lessons] == [3600, 60, 0]
    assert again.left == 59 * 60
    assert services.counted_since(trainee=learner, course=course, since=later + dt.timedelta(hours=5)) == 0

    record = evidence.record_of(learner)
    assert record.credited_seconds == 2 * (LESSON_CAP + 61) + 59 * 60 + 300
    assert record.round_seconds == LESSON_CAP + 61
    assert [record.round_label(i) for i in record.intervals].count("本轮") == 2
    assert [record.round_label(i) for i in record.intervals].count("以往轮次") == 3


def test_hours_of_the_first_round_never_count_again(db) -> None:
    course = _review_course()
    learner = _holder(course)
    now = _completed(course, learner, utcnow())
    services.start_new_round(trainee=learner, course=course, now=now)
    db.session.commit()
    shortfall = services.course_progress(trainee=learner, course=course)
    assert shortfall.counted == 0
    before = now - dt.timedelta(days=400)
    assert services.counted_since(trainee=learner, course=course, since=before) == 0, "the round's start wins"
    assert services.round_start(learner, course) == now


def test_a_new_round_is_refused_before_completion_and_for_initial_training(db) -> None:
    course = _review_course()
    learner = _holder(course)
    started = services.round_start(learner, course)
    _study(learner, course.lessons[0], utcnow(), 20)
    with pytest.raises(DomainError, match="本轮复审培训尚未完成：要求2小时0分钟，已计入10分钟，还差1小时50分钟"):
        services.start_new_round(trainee=learner, course=course, now=utcnow() + dt.timedelta(hours=1))
    db.session.rollback()
    assert services.round_start(learner, course) == started
    assert services.course_progress(trainee=learner, course=course).may_start_new_round is False

    initial = data.published_course()
    data.enrolled(learner, initial)
    _completed(initial, learner, utcnow() + dt.timedelta(hours=2))
    assert services.course_progress(trainee=learner, course=initial).left == 0
    with pytest.raises(DomainError, match="只有复审培训课程可以开始新一轮学习"):
        services.start_new_round(trainee=learner, course=initial, now=utcnow() + dt.timedelta(hours=5))
    db.session.rollback()
    assert services.course_progress(trainee=learner, course=initial).may_start_new_round is False
    assert _rounds_audited() == 0


def test_a_new_round_is_refused_while_a_lesson_page_is_studying(db) -> None:
    course = _review_course()
    learner = _holder(course)
    now = _completed(course, learner, utcnow())
    page = Page(learner, course.lessons[0], now)
    page.beat()
    with pytest.raises(DomainError, match="请先关闭课时页面"):
        services.start_new_round(trainee=learner, course=course, now=page.now + dt.timedelta(seconds=5))


def test_clicks_sent_at_once_start_one_round(app: Flask, database_url: str) -> None:
    with app.app_context():
        course = _review_course()
        learner = _holder(course)
        now = _completed(course, learner, utcnow())
        course_id, learner_id = course.id, learner.id
    clicked = now + dt.timedelta(minutes=1)

    def click() -> bool:
        user, found = _db.session.get(User, learner_id), _db.session.get(Course, course_id)
        assert user is not None
        assert found is not None
        done = services.start_new_round(trainee=user, course=found, now=clicked)
        _db.session.commit()
        return done

    racers = make_app(database_url, SQLALCHEMY_ENGINE_OPTIONS=POOL, CERT_REVIEW_TRAINING_HOURS=2)
    results, errors = race(racers, CLICKS, click)
    assert errors == []
    assert sorted(results) == [False] * (CLICKS - 1) + [True], "the later clicks find the round already started"
    with app.app_context():
        enrolment = _db.session.execute(
            sa.select(Enrolment).where(Enrolment.trainee_id == learner_id, Enrolment.course_id == course_id)
        ).scalar_one()
        assert enrolment.counts_from == clicked
        assert _rounds_audited() == 1


def test_the_course_page_offers_a_new_round_once_the_review_course_is_complete(app: Flask) -> None:
    with app.app_context():
        course = _review_course()
        learner = _holder(course)
        course_id, account = course.id, learner.login_name
        manager = staff(Role.PROVIDER, org=course.provider)
        manager_account, learner_id = manager.login_name, learner.id
    client = app.test_client()
    assert login(client, account, PASSWORD).status_code == 302
    action = f"/training/courses/{course_id}/new-round"
    page = text(client.get("/training"))
    assert "本轮复审培训自" in page
    assert action not in page, "no button before the round is complete"
    refused = submit(client, action, page="/training", follow=True)
    assert "本轮复审培训尚未完成" in text(refused)
    with app.app_context():
        user = _db.session.get(User, learner_id)
        _completed(_db.session.get(Course, course_id), user, utcnow() - dt.timedelta(hours=3))
    page = text(client.get("/training"))
    assert f'action="{action}"' in page
    assert "开始新一轮复审培训" in page
    done = text(submit(client, action, page="/training", follow=True))
    assert "新一轮复审培训已开始" in done
    assert "已计入 0分钟，要求 2小时0分钟，还差 2小时0分钟" in done
    assert action not in done
    with app.app_context():
        assert _rounds_audited() == 1
    staff_client = app.test_client()
    assert login(staff_client, manager_account, PASSWORD).status_code == 302
    record = text(staff_client.get(f"/training/trainees/{learner_id}"))
    assert "以往轮次" in record
    assert "本轮已计入 0分钟" in record


def test_a_new_round_counts_its_own_face_checks(db) -> None:
    course = _review_course()
    learner = _holder(course)
    lesson = course.lessons[0]
    now = _completed(course, learner, utcnow())

    def check(at: dt.datetime, outcome: CheckOutcome) -> None:
        due = at + dt.timedelta(seconds=60)
        db.session.add(
            FaceCheck(trainee_id=learner.id, lesson_id=lesson.id, requested_at=at, due_by=due, outcome=outcome)
        )
        db.session.commit()

    check(now - dt.timedelta(hours=1), CheckOutcome.PASSED)
    check(now - dt.timedelta(minutes=30), CheckOutcome.ALTERNATIVE)
    assert services.course_progress(trainee=learner, course=course).face_checks_passed == 2
    assert services.start_new_round(trainee=learner, course=course, now=now) is True
    db.session.commit()
    assert services.course_progress(trainee=learner, course=course).face_checks_passed == 0, "the first round's"
    check(now + dt.timedelta(minutes=5), CheckOutcome.PASSED)
    check(now + dt.timedelta(minutes=6), CheckOutcome.FAILED)
    assert services.course_progress(trainee=learner, course=course).face_checks_passed == 1
