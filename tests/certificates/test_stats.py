"""The authority's statistics on a known data set: applications, certificates, the median working days to issue
(across a holiday), pass rates by item and by centre; the page, its CSV and bad periods."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from exams.results import services as results
from exams.sessions.models import ExamPart
from opcert.access import Role
from opcert.accounts.models import User
from opcert.certificates import applications as apps
from opcert.certificates import stats
from opcert.certificates.applications_models import Delivery
from opcert.certificates.sources import working_days_after, working_days_between
from opcert.errors import DomainError
from opcert.extensions import db as _db
from opcert.timeutil import from_local, local_today
from tests.certificates import applications_data
from tests.exams.practical import practical_data as pd
from tests.exams.sessions import sessions_data as sessions
from tests.factories import staff
from tests.fixtures.web import logged_in_client, text


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    """`hour` o'clock local time on `day`, as UTC."""
    return from_local(dt.datetime.combine(day, dt.time(hour)))


def next_monday(after: dt.date) -> dt.date:
    return after + dt.timedelta(days=7 - after.weekday())


def test_working_days_between_counts_on_the_calendar_of_working_days_after(app, db) -> None:
    monday = dt.date(2026, 11, 2)
    app.config["RESULT_HOLIDAYS"] = ["2026-11-04"]
    assert working_days_between(monday, monday) == 0
    assert working_days_between(monday, monday + dt.timedelta(days=3)) == 2  # Tuesday, (Wednesday off), Thursday
    assert working_days_between(monday + dt.timedelta(days=4), monday + dt.timedelta(days=6)) == 0  # Fri → Sun
    for n in range(12):
        assert working_days_between(monday, working_days_after(monday, n)) == n


def exam_data_set() -> tuple[dt.date, dt.date]:
    """Results at two centres in two items, one of them before the period; the period (the last 30 days)."""
    a, b = sessions.item(), sessions.item()
    x, y = sessions.centre("东区考点"), sessions.centre("西区考点")
    day = dt.timedelta(days=1)
    x_a_theory = pd.session(x, a, ExamPart.THEORY, starts_in=-20 * day)
    y_a_theory = pd.session(y, a, ExamPart.THEORY, starts_in=-18 * day)
    x_a_practical = pd.session(x, a, ExamPart.PRACTICAL, starts_in=-10 * day)
    x_b_theory_old = pd.session(x, b, ExamPart.THEORY, starts_in=-60 * day)
    y_b_theory = pd.session(y, b, ExamPart.THEORY, starts_in=-15 * day)
    c1, c2, c3, c4, c5, c6 = (pd.candidate() for _ in range(6))

    def record(who, item, part, score, session, vetoed=False) -> None:
        results.record_part_result(
            person_id=who.id, item_id=item.id, part=part, score=score, session_id=session.id, vetoed=vetoed
        )

    record(c1, a, ExamPart.THEORY, 90, x_a_theory)
    record(c2, a, ExamPart.THEORY, 70, x_a_theory)
    record(c3, a, ExamPart.THEORY, 85, x_a_theory)
    record(c4, a, ExamPart.THEORY, 60, y_a_theory)
    record(c1, a, ExamPart.PRACTICAL, 88, x_a_practical)
    record(c3, a, ExamPart.PRACTICAL, 95, x_a_practical, vetoed=True)  # a veto fails whatever the score
    record(c5, b, ExamPart.THEORY, 95, x_b_theory_old)  # before the period: not counted
    record(c6, b, ExamPart.THEORY, 82, y_b_theory)
    _db.session.commit()
    today = local_today()
    return today - 30 * day, today


