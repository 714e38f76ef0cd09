"""`opcert demo`'s exam day: today at the demo centre, the desk and the console with the demo trainee, a practical
sheet for the demo examiner to score; idempotent (runs twice), also with TRAINING_REQUIRED on as in production."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from exams import demo
from exams.demo import SECOND_CANDIDATE_ID
from exams.practical.models import ScoreSheet
from exams.sessions.bookings import exam_day
from exams.sessions.models import Booking, ExamPart, ExamSession
from opcert.demo import DEMO_PASSWORD, TRAINEE_ID
from opcert.extensions import db
from opcert.timeutil import local_today, local_tz
from tests.fixtures.web import login, text


def _run_twice(app: Flask, runner: Any) -> None:
    app.config["TRAINING_REQUIRED"] = True  # as in production: the demo's candidates never studied
    try:
        for _ in range(2):
            result = runner.invoke(args=["demo"])
            assert result.exit_code == 0, result.output
            assert "exam day today" in result.output
    finally:
        app.config["TRAINING_REQUIRED"] = False


def test_the_demo_shows_exam_day_today_once(app: Flask, runner: Any) -> None:
    _run_twice(app, runner)
    with app.app_context():
        sessions = list(db.session.execute(sa.select(ExamSession).order_by(ExamSession.starts_at)).scalars())
        today = [s for s in sessions if exam_day(s) == local_today()]
        assert sorted(s.part.value for s in today) == ["practical", "theory"]
        theory = next(s for s in today if s.part is ExamPart.THEORY)
        practical = next(s for s in today if s.part is ExamPart.PRACTICAL)
        rows = db.session.execute(sa.select(Booking).where(Booking.session_id.in_([theory.id, practical.id])))
        booked = [(b.session_id, b.trainee.id_number) for b in rows.scalars()]
        assert sorted(booked) == sorted([(theory.id, TRAINEE_ID), (practical.id, SECOND_CANDIDATE_ID)])  # once each
        sheets = list(db.session.execute(sa.select(ScoreSheet).where(ScoreSheet.session_id == practical.id)).scalars())
        assert len(sheets) == 1
        theory_id, practical_id, sheet_id = theory.id, practical.id, sheets[0].id

    staff = app.test_client()
    assert login(staff, "staff", DEMO_PASSWORD).status_code == 302
    desk = text(staff.get(f"/exams/sessions/{theory_id}/checkin"))
    assert "张三" in desk
    console = text(staff.get(f"/exams/sessions/{theory_id}/invigilate"))
    assert "张三" in console

    trainee = app.test_client()
    assert login(trainee, TRAINEE_ID, DEMO_PASSWORD).status_code == 302
    home = text(trainee.get("/"))
    assert "已预约低压电工作业 理论考试" in home, home  # today's session has not ended: a coming seat
    assert "查看准考证" in home

    examiner = app.test_client()
    assert login(examiner, "examiner", DEMO_PASSWORD).status_code == 302
    mine = examiner.get(f"/exams/practical/mine/{practical_id}")
    assert mine.status_code == 200
    assert f"/exams/practical/sheets/{sheet_id}" in text(mine)
    assert examiner.get(f"/exams/practical/sheets/{sheet_id}").status_code == 200

    trainee = app.test_client()
    assert login(trainee, TRAINEE_ID, DEMO_PASSWORD).status_code == 302
    with app.app_context():
        booking_id = db.session.execute(sa.select(Booking.id).where(Booking.session_id == theory_id)).scalar_one()
    assert trainee.get(f"/bookings/{booking_id}/ticket").status_code == 200


@pytest.mark.parametrize(
    ("local_time", "hours"),
    [("06:30", (9, 11)), ("09:00", (10, 12)), ("14:37", (15, 17)), ("21:10", (22, 23)), ("23:50", (22, 23))],
)
def test_todays_sessions_start_after_the_demo_is_loaded(app: Flask, local_time: str, hours: tuple[int, int]) -> None:
    hour, minute = map(int, local_time.split(":"))
    with app.app_context():
        now = dt.datetime(2026, 12, 3, hour, minute, tzinfo=local_tz()).astimezone(dt.UTC)
        theory, practical = demo._todays_hours(now)
        assert (theory, practical) == hours
        assert dt.datetime(2026, 12, 3, theory, tzinfo=local_tz()) + dt.timedelta(hours=2) > now  # not ended yet
