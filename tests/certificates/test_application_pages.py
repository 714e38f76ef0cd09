"""The application and review pages: a trainee applies with nothing to upload, an officer accepts and approves."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from opcert.audit.models import AuditEvent
from opcert.certificates.applications_models import ApplicationStatus, CertificateApplication
from opcert.certificates.models import Certificate
from opcert.extensions import db
from tests.certificates import applications_data as data
from tests.factories import PASSWORD
from tests.fixtures.web import login, submit, text


def _client(app: Flask, account: tuple[str, str | None]):
    client = app.test_client()
    assert login(client, account[0], PASSWORD, account[1]).status_code == 302
    return client


def test_apply_review_and_approve_through_the_pages(app: Flask) -> None:
    with app.app_context():
        _authority, officer = data.bureau(app)
        user, item = data.passed()
        trainee_account, item_id, name = (user.login_name, None), item.id, user.real_name
        officer_account = (officer.login_name, officer.totp_secret)
        _other, stranger = data.bureau(app, name="浦东新区应急管理局（页面）")
        stranger_account = (stranger.login_name, stranger.totp_secret)
        app.config["CERT_APPLICATION_AUTHORITY"] = _authority.name
    trainee = _client(app, trainee_account)
    page = f"/certificates/apply/{item_id}"
    form = text(trainee.get(page))
    assert name in form
    assert "86.0" in form
    assert app.config["CERT_COMMITMENT_TEXT"] in form
    assert 'type="file"' not in form  # 零材料: nothing to upload
    refused = submit(trainee, page, {"delivery": "mail"}, page=page)
    body = text(refused)
    for message in ("请填写邮寄地址", "请填写收件人", "请填写收件人电话", "请阅读并签署告知承诺书"):
        assert message in body
    answer = submit(trainee, page, {"delivery": "electronic", "signed": "y"}, page=page)
    assert answer.status_code == 302
    assert "已提交，待受理" in text(trainee.get("/certificates/applications"))
    twice = submit(trainee, page, {"delivery": "electronic", "signed": "y"}, page=page)
    assert "不能重复申请" in text(twice)
    with app.app_context():
        application_id = db.session.execute(sa.select(CertificateApplication.id)).scalar_one()

    outsider = _client(app, stranger_account)
    assert name not in text(outsider.get("/certificates/review"))
    blocked = submit(outsider, f"/certificates/review/{application_id}/accept", page="/certificates/review")
    assert blocked.status_code == 302
    with app.app_context():
        assert db.session.get(CertificateApplication, application_id).status is ApplicationStatus.SUBMITTED
        foreign = sa.select(sa.func.count()).where(AuditEvent.action == "certificate.application_foreign")
        assert db.session.execute(foreign).scalar_one() == 1

    reviewer = _client(app, officer_account)
    assert name in text(reviewer.get("/certificates/review"))
    dossier = f"/certificates/review/{application_id}"
    assert app.config["CERT_COMMITMENT_TEXT"] in text(reviewer.get(dossier))
    assert submit(reviewer, f"{dossier}/accept", page=dossier).status_code == 302
    assert submit(reviewer, f"{dossier}/approve", page=dossier).status_code == 302
    assert submit(reviewer, f"{dossier}/approve", page=dossier).status_code == 302  # a double click
    with app.app_context():
        application = db.session.get(CertificateApplication, application_id)
        assert application.status is ApplicationStatus.APPROVED
        assert db.session.execute(sa.select(sa.func.count(Certificate.id))).scalar_one() == 1


def test_return_for_correction_through_the_pages(app: Flask) -> None:
    with app.app_context():
        _authority, officer = data.bureau(app)
        user, item = data.passed()
        trainee_account, item_id = (user.login_name, None), item.id
        officer_account = (officer.login_name, officer.totp_secret)
    trainee = _client(app, trainee_account)
    page = f"/certificates/apply/{item_id}"
    assert submit(trainee, page, {"delivery": "electronic", "signed": "y"}, page=page).status_code == 302
    with app.app_context():
        application_id = db.session.execute(sa.select(CertificateApplication.id)).scalar_one()
    reviewer = _client(app, officer_account)
    dossier = f"/certificates/review/{application_id}"
    empty = submit(reviewer, f"{dossier}/return", {"corrections": ""}, page=dossier, follow=True)
    assert "请逐条列出" in text(empty)
    submit(reviewer, f"{dossier}/return", {"corrections": "邮寄地址不全\n电话有误"}, page=dossier)
    again = f"/certificates/applications/{application_id}/resubmit"
    shown = text(trainee.get(again))
    assert "邮寄地址不全" in shown
    assert "电话有误" in shown
    data_ = {
        "delivery": "mail",
        "signed": "y",
        "address": "上海市黄浦区人民大道200号",
        "recipient": "王",
        "phone": "021-12345678",
    }
    assert submit(trainee, again, data_, page=again).status_code == 302
    with app.app_context():
        application = db.session.get(CertificateApplication, application_id)
        assert application.status is ApplicationStatus.SUBMITTED
        assert application.mail_phone == "021-12345678"


def test_home_shows_the_trainee_where_the_application_is_and_the_officer_the_queue(app: Flask) -> None:
    with app.app_context():
        _authority, officer = data.bureau(app)
        user, item = data.passed()
        trainee_account, item_id = (user.login_name, None), item.id
        officer_account = (officer.login_name, officer.totp_secret)
    trainee = _client(app, trainee_account)
    page = f"/certificates/apply/{item_id}"
    assert submit(trainee, page, {"delivery": "electronic", "signed": "y"}, page=page).status_code == 302
    assert "已提交，待受理" in text(trainee.get("/"))
    with app.app_context():
        application = db.session.execute(sa.select(CertificateApplication)).scalar_one()
        application.accept_by = dt.date(2020, 1, 6)  # long past
        db.session.commit()
    home = text(_client(app, officer_account).get("/"))
    assert "待受理1件" in home
    assert "已超期1件" in home
