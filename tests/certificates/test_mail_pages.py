"""The mail queue through the pages: the officer sends with a checked tracking number, the holder sees it; another
authority's officer is refused."""

from __future__ import annotations

from flask import Flask

from opcert.certificates.service_models import Mailing, MailingStatus
from opcert.extensions import db
from tests.certificates import applications_data as data
from tests.certificates import service_data as sd
from tests.factories import PASSWORD
from tests.fixtures.web import login, submit, text


def _client(app: Flask, account: tuple[str, str | None]):
    """A client logged in with (login name, TOTP secret); outside any app context, so that logins do not share g."""
    client = app.test_client()
    assert login(client, account[0], PASSWORD, account[1]).status_code == 302
    return client


def _account(user) -> tuple[str, str | None]:
    return user.login_name, user.totp_secret


def test_the_officer_sends_and_the_holder_sees_the_tracking_number(app: Flask) -> None:
    with app.app_context():
        application, officer_user = sd.approved(app)
        mailing_id = sd.mailing_of(application).id
        holder_user = application.user
        number = application.user.id_number
        _other, stranger_user = data.bureau(app, name="浦东新区应急管理局（邮寄页面）")
        accounts = [_account(u) for u in (officer_user, holder_user, stranger_user)]
    officer, holder, stranger = (_client(app, a) for a in accounts)

    queue = text(officer.get("/certificates/mail"))
    assert f"T{number}" in queue
    assert "上海市浦东新区世纪大道100号" in queue
    assert "待打印封装" in queue
    assert f"T{number}" not in text(stranger.get("/certificates/mail"))

    url = f"/certificates/mail/{mailing_id}/sent"
    wrong = submit(officer, url, {"courier": "ems", "tracking_number": "EA123456784CN"}, page="/certificates/mail")
    assert wrong.status_code == 302
    assert "运单号“EA123456784CN”格式不正确" in text(officer.get("/certificates/mail"))
    empty = submit(officer, url, {"courier": "ems", "tracking_number": ""}, page="/certificates/mail", follow=True)
    assert "请填写运单号" in text(empty)
    with app.app_context():
        assert db.session.get(Mailing, mailing_id).status is MailingStatus.QUEUED

    blocked = submit(stranger, url, {"courier": "ems", "tracking_number": sd.GOOD_EMS}, page="/certificates/mail")
    assert "不属于您所在发证机关" in text(stranger.get("/certificates/mail"))
    assert blocked.status_code == 302
    assert submit(officer, "/certificates/mail/999999/sent", {}, page="/certificates/mail").status_code == 404

    done = submit(officer, url, {"courier": "ems", "tracking_number": sd.GOOD_EMS}, page="/certificates/mail")
    assert done.status_code == 302
    for page in ("/certificates/applications", "/certificates/mine"):
        body = text(holder.get(page))
        assert "已寄出" in body
        assert sd.GOOD_EMS in body
        assert "中国邮政EMS" in body

    returned = f"/certificates/mail/{mailing_id}/returned"
    reason = "收件地址有误，查无此人"
    assert submit(officer, returned, {"reason": reason}, page="/certificates/mail").status_code == 302
    body = text(holder.get("/certificates/applications"))
    assert "已退回" in body
    assert reason in body
    with app.app_context():
        assert db.session.get(Mailing, mailing_id).status is MailingStatus.RETURNED

    address = f"/certificates/mail/{mailing_id}/address"
    assert address in body
    assert stranger.get(address).status_code == 403  # officers do not correct holders' addresses
    fields = {"address": "上海市黄浦区人民大道200号", "recipient": "王小明"}
    assert "请填写收件人电话" in text(submit(holder, address, {**fields, "phone": ""}, page=address))
    moved = submit(holder, address, {**fields, "phone": "13800001234"}, page=address)
    assert moved.status_code == 302
    queue = text(officer.get("/certificates/mail"))
    assert "上海市黄浦区人民大道200号" in queue
    assert "待打印封装" in queue
