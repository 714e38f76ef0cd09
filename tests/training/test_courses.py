"""Courses and lessons: providers write them within the syllabus hours, administrators publish; files are checked
and served with range requests."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

from opcert.access import Role
from opcert.audit.models import AuditEvent
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db as _db
from opcert.timeutil import local_today
from opcert.training import media, services
from opcert.training.models import CoursePurpose, CourseStatus, LessonKind
from opcert.training.richtext import sanitise_html
from opcert.training.services import LessonDraft
from tests.factories import PASSWORD, staff, trainee
from tests.fixtures.web import login, submit, text
from tests.training import training_data as data


def _course(db, item=None, purpose=CoursePurpose.INITIAL):
    author = data.provider()
    item = item or data.small_item()
    course = services.create_course(author=author, item_id=item.id, purpose=purpose, title="课程", description="")
    db.session.commit()
    return author, course


def test_lessons_fill_the_syllabus_hours_and_no_more(db) -> None:
    _, course = _course(db, data.small_item(theory_hours=2))
    services.add_lesson(course=course, draft=data.text_draft(90))
    with pytest.raises(DomainError, match="超出大纲学时") as refused:
        services.add_lesson(course=course, draft=data.text_draft(31))
    assert "还可安排30分钟" in refused.value.message
    with pytest.raises(DomainError, match="未达到"):
        services.submit_course(course=course)
    services.add_lesson(course=course, draft=data.text_draft(30))
    services.submit_course(course=course)
    assert course.status is CourseStatus.SUBMITTED
    with pytest.raises(DomainError, match="不能再修改"):
        services.add_lesson(course=course, draft=data.text_draft(1))


def test_review_course_needs_at_least_the_review_hours(db) -> None:
    _, course = _course(db, data.small_item(review_hours=8), purpose=CoursePurpose.REVIEW)
    assert services.required_minutes(course.item, CoursePurpose.REVIEW) == 8 * 60
    services.add_lesson(course=course, draft=data.text_draft(8 * 60))
    services.submit_course(course=course)
    services.review_course(course=course, approve=True, note="")
    assert course.status is CourseStatus.PUBLISHED


def test_text_is_sanitised() -> None:
    dirty = (
        '<p onclick="x()">安全<script>alert(1)</script><a href="javascript:evil()">链接</a><img src=x onerror=y></p>'
    )
    clean = sanitise_html(dirty)
    assert clean == "<p>安全<a>链接</a></p>"
    assert sanitise_html("<ul><li>一<li>二</ul><b>未闭合") == "<ul><li>一<li>二</li></li></ul><b>未闭合</b>"
    assert sanitise_html('<a href="https://example.org/x?a=1&b=2">x</a>').startswith('<a href="https://example.org')


def test_pdf_lessons_must_be_real_pdfs(db) -> None:
    _, course = _course(db)
    good = LessonDraft(kind=LessonKind.PDF, title="讲义", minutes=10, data=data.pdf_bytes(), file_name="h.pdf")
    lesson = services.add_lesson(course=course, draft=good)
    assert media.STORE.path_for(lesson.file_key or "").read_bytes()[:5] == b"%PDF-"
    for fake in (b"%PDF-1.4\nnot really a pdf", data.png_bytes(), data.pdf_bytes()[:-200]):
        bad = LessonDraft(kind=LessonKind.PDF, title="假讲义", minutes=10, data=fake, file_name="x.pdf")
        with pytest.raises(DomainError, match="不是有效的 PDF"):
            services.add_lesson(course=course, draft=bad)
    assert len(course.lessons) == 1


def test_video_lessons_are_measured_by_the_server(db) -> None:
    _, course = _course(db)
    video = data.webm_bytes(seconds=61)
    lesson = services.add_lesson(
        course=course, draft=LessonDraft(kind=LessonKind.VIDEO, title="视频", minutes=1, data=video, file_name="v.webm")
    )
    assert 60 <= lesson.video_seconds <= 62
    too_long = LessonDraft(kind=LessonKind.VIDEO, title="视频", minutes=2, data=video, file_name="v.webm")
    with pytest.raises(DomainError, match="不能超过视频长度"):
        services.add_lesson(course=course, draft=too_long)
    for fake in (data.png_bytes(), b"\x1a\x45\xdf\xa3" + b"\0" * 100):
        with pytest.raises(DomainError, match="视频"):
            services.add_lesson(
                course=course, draft=LessonDraft(kind=LessonKind.VIDEO, title="坏", minutes=1, data=fake)
            )
    assert len(course.lessons) == 1


def test_providers_see_only_their_own_courses(db) -> None:
    author, course = _course(db)
    other = data.provider()
    with pytest.raises(NotFoundError):
        services.visible_course(viewer=other, course_id=course.id)
    assert services.visible_course(viewer=author, course_id=course.id) is course
    assert services.list_courses(viewer=other) == []


def _login(app: Flask, account: tuple[str, str | None]) -> object:
    client = app.test_client()
    assert login(client, account[0], PASSWORD, account[1]).status_code == 302
    return client


def account(user) -> tuple[str, str | None]:
    """What logging in as the user takes (read while the user is bound to a session)."""
    return user.login_name, user.totp_secret


def test_provider_writes_and_admin_publishes_through_the_pages(app: Flask) -> None:
    with app.app_context():
        author, admin, item = account(data.provider()), account(staff(Role.ADMIN)), data.small_item().id
    client = _login(app, author)
    page = "/training/courses/new"
    answer = submit(client, page, {"item_id": item, "purpose": "initial", "title": "低压电工"}, page=page)
    assert answer.status_code == 302
    course_url = answer.headers["Location"]
    upload = {"kind": "pdf", "title": "讲义", "minutes": "60", "upload": (io.BytesIO(data.png_bytes()), "x.pdf")}
    refused = submit(client, course_url + "/lessons", upload, page=course_url, follow=True)
    assert "不是有效的 PDF" in text(refused)
    upload["upload"] = (io.BytesIO(data.pdf_bytes()), "handout.pdf")
    assert "课时已添加" in text(submit(client, course_url + "/lessons", upload, page=course_url, follow=True))
    assert "已提交审核" in text(submit(client, course_url + "/submit", page=course_url, follow=True))
    reviewer = _login(app, admin)
    decided = submit(reviewer, course_url + "/review", {"decision": "publish", "note": "好"}, page=course_url)
    assert decided.status_code == 302
    with app.app_context():
        actions = set(_db.session.execute(_db.select(AuditEvent.action)).scalars())
    assert {"training.course_created", "training.lesson_added", "training.course_published"} <= actions


def test_video_is_served_with_range_requests_and_a_missing_file_is_explained(app: Flask) -> None:
    video = data.webm_bytes(seconds=61)
    with app.app_context():
        drafts = [LessonDraft(kind=LessonKind.VIDEO, title="视频", minutes=1, data=video), data.text_draft(59)]
        course = data.published_course(drafts=drafts)
        learner = trainee()
        data.enrolled(learner, course)
        learner, outsider_user = account(learner), account(trainee())
        lesson = data.first_lesson(course)
        key = lesson.file_key or ""
    client = _login(app, learner)
    url = f"/training/lessons/{lesson.id}/file"
    whole = client.get(url)
    assert whole.status_code == 200
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.mimetype == "video/webm"
    assert whole.data == video
    whole.close()
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(video)}"
    assert part.data == video[100:200]
    part.close()
    beyond = client.get(url, headers={"Range": f"bytes={len(video) + 10}-"})
    assert beyond.status_code == 416
    beyond.close()
    assert _login(app, outsider_user).get(url).status_code == 404
    with app.app_context():
        media.STORE.delete(key)
    missing = client.get(url)
    assert missing.status_code == 404
    assert "文件在服务器上缺失" in text(missing)


def test_a_review_course_holds_at_least_the_review_training_a_renewal_asks_for(app: Flask, db) -> None:
    """An item asking fewer review hours than CERT_REVIEW_TRAINING_HOURS (the law's 8) still gets an 8-hour course:
    otherwise a complete course could never reach what the renewal counts against."""
    from opcert.certificates import renewal

    assert app.config["CERT_REVIEW_TRAINING_HOURS"] == 8
    _, course = _course(db, data.small_item(review_hours=4), purpose=CoursePurpose.REVIEW)
    assert services.required_minutes(course.item, CoursePurpose.REVIEW) == 8 * 60
    services.add_lesson(course=course, draft=data.text_draft(4 * 60))
    with pytest.raises(DomainError, match="未达到"):
        services.submit_course(course=course)
    services.add_lesson(course=course, draft=data.text_draft(4 * 60))
    services.submit_course(course=course)
    holder = trainee()
    # review_training reads the certificate's item and history only: a stand-in issued today will do
    held: Any = SimpleNamespace(item=course.item, events=[], first_issued_on=local_today())
    counted, required = renewal.review_training(holder, held)
    assert (counted, required) == (0, 8 * 3600), "the renewal asks what the complete course holds"
