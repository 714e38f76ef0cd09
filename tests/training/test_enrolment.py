"""Enrolment: the booking basics (item offered, age) and a published course; the home page shows the trainee
where they are."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from opcert.errors import DomainError
from opcert.timeutil import local_today
from opcert.training import services
from opcert.training.models import CoursePurpose
from tests.factories import PASSWORD, id_number, trainee
from tests.fixtures.web import login, submit, text
from tests.training import training_data as data


def test_enrolment_needs_an_offered_item_the_age_and_a_published_course(db) -> None:
    course = data.published_course()
    retired = trainee(number=id_number(dt.date(1960, 5, 1), male=True))
    with pytest.raises(DomainError, match="法定退休年龄"):
        services.enrol(trainee=retired, item_id=course.item_id, on=local_today())
    course.item.offered = False
    with pytest.raises(DomainError, match="不开考"):
        services.enrol(trainee=trainee(), item_id=course.item_id, on=local_today())
    bare = data.small_item()
    with pytest.raises(DomainError, match="暂无已发布的培训课程"):
        services.enrol(trainee=trainee(), item_id=bare.id, on=local_today())


def test_enrolling_twice_keeps_one_enrolment(db) -> None:
    course = data.published_course()
    learner = trainee()
    first = services.enrol(trainee=learner, item_id=course.item_id, on=local_today())
    again = services.enrol(trainee=learner, item_id=course.item_id, on=local_today())
    assert first.id == again.id
    assert len(services.enrolments(learner)) == 1


def test_trainee_enrols_and_the_home_page_shows_the_hours_left(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TRAINING_REQUIRED", True)
    with app.app_context():
        course = data.published_course()
        learner = trainee()
        account, item_id, lesson_id = learner.login_name, course.item_id, course.lessons[0].id
    client = app.test_client()
    login(client, account, PASSWORD)
    home = text(client.get("/"))
    assert "在线培训" in home
    assert "去报名" in home
    answer = submit(client, "/training/enrol", {"item_id": item_id}, page="/training", follow=True)
    assert "报名成功" in text(answer)
    assert f"/training/lessons/{lesson_id}" in text(answer)
    home = text(client.get("/"))
    assert "已计入0分钟，要求1小时0分钟，还差1小时0分钟" in home
    lesson_page = client.get(f"/training/lessons/{lesson_id}")
    assert lesson_page.status_code == 200
    assert "study.js" in text(lesson_page)


def test_the_training_page_offers_only_initial_training_not_yet_enrolled(db) -> None:
    course = data.published_course()
    review_only = data.published_course(data.small_item(), purpose=CoursePurpose.REVIEW)
    other = data.published_course(data.small_item())
    learner = trainee()
    offered = {item.id for item in services.items_to_enrol(learner)}
    assert {course.item_id, other.item_id} <= offered
    assert review_only.item_id not in offered, "review training is enrolled from the renewal page, not here"
    services.enrol(trainee=learner, item_id=course.item_id, on=local_today())
    db.session.commit()
    left = {item.id for item in services.items_to_enrol(learner)}
    assert course.item_id not in left, "already enrolled: the page does not offer it again"
    assert other.item_id in left
    assert all(any(c.purpose is CoursePurpose.INITIAL for c in services.published_courses(i))
               for i in services.items_to_enrol(learner)), "every choice has an initial course"  # fmt: skip
