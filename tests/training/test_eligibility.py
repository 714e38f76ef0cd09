"""Exam eligibility asks training: required hours reached and face checks in order, or exactly what is missing."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from exams.sessions import bookings
from exams.sessions.eligibility import IneligibleError, eligibility_problems
from opcert.db import utcnow
from opcert.timeutil import local_today
from opcert.training import study
from opcert.training.models import StudyFlag
from opcert.training.services import training_shortfall
from photos import services as photos
from tests.exams.sessions import sessions_data
from tests.training import training_data as data


@pytest.fixture(autouse=True)
def _training_required(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TRAINING_REQUIRED", True)
    monkeypatch.setitem(app.config, "TRAINING_FACE_CHECKS_PER_HOUR", 0)


def study_for(learner, lesson, seconds: int, start: dt.datetime) -> dt.datetime:
    """Study a lesson through the real heartbeat service for `seconds` of server time; the stretch is settled."""
    token = study.start_study(trainee=learner, lesson_id=lesson.id, now=start).token or ""
    now = start
    for seq in range(1, seconds // 30 + 1):
        now += dt.timedelta(seconds=30)
        study.heartbeat(
            trainee=learner, lesson_id=lesson.id, token=token, seq=seq, visible=True, active=True, played=[], now=now
        )
    study.stop_study(trainee=learner, token=token, now=now)
    return now


def test_booking_needs_the_training_hours(db) -> None:
    course = data.published_course()
    learner = sessions_data.eligible()
    photos.record_consent(id_number=learner.id_number or "", recorded_by_id=None)
    session = sessions_data.session(sessions_data.centre(), [course.item])
    day = bookings.exam_day(session)
    assert training_shortfall(learner, course.item, day) == [
        f"尚未报名“{course.item.name}”的培训课程：请先在“在线培训”报名并完成学习。"
    ]
    data.enrolled(learner, course)
    study_for(learner, course.lessons[0], 20 * 60, utcnow())
    db.session.commit()
    short = training_shortfall(learner, course.item, day)
    assert short == [f"“{course.item.name}”培训学时不足：要求1小时0分钟，已计入20分钟，还差40分钟。"]
    with pytest.raises(IneligibleError, match="还差40分钟"):
        bookings.book_seat(trainee=learner, session_id=session.id, item_id=course.item_id)
    db.session.rollback()
    study_for(learner, course.lessons[0], 40 * 60, utcnow() + dt.timedelta(hours=1))
    db.session.commit()
    assert training_shortfall(learner, course.item, day) == []
    assert eligibility_problems(trainee=learner, item=course.item, exam_day=day) == []
    booking = bookings.book_seat(trainee=learner, session_id=session.id, item_id=course.item_id)
    assert booking.seat_label


def test_a_flagged_account_cannot_book_until_reviewed(db) -> None:
    course = data.published_course()
    learner = sessions_data.eligible()
    photos.record_consent(id_number=learner.id_number or "", recorded_by_id=None)
    data.enrolled(learner, course)
    study_for(learner, course.lessons[0], 60 * 60, utcnow())
    db.session.add(StudyFlag(trainee_id=learner.id, failures=3))
    db.session.commit()
    problems = training_shortfall(learner, course.item, local_today())
    assert problems == ["学习期间人脸核验多次未通过，账号待培训机构或管理员复核，复核前不能预约考试。"]


def test_the_setting_turns_the_check_off(app: Flask, db, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "TRAINING_REQUIRED", False)
    item = data.small_item()
    learner = sessions_data.eligible()
    assert eligibility_problems(trainee=learner, item=item, exam_day=local_today() + dt.timedelta(days=10)) == []
