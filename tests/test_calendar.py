"""The working-day calendar: holidays and 调休 working days administrators keep, used by every deadline (exam
results' publication, certificate applications); the demo file loads this year's official schedule."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from exams.results import services as results
from exams.sessions.models import ExamPart
from opcert.access import Role
from opcert.audit.models import AuditEvent
from opcert.calendar import services as calendar
from opcert.calendar.models import CalendarDay, DayKind
from opcert.certificates import applications
from opcert.extensions import db as _db
from opcert.timeutil import local_today
from tests.certificates import applications_data as data
from tests.exams.practical import practical_data as pd
from tests.exams.sessions import sessions_data as sessions
from tests.factories import PASSWORD, staff
from tests.fixtures.web import login, submit, text


def _national_day(actor_id: int | None = None) -> None:
    """National Day 2026 as the official schedule has it: 1-7 October off, Saturday 10 October worked."""
    for day in range(1, 8):
        calendar.save_day(day=dt.date(2026, 10, day), kind=DayKind.HOLIDAY, name="国庆节", actor_id=actor_id)
    calendar.save_day(day=dt.date(2026, 10, 10), kind=DayKind.WORKDAY, name="国庆节调休上班", actor_id=actor_id)


def test_deadlines_skip_a_holiday_and_count_a_worked_saturday(app: Flask, db) -> None:
    assert calendar.add_working_days(dt.date(2026, 9, 30), 5) == dt.date(2026, 10, 7)  # nothing listed yet
    _national_day()
    # 1-7 October are off; Saturday 10 October is worked: 8, 9, 10, 12, 13 October.
    assert calendar.add_working_days(dt.date(2026, 9, 30), 5) == dt.date(2026, 10, 13)
    assert calendar.add_working_days(dt.date(2026, 10, 9), 1) == dt.date(2026, 10, 10)  # Friday → Saturday
    assert not calendar.is_working_day(dt.date(2026, 10, 5))  # a Monday, but National Day
    assert calendar.is_working_day(dt.date(2026, 10, 10))  # a Saturday, but worked
    assert not calendar.is_working_day(dt.date(2026, 10, 11))  # an ordinary Sunday
    assert calendar.add_working_days(dt.date(2026, 10, 9), 0) == dt.date(2026, 10, 9)


def test_result_holidays_stay_as_a_fallback_unless_the_calendar_works_the_day(app: Flask, db) -> None:
    friday = dt.date(2026, 12, 4)
    app.config["RESULT_HOLIDAYS"] = ["2026-12-07"]
    try:
        assert calendar.add_working_days(friday, 1) == dt.date(2026, 12, 8)
        calendar.save_day(day=dt.date(2026, 12, 5), kind=DayKind.WORKDAY, name="调休上班", actor_id=None)
        assert calendar.add_working_days(friday, 1) == dt.date(2026, 12, 5)
        assert calendar.add_working_days(friday, 2) == dt.date(2026, 12, 8)
    finally:
        app.config["RESULT_HOLIDAYS"] = ()


def test_both_callers_use_the_calendar(app: Flask, db, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exam results are due for publication, and certificate applications for acceptance, on the calendar."""
    _national_day()
    item = sessions.item()
    session = pd.session(sessions.centre(), item, ExamPart.THEORY, starts_in=dt.timedelta(days=-2))
    person = pd.candidate()
    decided = dt.datetime(2026, 9, 30, 4, 0, tzinfo=dt.UTC)  # noon in Shanghai, Wednesday 30 September
    row = results.record_part_result(
        person_id=person.id, item_id=item.id, part=ExamPart.THEORY, score=90, session_id=session.id, decided_at=decided
    )
    days = app.config["RESULT_PUBLISH_WORKING_DAYS"]
    assert row.publish_by == calendar.add_working_days(dt.date(2026, 9, 30), days)
    assert results.add_working_days(dt.date(2026, 9, 30), 5) == dt.date(2026, 10, 13)
    # An application submitted today: the next three weekdays are holidays and the coming Saturday is worked, so the
    # deadline moves two working days later whatever weekday today is (calendar days, not weekdays, cancelled out
    # on a Thursday: one holiday, one worked Saturday).
    today = local_today()
    plain = calendar.add_working_days(today, 5)
    weekdays = (today + dt.timedelta(days=ahead) for ahead in range(1, 8))
    for day in [d for d in weekdays if d.weekday() < 5][:3]:
        calendar.save_day(day=day, kind=DayKind.HOLIDAY, name="测试假日", actor_id=None)
    saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)
    calendar.save_day(day=saturday, kind=DayKind.WORKDAY, name="测试调休", actor_id=None)
    monkeypatch.setitem(app.config, "CERT_APPLICATION_AUTHORITY", "")  # data.bureau names its authority there
    data.bureau(app)
    user, passed_item = data.passed()
    application = applications.submit_application(
        user=user,
        item=passed_item,
        signed=True,
        delivery=applications.Delivery.ELECTRONIC,
        mail=applications.MailAddress(),
    )
    assert application.accept_by == calendar.add_working_days(today, 5)
    assert application.accept_by > plain


