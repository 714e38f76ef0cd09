"""Providers put the lessons of a course being written in order: up, down or to a position, positions staying
1..n; a double click (two requests at once) moves the lesson once; the move is audited."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from flask import Flask

from opcert.audit.models import AuditEvent
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db as _db
from opcert.training import services
from opcert.training.models import Course, CoursePurpose, CourseStatus, Lesson
from tests.factories import PASSWORD
from tests.fixtures.database import make_app, race
from tests.fixtures.web import login, submit, text
from tests.training import training_data as data

CLICKS = 4
POOL = {"pool_pre_ping": True, "pool_size": 8, "max_overflow": 2, "pool_timeout": 60}


def _course_of_four(db) -> tuple[object, Course]:
    """A provider's draft course with four lessons 一 二 三 四 (committed)."""
    author = data.provider()
    item = data.small_item(theory_hours=4)
    course = services.create_course(
        author=author, item_id=item.id, purpose=CoursePurpose.INITIAL, title="课程", description=""
    )
    for title in "一二三四":
        services.add_lesson(course=course, draft=data.text_draft(60, title=title))
    db.session.commit()
    return author, course


def _order(course_id: int) -> list[tuple[int, str]]:
    rows = _db.session.execute(
        sa.select(Lesson.position, Lesson.title).where(Lesson.course_id == course_id).order_by(Lesson.position)
    )
    return [(position, title) for position, title in rows]


def test_a_lesson_moves_up_down_and_to_a_position_and_positions_stay_dense(db) -> None:
    _, course = _course_of_four(db)
    lessons = {lesson.title: lesson.id for lesson in course.lessons}
    assert services.move_lesson(course=course, lesson_id=lessons["三"], position=2) is True
    db.session.commit()
    assert _order(course.id) == [(1, "一"), (2, "三"), (3, "二"), (4, "四")]
    assert [lesson.title for lesson in course.lessons] == ["一", "三", "二", "四"], "the page shows the new order"
    services.move_lesson(course=course, lesson_id=lessons["一"], position=4)
    assert _order(course.id) == [(1, "三"), (2, "二"), (3, "四"), (4, "一")]
    services.move_lesson(course=course, lesson_id=lessons["二"], position=99)  # past the end: last
    assert _order(course.id) == [(1, "三"), (2, "四"), (3, "一"), (4, "二")]
    assert services.move_lesson(course=course, lesson_id=lessons["二"], position=4) is False, "already there"
    db.session.commit()
    moves = db.session.execute(
        sa.select(AuditEvent.details).where(AuditEvent.action == "training.lesson_moved").order_by(AuditEvent.id)
    ).scalars()
    moved = [json.loads(d) for d in moves]
    assert [(d["from_position"], d["to_position"]) for d in moved] == [(3, 2), (1, 4), (2, 4)]
    services.remove_lesson(course=course, lesson_id=lessons["四"])
    db.session.commit()
    assert _order(course.id) == [(1, "三"), (2, "一"), (3, "二")], "a removal keeps the positions dense"


def test_a_move_is_refused_once_submitted_or_for_another_course(db) -> None:
    _, course = _course_of_four(db)
    _, other = _course_of_four(db)
    with pytest.raises(NotFoundError):
        services.move_lesson(course=course, lesson_id=other.lessons[0].id, position=1)
    with pytest.raises(DomainError, match="1或以上"):
        services.move_lesson(course=course, lesson_id=course.lessons[1].id, position=0)
    services.submit_course(course=course)
    db.session.commit()
    with pytest.raises(DomainError, match="不能再修改"):
        services.move_lesson(course=course, lesson_id=course.lessons[1].id, position=1)
    db.session.rollback()
    assert [title for _, title in _order(course.id)] == ["一", "二", "三", "四"]


def _provider_client(app: Flask) -> tuple[object, int, dict[str, int]]:
    with app.app_context():
        author, course = _course_of_four(_db)
        account = (author.login_name, author.totp_secret)
        course_id, lessons = course.id, {lesson.title: lesson.id for lesson in course.lessons}
    client = app.test_client()
    assert login(client, account[0], PASSWORD, account[1]).status_code == 302
    return client, course_id, lessons


def test_the_course_page_moves_lessons_with_plain_form_posts(app: Flask) -> None:
    client, course_id, lessons = _provider_client(app)
    page = f"/training/courses/{course_id}"
    html = text(client.get(page))
    move = f"/training/courses/{course_id}/lessons/{lessons['二']}/move"
    assert f'action="{move}"' in html
    assert re.search(r'name="position" value="1"[^>]*aria-label="上移“二”"', html), "up sends the position above"
    assert "<script>" not in html
    done = submit(
        client, f"/training/courses/{course_id}/lessons/{lessons['四']}/move", {"position": "1"}, page=page, follow=True
    )
    assert "课时顺序已更新" in text(done)
    refused = submit(client, move, {"position": "abc"}, page=page, follow=True)
    assert refused.status_code == 200
    assert "课时位置" in text(refused)
    with app.app_context():
        assert [title for _, title in _order(course_id)] == ["四", "一", "二", "三"]
        assert (
            _db.session.execute(
                sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "training.lesson_moved")
            ).scalar_one()
            == 1
        )


def test_a_submitted_course_shows_no_move_buttons_and_refuses_a_move(app: Flask) -> None:
    client, course_id, lessons = _provider_client(app)
    with app.app_context():
        course = _db.session.get(Course, course_id)
        assert course is not None
        course.status = CourseStatus.SUBMITTED
        _db.session.commit()
    page = f"/training/courses/{course_id}"
    assert "/move" not in text(client.get(page))
    refused = submit(
        client, f"/training/courses/{course_id}/lessons/{lessons['二']}/move", {"position": "1"}, page=page, follow=True
    )
    assert "不能再修改" in text(refused)
    with app.app_context():
        assert [title for _, title in _order(course_id)] == ["一", "二", "三", "四"]


def test_clicks_sent_at_once_move_the_lesson_once(app: Flask, database_url: str) -> None:
    with app.app_context():
        _, course = _course_of_four(_db)
        course_id, moved = course.id, course.lessons[3].id

    def click() -> bool:
        # The "up" button of the last lesson sends position 3: every request of a double (or triple) click does.
        found = _db.session.get(Course, course_id)
        assert found is not None
        done = services.move_lesson(course=found, lesson_id=moved, position=3)
        _db.session.commit()
        return done

    results, errors = race(make_app(database_url, SQLALCHEMY_ENGINE_OPTIONS=POOL), CLICKS, click)
    assert errors == []
    assert sorted(results) == [False] * (CLICKS - 1) + [True], "the later requests find the lesson already there"
    with app.app_context():
        assert _order(course_id) == [(1, "一"), (2, "二"), (3, "四"), (4, "三")]
        assert (
            _db.session.execute(
                sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "training.lesson_moved")
            ).scalar_one()
            == 1
        )
