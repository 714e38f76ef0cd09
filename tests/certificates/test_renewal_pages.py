"""The holder's pages say what can be applied for and when; review and reissue through the pages; the officer's
queue shows the matter and approves it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from opcert.catalogue.models import Item
from opcert.certificates import services
from opcert.certificates.applications_models import ApplicationStatus, CertificateApplication, Matter
from opcert.certificates.models import EventKind
from opcert.extensions import db
from opcert.timeutil import local_today
from opcert.training.models import CoursePurpose, Enrolment
from tests.certificates import applications_data, certs_data
from tests.certificates.renewal_data import at_local_morning, audited
from tests.factories import PASSWORD
from tests.fixtures.web import login, submit, text
from tests.training import training_data


def _client(app: Flask, account: str, secret: str | None = None):
    client = app.test_client()
    assert login(client, account, PASSWORD, secret).status_code == 302
    return client


def test_holder_sees_what_opens_when_applies_and_the_officer_approves_a_reissue(app: Flask) -> None:
    with app.app_context():
        _authority, officer = applications_data.bureau(app)
        user = certs_data.holder()
        due_soon = services.add_years(local_today() + dt.timedelta(days=30), -3)
        soon = certs_data.issued(user, certs_data.item(), now=at_local_morning(due_soon))
        fresh = certs_data.issued(user, certs_data.item("高压电工作业"), now=at_local_morning(local_today()))
        soon_id, fresh_id = soon.id, fresh.id
        opens = services.add_years(local_today(), 3) - dt.timedelta(days=60)
        holder_account, officer_account = user.login_name, (officer.login_name, officer.totp_secret)
    holder = _client(app, holder_account)
    mine = text(holder.get("/certificates/mine"))
    assert f"/certificates/{soon_id}/renew" in mine
    assert f"/certificates/{fresh_id}/renew" in mine  # the page that says when it opens
    assert f"复审申请于{opens.year}年{opens.month}月{opens.day}日开放" in mine
    page = text(holder.get(f"/certificates/{soon_id}"))
    assert "可办理事项" in page
    assert f"/certificates/{soon_id}/reissue" in page

    renew = f"/certificates/{soon_id}/renew"
    assert "告知承诺书" in text(holder.get(renew))
    refused = text(submit(holder, renew, {"signed": "y", "delivery": "electronic"}, page=renew))
    assert "复审培训学时不足：要求8小时0分钟，已计入0分钟。" in refused
    assert "本复审周期内已计入复审培训0分钟，还差8小时0分钟（要求8小时0分钟）。" in refused
    assert '<a href="/training">前往在线培训完成复审培训</a>' in refused
    early = f"/certificates/{fresh_id}/renew"
    assert f"{opens.year}年{opens.month}月{opens.day}日起可申请" in text(holder.get(early))
    assert "开放" in text(submit(holder, early, {"signed": "y", "delivery": "electronic"}, page=early))

    reissue = f"/certificates/{soon_id}/reissue"
    missing = text(submit(holder, reissue, {"reason": "遗失", "delivery": "mail"}, page=reissue))
    assert "请填写邮寄地址" in missing
    answer = submit(
        holder,
        reissue,
        {
            "reason": "遗失",
            "delivery": "mail",
            "address": "上海市黄浦区人民大道200号",
            "recipient": "王小明",
            "phone": "13912345678",
        },
        page=reissue,
    )
    assert answer.status_code == 302
    assert "补办（遗失补发）" in text(holder.get("/certificates/applications"))
    with app.app_context():
        assert audited("certificate.renewal_refused", "training") == 1
        assert audited("certificate.renewal_refused", "not_open") == 1
        application_id = db.session.execute(sa.select(CertificateApplication.id)).scalar_one()

    desk = _client(app, *officer_account)
    queue = text(desk.get("/certificates/review"))
    assert "补办（遗失补发）" in queue
    dossier_url = f"/certificates/review/{application_id}"
    dossier = text(desk.get(dossier_url))
    assert "遗失" in dossier
    assert "上海市黄浦区人民大道200号" in dossier
    assert submit(desk, f"{dossier_url}/accept", page=dossier_url).status_code == 302
    assert submit(desk, f"{dossier_url}/approve", page=dossier_url).status_code == 302
    with app.app_context():
        application = db.session.get(CertificateApplication, application_id)
        assert (application.matter, application.status) == (Matter.REISSUE, ApplicationStatus.APPROVED)
        certificate = services.get_certificate(soon_id)
        assert certificate.events[-1].kind is EventKind.REISSUE
    assert "补办（遗失补发）办理中" not in text(holder.get(f"/certificates/{soon_id}"))


def test_a_holder_enrols_in_the_review_training_from_the_renewal_page(app: Flask) -> None:
    """The renewal page says what review training is missing and enrols the holder in the item's review course;
    the training page then shows that course (it only ever enrolled initial training before)."""
    with app.app_context():
        user = certs_data.holder()
        item = certs_data.item()
        due_soon = services.add_years(local_today() + dt.timedelta(days=30), -3)
        held = certs_data.issued(user, item, now=at_local_morning(due_soon))
        held_id, item_id, account = held.id, item.id, user.login_name
    holder = _client(app, account)
    renew = f"/certificates/{held_id}/renew"
    none_yet = text(holder.get(renew))
    assert "暂不能报名复审培训：“低压电工作业”暂无已发布的培训课程。如有疑问，请向培训机构咨询。" in none_yet
    assert 'action="/training/enrol"' not in none_yet
    with app.app_context():
        training_data.published_course(db.session.get(Item, item_id))  # initial training only
    initial_only = text(holder.get(renew))
    assert "“低压电工作业”暂无已发布的复审培训课程。" in initial_only, "the reason the enrolment would give"
    assert 'action="/training/enrol"' not in initial_only
    with app.app_context():
        review_title = training_data.published_course(db.session.get(Item, item_id), purpose=CoursePurpose.REVIEW).title
        db.session.get(Item, item_id).offered = False
        db.session.commit()
    not_offered = text(holder.get(renew))
    assert "本平台目前不开考“低压电工作业”。" in not_offered, "the same rules as the enrolment: no button to a refusal"
    assert 'action="/training/enrol"' not in not_offered
    with app.app_context():
        db.session.get(Item, item_id).offered = True
        db.session.commit()
    page = text(holder.get(renew))
    assert 'action="/training/enrol"' in page
    assert '<input type="hidden" name="purpose" value="review">' in page

    forged = submit(holder, "/training/enrol", {"item_id": item_id, "purpose": "holiday"}, page=renew, follow=True)
    assert "培训类型无效，请从页面重新报名。" in text(forged)
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count(Enrolment.id))).scalar_one() == 0, "nothing enrolled"

    answer = submit(holder, "/training/enrol", {"item_id": item_id, "purpose": "review"}, page=renew, follow=True)
    assert "报名成功" in text(answer)
    assert review_title in text(answer)
    with app.app_context():
        enrolment = db.session.execute(sa.select(Enrolment)).scalar_one()
        assert enrolment.course.purpose is CoursePurpose.REVIEW
    enrolled = text(holder.get(renew))
    assert "您已报名本项目的复审培训，请前往在线培训继续学习。" in enrolled
    assert 'action="/training/enrol"' not in enrolled, "no enrolment button once enrolled"
    again = submit(holder, "/training/enrol", {"item_id": item_id, "purpose": "review"}, page=renew)
    assert again.status_code == 302
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count(Enrolment.id))).scalar_one() == 1, "enrolled once"