def test_refusals_say_why(app: Flask, db) -> None:
    with pytest.raises(calendar.CalendarError, match="调休上班日应为周六或周日"):
        calendar.save_day(day=dt.date(2026, 10, 9), kind=DayKind.WORKDAY, name="调休", actor_id=None)
    with pytest.raises(calendar.CalendarError, match="请填写名称"):
        calendar.save_day(day=dt.date(2026, 10, 1), kind=DayKind.HOLIDAY, name="  ", actor_id=None)
    assert _db.session.execute(sa.select(sa.func.count()).select_from(CalendarDay)).scalar_one() == 0


def test_the_demo_file_loads_this_years_schedule_once(app: Flask, db) -> None:
    listed = calendar.load_file()
    assert listed == calendar.load_file()  # a rerun changes nothing
    rows = calendar.days_of_year(2026)
    assert len(rows) == listed
    assert {r.day for r in rows if r.kind is DayKind.WORKDAY} >= {dt.date(2026, 2, 14), dt.date(2026, 10, 10)}
    assert not calendar.is_working_day(dt.date(2026, 2, 17))  # 春节
    # 2026-02-13 (Friday) + 1 working day: Saturday 14 February is worked before the Spring Festival.
    assert calendar.add_working_days(dt.date(2026, 2, 13), 1) == dt.date(2026, 2, 14)
    assert calendar.add_working_days(dt.date(2026, 2, 14), 1) == dt.date(2026, 2, 24)
    saved = sa.select(sa.func.count()).where(AuditEvent.action == "calendar.day_saved")
    assert _db.session.execute(saved).scalar_one() == listed


def test_administrators_keep_the_calendar_on_its_page(app: Flask) -> None:
    with app.app_context():
        admin = staff(Role.ADMIN)
        account, secret = admin.login_name, admin.totp_secret
    client = app.test_client()
    assert login(client, account, PASSWORD, secret).status_code == 302
    page = "/admin/calendar?year=2026"
    assert "本年度尚未设置节假日" in text(client.get(page))
    added = submit(client, "/admin/calendar", {"day": "2026-10-01", "kind": "holiday", "name": "国庆节"}, page=page)
    assert added.status_code == 302
    worked = {"day": "2026-10-10", "kind": "workday", "name": "国庆节调休上班"}
    assert submit(client, "/admin/calendar", worked, page=page).status_code == 302
    listing = text(client.get(page))
    assert "国庆节" in listing
    assert "调休上班日" in listing
    weekday = text(submit(client, "/admin/calendar", {**worked, "day": "2026-10-09"}, page=page))
    assert "调休上班日应为周六或周日" in weekday
    ancient = text(submit(client, "/admin/calendar", {**worked, "day": "0001-01-06"}, page=page))
    assert "日期应在2000年至2100年之间" in ancient
    with app.app_context():
        assert calendar.add_working_days(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 2)
        day_id = _db.session.execute(sa.select(CalendarDay.id).where(CalendarDay.day == dt.date(2026, 10, 1))).scalar()
    assert submit(client, f"/admin/calendar/{day_id}/remove", page=page).status_code == 302
    assert client.post("/admin/calendar/999999/remove", data={}).status_code in {400, 404}
    with app.app_context():
        assert calendar.add_working_days(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 1)
        actions = _db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.actor_id).where(AuditEvent.action.like("calendar.%"))
        ).all()
        assert sorted(a for a, _ in actions) == ["calendar.day_removed", "calendar.day_saved", "calendar.day_saved"]
        assert {actor for _, actor in actions} == {admin.id}


def test_the_load_command_takes_a_file_whole_or_not_at_all(app: Flask, runner, tmp_path) -> None:
    good = tmp_path / "2027.toml"
    good.write_text(
        'holidays = [{ from = 2027-01-01, to = 2027-01-03, name = "元旦" }]\n'
        'workdays = [{ day = 2027-01-09, name = "调休上班" }]\n',
        encoding="utf-8",
    )
    loaded = runner.invoke(args=["calendar", "load", str(good)])
    assert loaded.exit_code == 0, loaded.output
    assert "4 days" in loaded.output
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'holidays = [{ from = 2027-02-01, to = 2027-02-02, name = "假日" }]\n'
        'workdays = [{ day = 2027-02-03, name = "周三不能调休" }]\n',
        encoding="utf-8",
    )
    refused = runner.invoke(args=["calendar", "load", str(bad)])
    assert refused.exit_code == 1
    assert "调休上班日应为周六或周日" in refused.output
    junk = tmp_path / "junk.toml"
    junk.write_text('holidays = [{ from = "soon", name = "x" }]\n', encoding="utf-8")
    malformed = runner.invoke(args=["calendar", "load", str(junk)])
    assert malformed.exit_code == 1
    assert "节假日文件格式不正确" in malformed.output
    with app.app_context():
        assert [d.day.isoformat() for d in calendar.days_of_year(2027)] == [
            "2027-01-01",
            "2027-01-02",
            "2027-01-03",
            "2027-01-09",
        ]
