"""好差评 through the pages: the person rates once, the officer sees overdue follow-ups warned and closes them with a
note, officers and administrators read the report and its CSV."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from opcert.access import Role
from opcert.certificates import ratings
from opcert.certificates.service_models import RatingFollowUp
from opcert.extensions import db
from tests.certificates import service_data as sd
from tests.factories import PASSWORD, staff
from tests.fixtures.web import login, submit, text


def _client(app: Flask, account: tuple[str, str | None]):
    """A client logged in with (login name, TOTP secret); outside any app context, so that logins do not share g."""
    client = app.test_client()
    assert login(client, account[0], PASSWORD, account[1]).status_code == 302
    return client


def _account(user) -> tuple[str, str | None]:
    return user.login_name, user.totp_secret


def test_rating_once_through_the_pages(app: Flask) -> None:
    with app.app_context():
        application, _officer = sd.approved(app, delivery=sd.Delivery.ELECTRONIC)
        account = _account(application.user)
        url = f"/certificates/ratings/application/{application.id}"
    person = _client(app, account)
    listing = text(person.get("/certificates/ratings"))
    assert "首次发证" in listing
    assert url in listing
    form = text(person.get(url))
    for level in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"):
        assert level in form
    missing = submit(person, url, {"comment": "还行"}, page=url)
    assert "请选择评价等级" in text(missing)
    too_long = submit(person, url, {"level": "satisfied", "comment": "长" * 301}, page=url)
    assert "评价内容不能超过300字" in text(too_long)
    assert submit(person, url, {"level": "dissatisfied", "comment": "审核太慢"}, page=url).status_code == 302
    listing = text(person.get("/certificates/ratings"))
    assert "不满意" in listing
    assert "整改中" in listing
    assert "您已评价" in text(person.get(url))
    again = submit(person, url, {"level": "very_satisfied"}, page="/certificates/ratings", follow=True)
    assert "只能评价一次" in text(again)
    assert person.get("/certificates/ratings/application/999999").status_code == 404
    assert person.get(url.replace("application", "x")).status_code == 404


def test_follow_ups_warned_when_overdue_closed_with_a_note_and_the_report(app: Flask) -> None:
    with app.app_context():
        application, officer_user = sd.approved(app, delivery=sd.Delivery.ELECTRONIC)
        matter = ratings.matter_to_rate(application.user, "application", application.id)
        long_ago = dt.datetime(2026, 1, 5, 2, tzinfo=dt.UTC)
        rating = ratings.rate(
            user=application.user, matter=matter, level="very_dissatisfied", comment="没人接电话", now=long_ago
        )
        db.session.commit()
        follow_up_id = rating.follow_up.id
        accounts = _account(officer_user), _account(staff(Role.ADMIN))
    officer, admin = (_client(app, a) for a in accounts)

    page = text(officer.get("/certificates/follow-ups"))
    assert "没人接电话" in page
    assert "已超期" in page
    assert "有1件差评整改已超过办结期限" in page
    assert "2026年1月26日" in page  # 15 working days after Monday 5 January
    home = text(officer.get("/"))
    assert "差评整改待办1件，其中已超期1件" in home
    assert "/certificates/mail" in home
    url = f"/certificates/follow-ups/{follow_up_id}/close"
    empty = submit(officer, url, {"note": ""}, page="/certificates/follow-ups", follow=True)
    assert "请写明核实和整改的情况" in text(empty)
    done = submit(officer, url, {"note": "已致电致歉，增设咨询专线"}, page="/certificates/follow-ups", follow=True)
    assert "差评整改已办结" in text(done)
    assert "逾期办结" in text(done)
    with app.app_context():
        assert db.session.get(RatingFollowUp, follow_up_id).note == "已致电致歉，增设咨询专线"

    report = text(officer.get("/certificates/ratings/report"))
    assert "2026-01" in report
    assert "首次发证" in report
    assert "100.0%" in report  # the one rating is bad
    assert "/certificates/ratings/report" in text(admin.get("/"))
    csv_answer = admin.get("/certificates/ratings/report.csv")
    assert csv_answer.status_code == 200
    assert csv_answer.mimetype == "text/csv"
    body = csv_answer.get_data(as_text=True)
    assert body.startswith("\ufeff月份,事项,非常满意")
    assert "2026-01,首次发证,0,0,0,0,1,1,1,100.0%,1,0,1,0,0.0%" in body
