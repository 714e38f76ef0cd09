"""Exams on the home page: the trainee's commitment, booking and ticket steps; the centre's sessions of today and
the next days with their candidate counts; the question bank for providers."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from exams.sessions import bookings, planning
from exams.sessions.models import ExamSession, SessionStatus
from opcert.access import Role
from opcert.db import utcnow
from photos import services as photos
from photos.models import PhotoSource
from tests.exams.sessions import sessions_data as data
from tests.factories import PASSWORD, staff, trainee
from tests.fixtures.web import logged_in_client, login, text
from tests.photos.imagelib import photo

STEP_RE = re.compile(r'<li class="card mb-2( border-primary)?">(.*?)</li>', re.S)
TAG_RE = re.compile(r"<[^>]+>")


def steps(page: str) -> list[tuple[bool, str]]:
    """(is it the next step, its text) for every step card on the home page."""
    return [(bool(marker), " ".join(TAG_RE.sub(" ", body).split())) for marker, body in STEP_RE.findall(page)]


def next_step(page: str) -> str:
    (found,) = [body for is_next, body in steps(page) if is_next]
    return found


def home_of(app, user) -> str:
    client = app.test_client()
    assert login(client, user.login_name, PASSWORD).status_code == 302
    return text(client.get("/"))


def with_library_photo(db, user) -> None:
    photos.store_photo(
        id_number=user.id_number, data=photo("identities/deepface__dp03/1.jpg"), source=PhotoSource.UNIFIED_LIBRARY
    )
    db.session.commit()


def test_trainee_without_commitment_is_asked_to_sign_it_next(app, db) -> None:
    user = trainee()
    with_library_photo(db, user)
    page = home_of(app, user)
    titles = [body.split()[1] for _, body in steps(page)]
    assert titles == ["证件照片", "签署承诺", "预约考试", "准考证"]
    step = next_step(page)
    assert step.startswith("2 签署承诺 下一步")
    assert 'href="/exams/commitment"' in page
    assert "签署承诺后，即可选择考点和场次预约座位" in page
    assert "/ticket" not in page


def test_after_signing_the_next_step_is_booking(app, db) -> None:
    user = data.eligible()
    with_library_photo(db, user)
    page = home_of(app, user)
    assert next_step(page).startswith("3 预约考试 下一步")
    assert 'href="/exams/sessions"' in page


def test_after_booking_the_trainee_sees_the_seat_and_the_ticket_link(app, db) -> None:
    item, centre = data.item(), data.centre("浦东考点")
    session = data.session(centre, [item])
    user = data.eligible()
    with_library_photo(db, user)
    booking = bookings.book_seat(trainee=user, session_id=session.id, item_id=None)
    db.session.commit()
    page = home_of(app, user)
    _, booked = steps(page)[2]
    assert "已完成" in booked
    assert f"已预约{item.name}" in booked
    assert "座位号1-01" in booked
    assert next_step(page).startswith("4 准考证 下一步")
    assert f'href="/bookings/{booking.id}/ticket"' in page


def test_a_waitlisted_trainee_is_told_the_booking_is_not_done(app, db) -> None:
    item, centre = data.item(), data.centre()
    session = data.session(centre, [item], capacity=1)
    bookings.book_seat(trainee=data.eligible(), session_id=session.id, item_id=None)
    user = data.eligible()
    with_library_photo(db, user)
    bookings.join_waitlist(trainee=user, session_id=session.id, item_id=None)
    db.session.commit()
    page = home_of(app, user)
    assert next_step(page).startswith("3 预约考试 下一步 您已登记")
    assert "/ticket" not in page


def _today_local_at(hour: int) -> dt.datetime:
    zone = ZoneInfo("Asia/Shanghai")
    today = utcnow().astimezone(zone).date()
    return dt.datetime.combine(today, dt.time(hour), tzinfo=zone).astimezone(dt.UTC)


def test_centre_staff_see_todays_and_the_next_sessions_with_candidate_counts(app, db) -> None:
    item, centre, other = data.item(), data.centre("浦东考点"), data.centre("闵行考点")
    today = data.session(centre, [item])
    later = data.session(centre, [item], starts_in=dt.timedelta(days=12))
    cancelled = data.session(centre, [item], starts_in=dt.timedelta(days=13))
    elsewhere = data.session(other, [item])
    for _ in range(2):
        bookings.book_seat(trainee=data.eligible(), session_id=later.id, item_id=None)
    planning.change_session_status(session=cancelled, status=SessionStatus.CANCELLED)
    # Today's session has (possibly) started already: it was planned earlier, and moved here behind the service.
    db.session.execute(sa.update(ExamSession).where(ExamSession.id == today.id).values(starts_at=_today_local_at(0)))
    db.session.commit()
    page = home_of(app, staff(Role.CENTRE_STAFF, org=centre))
    todays = page[page.index("浦东考点 · 今日场次") : page.index("接下来的场次")]
    assert f'href="/exams/sessions/{today.id}/manage"' in todays
    assert "已预约0/50人" in todays
    coming = page[page.index("接下来的场次") :]
    assert f'href="/exams/sessions/{later.id}/manage"' in coming
    assert "已预约2/50人" in coming
    assert f"/exams/sessions/{cancelled.id}/manage" not in page
    assert f"/exams/sessions/{elsewhere.id}/manage" not in page
    assert f'href="/centres/{centre.id}/sessions/new"' in page


def test_centre_staff_without_sessions_are_told_so(app, db) -> None:
    page = home_of(app, staff(Role.CENTRE_STAFF, org=data.centre()))
    assert "今天没有考试场次" in page
    assert "今天以后还没有安排考试场次" in page


def test_provider_sees_the_question_bank(app) -> None:
    page = text(logged_in_client(app, Role.PROVIDER).get("/"))
    main = page[page.index("<main") :]
    assert 'href="/admin/bank/"' in main
    assert "进入题库" in main