def test_pass_rates_by_item_and_by_centre(app, db) -> None:
    start, end = exam_data_set()
    figures = stats.period_statistics(start=start, end=end)
    by_item = {row.label.split(" ", 1)[1]: row for row in figures.by_item}
    first, second = sorted(by_item)  # 测试项目N: the first item made is a
    a, b = by_item[first], by_item[second]
    assert (a.theory_taken, a.theory_passed, a.theory_rate) == (4, 2, 50.0)
    assert (a.practical_taken, a.practical_passed, a.practical_rate) == (2, 1, 50.0)
    assert (b.theory_taken, b.theory_passed, b.theory_rate) == (1, 1, 100.0)
    assert (b.practical_taken, b.practical_rate) == (0, None)
    by_centre = {row.label: row for row in figures.by_centre}
    assert set(by_centre) == {"东区考点", "西区考点"}
    east, west = by_centre["东区考点"], by_centre["西区考点"]
    assert (east.theory_taken, east.theory_passed, east.theory_rate) == (3, 2, 66.7)
    assert (east.practical_taken, east.practical_passed, east.practical_rate) == (2, 1, 50.0)
    assert (west.theory_taken, west.theory_passed, west.theory_rate) == (2, 1, 50.0)
    assert west.practical_rate is None
    # The whole period back to the old session counts it too.
    wider = stats.period_statistics(start=start - dt.timedelta(days=40), end=end)
    assert sum(row.theory_taken for row in wider.by_centre) == 6


def application_data_set(app) -> tuple[dt.date, dt.date]:
    """Six applications submitted in a fortnight with a holiday in it: four approved in it after 2, 4, 2 and 6
    working days, one still open, one approved after the fortnight."""
    _authority, officer = applications_data.bureau(app)
    monday = next_monday(local_today() + dt.timedelta(days=7))
    app.config["RESULT_HOLIDAYS"] = [(monday + dt.timedelta(days=2)).isoformat()]  # the first Wednesday
    plan = [  # (submitted, approved) in days after the first Monday
        (0, 3),  # Mon → Thu: Tue, Thu = 2
        (0, 7),  # Mon → next Mon: Tue, Thu, Fri, Mon = 4
        (4, 8),  # Fri → Tue: Mon, Tue = 2
        (0, 9),  # Mon → next Wed: Tue, Thu, Fri, Mon, Tue, Wed = 6
        (1, None),  # open
        (5, 20),  # approved after the period: not measured
    ]
    for submitted, approved in plan:
        user, item = applications_data.passed()
        application = apps.submit_application(
            user=user,
            item=item,
            signed=True,
            delivery=Delivery.ELECTRONIC,
            mail=apps.MailAddress(),
            now=at(monday + dt.timedelta(days=submitted)),
        )
        if approved is not None:
            apps.accept(officer=officer, application=application, now=at(monday + dt.timedelta(days=submitted), 15))
            apps.approve(officer=officer, application=application, now=at(monday + dt.timedelta(days=approved), 16))
        _db.session.commit()
    return monday, monday + dt.timedelta(days=13)


def test_applications_certificates_and_the_median_working_days(app, db) -> None:
    start, end = application_data_set(app)
    figures = stats.period_statistics(start=start, end=end)
    assert figures.applications_received == 6
    assert figures.certificates_issued == 4
    assert figures.approvals_measured == 4
    assert figures.median_working_days == 3.0  # of 2, 2, 4, 6
    app.config["RESULT_HOLIDAYS"] = []
    assert stats.period_statistics(start=start, end=end).median_working_days == 4.0  # of 2, 3, 5, 7
    first_week = stats.period_statistics(start=start, end=start + dt.timedelta(days=4))
    assert (first_week.applications_received, first_week.certificates_issued) == (5, 1)
    assert first_week.median_working_days == 3.0  # the one approved on Thursday, now without the holiday
    empty = stats.period_statistics(start=start - dt.timedelta(days=3), end=start - dt.timedelta(days=1))
    assert (empty.applications_received, empty.certificates_issued, empty.median_working_days) == (0, 0, None)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-13-01", "2026-12-01", "日期格式"),
        ("yesterday", None, "日期格式"),
        ("2026-12-01", "2026-11-01", "不能晚于"),
        ("2000-01-01", "2026-11-01", "最长"),
    ],
)
def test_bad_periods_are_refused_with_the_reason(app, db, start, end, message) -> None:
    with pytest.raises(DomainError, match=message):
        stats.statistics_for(start=start, end=end, today=dt.date(2026, 12, 2))


def test_the_default_period_is_this_month_to_today(app, db) -> None:
    figures = stats.statistics_for(start=None, end="", today=dt.date(2026, 12, 2))
    assert (figures.start, figures.end) == (dt.date(2026, 12, 1), dt.date(2026, 12, 2))


