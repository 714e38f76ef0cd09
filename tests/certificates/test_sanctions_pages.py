"""The sanction pages: the issuing authority's officer finds a certificate and suspends it on the confirmation form
(refusals in Chinese), the public sees it at once; another authority's officer gets 404; the public notices list."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from opcert.audit.models import AuditEvent
from opcert.certificates import sanctions, services
from opcert.certificates.models import CertificateStatus
from opcert.certificates.sanctions_models import SanctionKind
from opcert.extensions import db
from opcert.timeutil import local_today, show_date
from tests.certificates import certs_data as data
from tests.certificates import sanctions_data as sd
from tests.certificates.test_public_verification import post, result_of
from tests.factories import PASSWORD
from tests.fixtures.web import login, submit, text


def officer_client(app: Flask, officer) -> object:
    client = app.test_client()
    assert login(client, officer.login_name, PASSWORD, officer.totp_secret).status_code == 302
    return client


def test_the_issuing_officer_finds_suspends_and_the_public_sees_it_at_once(app: Flask) -> None:
    with app.app_context():
        officer = officer_client(app, sd.issuing_officer(app))
        certificate = data.issued(data.holder("王小明"), data.item())
        cid, number = certificate.id, certificate.holder.number
        today = local_today()
        shown_today = show_date(today)
    assert 'href="/certificates/sanctions"' in officer.get("/").get_data(as_text=True)  # 证书管理 in the menu
    found = text(officer.get("/certificates/sanctions?q=王小"))
    assert number in found
    assert f"/certificates/sanctions/{cid}" in found
    assert number in text(officer.get(f"/certificates/sanctions?q={number.lower()}"))
    history = text(officer.get(f"/certificates/sanctions/{cid}"))
    assert "首次发证" in history
    assert f"/certificates/sanctions/{cid}/suspend" in history
    assert f"/certificates/sanctions/{cid}/lift" not in history  # nothing to lift on a valid certificate
    assert officer.get(f"/certificates/sanctions/{cid}/banish").status_code == 404  # no such sanction

    page = f"/certificates/sanctions/{cid}/suspend"
    form = text(officer.get(page))
    assert "违反安全操作规程作业" in form
    assert "暂扣截止日期" in form
    refused = text(submit(officer, page, {"ground": "violation", "text": "", "until": "2020-01-01"}, page=page))
    assert "请写明具体事实和理由" in refused
    assert "请勾选确认" in refused
    bad_date = text(
        submit(officer, page, {"ground": "violation", "text": "违章", "until": "明天", "confirm": "y"}, page=page)
    )
    assert "日期格式不正确" in bad_date
    past = text(
        submit(officer, page, {"ground": "violation", "text": "违章", "until": "2020-01-01", "confirm": "y"}, page=page)
    )
    assert "须晚于今天" in past
    until = (today + dt.timedelta(days=180)).isoformat()
    done = submit(
        officer, page, {"ground": "violation", "text": "高处作业未系安全带", "until": until, "confirm": "y"}, page=page
    )
    assert done.status_code == 302
    assert "高处作业未系安全带" in text(officer.get(f"/certificates/sanctions/{cid}"))

    public = app.test_client()
    shown = result_of(post(public, {"method": "number", "n-number": number, "n-name": "王小明"}))
    assert "暂扣" in shown
    assert "高处作业未系安全带" in shown
    assert f"暂扣至{until}" in shown
    assert shown_today in shown  # the date of the change

    again = text(
        submit(officer, page, {"ground": "violation", "text": "再次", "until": until, "confirm": "y"}, page=page)
    )
    assert "证书当前为“暂扣”，不能暂扣" in again
    with app.app_context():
        assert services.get_certificate(cid).status is CertificateStatus.SUSPENDED
        refusals = sa.select(sa.func.count()).where(AuditEvent.action == "certificate.sanction_refused")
        assert db.session.execute(refusals).scalar_one() == 1


def test_another_authoritys_officer_gets_404_and_finds_nothing(app: Flask) -> None:
    with app.app_context():
        sd.issuing_officer(app)
        stranger = officer_client(app, sd.foreign_officer())
        certificate = data.issued(data.holder("王小明"), data.item())
        cid, number = certificate.id, certificate.holder.number
    assert number not in text(stranger.get("/certificates/sanctions?q=王小明"))
    assert stranger.get(f"/certificates/sanctions/{cid}").status_code == 404
    assert stranger.get(f"/certificates/sanctions/{cid}/revoke").status_code == 404
    page = "/certificates/sanctions"
    posted = submit(
        stranger, f"/certificates/sanctions/{cid}/revoke", {"ground": "fraud", "text": "x", "confirm": "y"}, page=page
    )
    assert posted.status_code == 404
    assert stranger.get("/certificates/sanctions/999999").status_code == 404
    with app.app_context():
        assert services.get_certificate(cid).status is CertificateStatus.VALID
        foreign = sa.select(sa.func.count()).where(AuditEvent.action == "certificate.sanction_foreign")
        assert db.session.execute(foreign).scalar_one() == 3


def test_the_public_notices_list_masks_names_and_numbers_and_pages(app: Flask, client) -> None:
    app.config["CERT_NOTICES_PER_PAGE"] = 2
    try:
        with app.app_context():
            officer = sd.issuing_officer(app)
            people = [data.holder(name) for name in ("欧阳明华", "李强", "张三丰")]
            certificates = [data.issued(person, data.item()) for person in people]
            id_numbers = [person.id_number for person in people]
            sd.sanction(officer, certificates[0], SanctionKind.REVOKE, "fraud")
            sd.sanction(
                officer, certificates[1], SanctionKind.CANCEL, "death", now=dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC)
            )
            sd.sanction(officer, certificates[2], SanctionKind.SUSPEND, "violation", until=dt.date(2027, 1, 1))
        first = text(client.get("/certificates/notices"))
        second = text(client.get("/certificates/notices?page=2"))
    finally:
        app.config["CERT_NOTICES_PER_PAGE"] = 20
    assert "李*" in first  # the newest first: the cancellation of 1 December
    assert "持证人死亡" in first
    assert "欧**华" in first
    assert "以欺骗、贿赂等不正当手段取得" in first
    assert "第1页，共1页" in first  # the suspension is not published
    assert "张*丰" not in first + second
    for name, number in zip(("欧阳明华", "李强"), id_numbers, strict=False):
        assert name not in first
        assert number not in first
        assert f"T{number[:6]}********{number[-4:]}" in first
    assert "?page=2" not in first


def test_the_notices_list_pages_past_the_first(app: Flask, client) -> None:
    app.config["CERT_NOTICES_PER_PAGE"] = 1
    try:
        with app.app_context():
            officer = sd.issuing_officer(app)
            for name in ("赵一", "钱二"):
                sd.sanction(officer, data.issued(data.holder(name), data.item()), SanctionKind.CANCEL, "request")
        first = text(client.get("/certificates/notices"))
        second = text(client.get("/certificates/notices?page=2"))
        beyond = client.get("/certificates/notices?page=abc")
    finally:
        app.config["CERT_NOTICES_PER_PAGE"] = 20
    assert "第1页，共2页" in first
    assert "?page=2" in first
    assert "钱*" in first
    assert "赵*" in second
    assert "第2页，共2页" in second
    assert beyond.status_code == 200


def test_a_holder_requests_cancellation_online_and_the_officer_carries_it_out(app: Flask) -> None:
    with app.app_context():
        officer = officer_client(app, sd.issuing_officer(app))
        user = data.holder("王小明")
        certificate = data.issued(user, data.item())
        cid, account = certificate.id, user.login_name
        other = data.holder("李强")
        other_account = other.login_name
    holder = app.test_client()
    assert login(holder, account, PASSWORD).status_code == 302
    assert f"/certificates/{cid}/cancellation" in text(holder.get("/certificates/mine"))
    page = f"/certificates/{cid}/cancellation"
    unconfirmed = text(submit(holder, page, {"text": "已退休"}, page=page))
    assert "请勾选确认" in unconfirmed
    assert submit(holder, page, {"text": "已退休，不再从事电工作业", "confirm": "y"}, page=page).status_code == 302
    assert "请等待发证机关办理" in text(holder.get(page))
    with app.app_context():
        assert sanctions.open_request(cid) is not None
    twice = text(submit(holder, page, {"confirm": "y"}, page="/certificates/mine"))
    assert "您已申请注销该证书" in twice
    stranger = app.test_client()
    assert login(stranger, other_account, PASSWORD).status_code == 302
    assert stranger.get(page).status_code == 404

    queue = text(officer.get("/certificates/sanctions"))
    assert "已退休，不再从事电工作业" in queue
    cancel = f"/certificates/sanctions/{cid}/cancel"
    assert cancel in queue
    done = submit(officer, cancel, {"ground": "request", "text": "持证人在线申请", "confirm": "y"}, page=cancel)
    assert done.status_code == 302
    assert "已退休，不再从事电工作业" not in text(officer.get("/certificates/sanctions"))
    assert "/cancellation" not in text(holder.get("/certificates/mine"))
    with app.app_context():
        assert services.get_certificate(cid).status is CertificateStatus.CANCELLED
        assert sanctions.open_request(cid) is None
        refused = sa.select(sa.func.count()).where(AuditEvent.action == "certificate.cancellation_request_refused")
        assert db.session.execute(refused).scalar_one() == 1  # the second request