def test_the_page_and_its_csv_show_the_figures(app) -> None:
    with app.app_context():
        start, end = exam_data_set()
    officer = logged_in_client(app, Role.OFFICER)
    query = f"?start={start.isoformat()}&end={end.isoformat()}"
    page = officer.get("/certificates/statistics" + query)
    assert page.status_code == 200
    body = text(page)
    assert "东区考点" in body
    assert "66.7%" in body
    assert f'href="/certificates/statistics.csv?start={start.isoformat()}&amp;end={end.isoformat()}"' in body
    export = officer.get("/certificates/statistics.csv" + query)
    assert export.status_code == 200
    assert export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["统计期间", start.isoformat(), end.isoformat()]
    assert rows[1] == ["收到申请数", "0"]
    east = next(row for row in rows if row and row[0] == "东区考点")
    assert east == ["东区考点", "3", "2", "66.7", "2", "1", "50"]
    bad = officer.get("/certificates/statistics?start=2026-12-01&end=2026-11-01")
    assert bad.status_code == 400
    assert "开始日期不能晚于结束日期。" in text(bad)
    assert officer.get("/certificates/statistics.csv?start=junk").status_code == 400


def test_trainees_and_centre_staff_cannot_see_the_statistics(app) -> None:
    for role in (Role.TRAINEE, Role.CENTRE_STAFF):
        assert logged_in_client(app, role).get("/certificates/statistics").status_code == 403
    assert logged_in_client(app, Role.ADMIN).get("/certificates/statistics").status_code == 200


def test_a_centre_name_like_a_formula_is_escaped_in_the_csv(app, db) -> None:
    figures = stats.Statistics(
        start=dt.date(2026, 11, 1),
        end=dt.date(2026, 11, 30),
        applications_received=0,
        certificates_issued=0,
        approvals_measured=0,
        median_working_days=None,
        by_item=[],
        by_centre=[stats.PassRate("=HYPERLINK(1)", theory_taken=1, theory_passed=1)],
    )
    rows = list(csv.reader(io.StringIO(stats.statistics_csv(figures).lstrip("\ufeff"))))
    assert ["'=HYPERLINK(1)", "1", "1", "100", "0", "0", ""] in rows


def test_officers_see_their_authoritys_figures_and_administrators_all(app) -> None:
    with app.app_context():
        first, first_officer = applications_data.bureau(app, "甲区应急管理局（统计）")
        second, second_officer = applications_data.bureau(app, "乙区应急管理局（统计）")
        plan = [(first, first_officer, True), (first, first_officer, False), (second, second_officer, True)]
        for authority, officer, approve in plan:
            app.config["CERT_APPLICATION_AUTHORITY"] = authority.name
            user, item = applications_data.passed()
            application = apps.submit_application(
                user=user, item=item, signed=True, delivery=Delivery.ELECTRONIC, mail=apps.MailAddress()
            )
            if approve:
                apps.accept(officer=officer, application=application)
                apps.approve(officer=officer, application=application)
            _db.session.commit()
        today = local_today().isoformat()

        def seen(viewer) -> tuple[int, int, int, str]:
            figures = stats.statistics_for(start=today, end=today, today=local_today(), viewer=viewer)
            return (
                figures.applications_received,
                figures.certificates_issued,
                figures.approvals_measured,
                figures.authority,
            )

        assert seen(first_officer) == (2, 1, 1, first.name)
        assert seen(second_officer) == (1, 1, 1, second.name)
        assert seen(staff(Role.ADMIN)) == (3, 2, 2, "")
        with pytest.raises(DomainError, match="未绑定发证机关"):
            seen(User(role=Role.OFFICER, organisation_id=None))  # no authority bound: nothing to show
        first_id = first.id
    page = logged_in_client(app, Role.OFFICER, organisation_id=first_id).get(f"/certificates/statistics?start={today}")
    assert "统计范围：甲区应急管理局（统计）" in text(page)
    export = logged_in_client(app, Role.OFFICER, organisation_id=first_id).get(
        f"/certificates/statistics.csv?start={today}"
    )
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1:3] == [["收到申请数", "2"], ["发证数", "1"]]
    admin_page = text(logged_in_client(app, Role.ADMIN).get(f"/certificates/statistics?start={today}"))
    assert "统计范围：全平台" in admin_page
