"""Applying for a certificate (prefilled, no upload) and the review queue: deadlines, return, approval, refusal."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from opcert.access import Role
from opcert.accounts.models import User
from opcert.audit.models import AuditEvent
from opcert.certificates import applications as apps
from opcert.certificates import services
from opcert.certificates.applications_models import ApplicationStatus, CertificateApplication, Delivery
from opcert.certificates.models import Certificate
from opcert.certificates.sources import working_days_after
from opcert.extensions import db
from opcert.notifications.models import Notification
from tests.certificates import applications_data as data
from tests.exams.practical import practical_data as pd
from tests.exams.sessions import sessions_data as sessions
from tests.factories import staff
from tests.fixtures.database import make_app, race

POOL = {"pool_pre_ping": True, "pool_size": 24, "max_overflow": 4, "pool_timeout": 60}

NO_MAIL = apps.MailAddress()
MAIL = apps.MailAddress(address="上海市浦东新区世纪大道100号", recipient="王小明", phone="13800001234")


def _audits(action: str) -> int:
    return db.session.execute(sa.select(sa.func.count()).where(AuditEvent.action == action)).scalar_one()


def _submit(user, item, **kwargs) -> CertificateApplication:
    values = {"signed": True, "delivery": Delivery.ELECTRONIC, "mail": NO_MAIL} | kwargs
    application = apps.submit_application(user=user, item=item, **values)
    db.session.commit()
    return application


def test_the_application_is_prefilled_from_what_the_platform_holds(app, db) -> None:
    authority, _officer = data.bureau(app)
    user, item = data.passed()
    application = _submit(user, item)
    dossier = apps.dossier_of(application)
    assert dossier["name"] == user.real_name
    assert dossier["id_number"] == user.id_number
    assert dossier["exams"]["theory_score"] == 86.0
    assert dossier["exams"]["practical_score"] == 92.5
    assert dossier["photo"] in {"library", "uploaded", "missing", "unavailable"}
    assert "problems" in dossier["training"]
    assert application.authority_id == authority.id
    assert application.commitment_text == app.config["CERT_COMMITMENT_TEXT"]
    assert application.commitment_version == app.config["CERT_COMMITMENT_VERSION"]
    assert application.signed_at
    assert application.status is ApplicationStatus.SUBMITTED
    assert _audits("certificate.application_submitted") == 1


def test_applying_without_passing_or_twice_is_refused_and_audited(app, db) -> None:
    data.bureau(app)
    item = sessions.item()
    stranger = pd.candidate()
    with pytest.raises(apps.ApplicationError, match="尚未全部合格"):
        apps.submit_application(user=stranger, item=item, signed=True, delivery=Delivery.ELECTRONIC, mail=NO_MAIL)
    db.session.commit()
    user, item = data.passed()
    _submit(user, item)
    with pytest.raises(apps.ApplicationError, match="不能重复申请"):
        apps.submit_application(user=user, item=item, signed=True, delivery=Delivery.ELECTRONIC, mail=NO_MAIL)
    db.session.commit()
    assert _audits("certificate.application_refused") == 2
    assert db.session.execute(sa.select(sa.func.count(CertificateApplication.id))).scalar_one() == 1


def test_a_holder_of_the_certificate_cannot_apply_again(app, db) -> None:
    data.bureau(app)
    user, item = data.passed()
    services.issue_certificate(user=user, item=item, exams=None, actor_id=None)
    db.session.commit()
    with pytest.raises(apps.ApplicationError, match="已持有"):
        apps.submit_application(user=user, item=item, signed=True, delivery=Delivery.ELECTRONIC, mail=NO_MAIL)


def test_a_mailed_card_names_every_missing_field_at_once_and_saves_nothing(app, db) -> None:
    data.bureau(app)
    user, item = data.passed()
    with pytest.raises(apps.ApplicationError) as refused:
        apps.submit_application(user=user, item=item, signed=False, delivery=Delivery.MAIL, mail=NO_MAIL)
    assert set(refused.value.reasons) == {"address", "recipient", "phone", "signed"}
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(CertificateApplication.id))).scalar_one() == 0
    application = _submit(user, item, delivery=Delivery.MAIL, mail=MAIL)
    assert (application.mail_recipient, application.mail_phone) == ("王小明", "13800001234")


def test_working_day_deadlines_skip_weekends_and_holidays(app, db) -> None:
    _authority, officer = data.bureau(app)
    user, item = data.passed()
    application = _submit(user, item)
    # Thursday 1 October 2026 is National Day; 1 to 7 October are holidays.
    assert working_days_after(dt.date(2026, 9, 30), 5) == dt.date(2026, 10, 7)  # no holidays yet
    app.config["RESULT_HOLIDAYS"] = tuple(f"2026-10-0{d}" for d in range(1, 8))
    assert working_days_after(dt.date(2026, 9, 30), 5) == dt.date(2026, 10, 14)  # 8, 9, 12, 13, 14 October
    application.accept_by = dt.date(2026, 10, 14)
    assert apps.deadline_state(application, dt.date(2026, 10, 9)) == ""
    assert apps.deadline_state(application, dt.date(2026, 10, 13)) == "due_soon"
    assert apps.deadline_state(application, dt.date(2026, 10, 15)) == "overdue"
    accepted = dt.datetime(2026, 9, 30, 2, 0, tzinfo=dt.UTC)  # Wednesday 10:00 in Shanghai
    apps.accept(officer=officer, application=application, now=accepted)
    db.session.commit()
    assert application.decide_by == dt.date(2026, 11, 4)  # 20 working days; 28 October without the holidays


def test_return_for_correction_then_resubmit_accept_and_approve(app, db) -> None:
    _authority, officer = data.bureau(app)
    user, item = data.passed()
    application = _submit(user, item)
    assert [a.id for a in apps.queue(officer)] == [application.id]
    with pytest.raises(apps.ApplicationError):
        apps.return_for_correction(officer=officer, application=application, corrections=["", " "])
    apps.return_for_correction(officer=officer, application=application, corrections=["邮寄地址不全", "请核对电话"])
    db.session.commit()
    assert application.status is ApplicationStatus.RETURNED
    assert application.corrections == "邮寄地址不全\n请核对电话"
    assert apps.queue(officer) == []
    apps.resubmit(application=application, user=user, signed=True, delivery=Delivery.MAIL, mail=MAIL)
    db.session.commit()
    apps.accept(officer=officer, application=application)
    db.session.commit()
    assert application.decide_by is not None
    certificate = apps.approve(officer=officer, application=application)
    db.session.commit()
    again = apps.approve(officer=officer, application=application)  # a double click
    db.session.commit()
    assert again.id == certificate.id
    assert application.status is ApplicationStatus.APPROVED
    assert float(certificate.theory_score) == 86.0
    assert application.open_key is None
    assert application.certificate_id == certificate.id
    assert _audits("certificate.application_approved") == 1
    subjects = db.session.execute(sa.select(Notification.subject).where(Notification.user_id == user.id)).scalars()
    assert {"发证申请需要补正", "发证申请已受理", "证书已核发"} <= set(subjects)


def test_refusal_needs_a_reason_code_and_text_and_frees_the_item(app, db) -> None:
    _authority, officer = data.bureau(app)
    user, item = data.passed()
    application = _submit(user, item)
    with pytest.raises(apps.ApplicationError, match="受理"):
        apps.refuse(officer=officer, application=application, code="health", text="x")  # not accepted yet
    apps.accept(officer=officer, application=application)
    with pytest.raises(apps.ApplicationError) as refused:
        apps.refuse(officer=officer, application=application, code="nonsense", text=" ")
    assert set(refused.value.reasons) == {"code", "text"}
    apps.refuse(officer=officer, application=application, code="health", text="体检结论不合格")
    db.session.commit()
    assert application.status is ApplicationStatus.REFUSED
    assert application.open_key is None
    assert services.holder_certificates(user.id) == []


def test_another_authoritys_officer_sees_nothing_and_cannot_review(app, db) -> None:
    data.bureau(app)
    _other, stranger = data.bureau(app, name="浦东新区应急管理局（测试）")
    app.config["CERT_APPLICATION_AUTHORITY"] = "上海市应急管理局（测试）"
    user, item = data.passed()
    application = _submit(user, item)
    assert apps.queue(stranger) == []
    with pytest.raises(apps.ApplicationError, match="不属于"):
        apps.reviewable(stranger, application.id)
    db.session.commit()
    assert _audits("certificate.application_foreign") == 1


def test_twenty_concurrent_approvals_of_one_application_give_one_certificate(app, database_url) -> None:
    with app.app_context():
        _authority, officer = data.bureau(app)
        user, item = data.passed()
        application = _submit(user, item)
        apps.accept(officer=officer, application=application)
        db.session.commit()
        application_id, officer_id = application.id, officer.id
    racer = make_app(
        database_url,
        SQLALCHEMY_ENGINE_OPTIONS=POOL,
        CERT_SEAL_KEYRING=app.config["CERT_SEAL_KEYRING"],
        CERT_APPLICATION_AUTHORITY=app.config["CERT_APPLICATION_AUTHORITY"],
    )

    def approve() -> int:
        who = db.session.get(User, officer_id)
        certificate_id = apps.approve(officer=who, application=apps.reviewable(who, application_id)).id
        db.session.commit()
        return certificate_id

    outcomes, errors = race(racer, 20, approve)
    assert not errors, errors[:3]
    assert len(outcomes) == 20
    assert len(set(outcomes)) == 1
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count(Certificate.id))).scalar_one() == 1
        assert _audits("certificate.application_approved") == 1
        assert _audits("certificate.issued") == 1
        row = db.session.get(CertificateApplication, application_id)
        assert row.status is ApplicationStatus.APPROVED
        assert row.certificate_id == outcomes[0]


def test_officers_of_the_authority_may_see_the_applicants_photo_and_no_one_else(app, db) -> None:
    from opcert.certificates.photo_grants import applicant_of_viewers_authority
    from photos.services import subject_ref

    _authority, officer = data.bureau(app)
    _other, stranger = data.bureau(app, name="浦东新区应急管理局（照片）")
    app.config["CERT_APPLICATION_AUTHORITY"] = "上海市应急管理局（测试）"
    user, item = data.passed()
    _submit(user, item)
    ref = subject_ref(user.id_number)
    assert applicant_of_viewers_authority(officer, ref)
    assert not applicant_of_viewers_authority(stranger, ref)
    assert not applicant_of_viewers_authority(officer, subject_ref(pd.candidate().id_number))


def test_four_eyes_needs_a_second_officer_to_approve(app, db) -> None:
    authority, officer = data.bureau(app)
    second = staff(Role.OFFICER, org=authority)
    app.config["CERT_FOUR_EYES"] = True
    try:
        user, item = data.passed()
        application = _submit(user, item)
        apps.accept(officer=officer, application=application)
        assert apps.approve(officer=officer, application=application) is None
        db.session.commit()
        assert application.first_approved_by == officer.id
        assert application.status is ApplicationStatus.ACCEPTED
        assert services.holder_certificates(user.id) == []
        with pytest.raises(apps.ApplicationError, match="另一名审核人员"):
            apps.approve(officer=officer, application=application)
        certificate = apps.approve(officer=second, application=application)
        db.session.commit()
        assert certificate is not None
        assert application.status is ApplicationStatus.APPROVED
        assert application.certificate_id == certificate.id
        assert _audits("certificate.application_first_approval") == 1
    finally:
        app.config["CERT_FOUR_EYES"] = False


def test_the_exams_advice_after_passing_knows_the_application_and_the_certificate(app, db) -> None:
    from exams.results import services as results
    from opcert.timeutil import local_today

    _authority, officer = data.bureau(app)
    user, item = data.passed()

    def advice() -> str:
        return results.next_step(person_id=user.id, item=item, on=local_today(), published_only=True)

    assert advice() == "理论和实际操作考试均已合格：请申请特种作业操作证。"
    application = _submit(user, item)
    assert advice() == "理论和实际操作考试均已合格，发证申请正在办理中，可在“我的发证申请”查看进度。"
    apps.accept(officer=officer, application=application)
    certificate = apps.approve(officer=officer, application=application)
    db.session.commit()
    assert advice() == (
        f"理论和实际操作考试均已合格，已取得特种作业操作证（证号{certificate.holder.number}），可在“我的证书”查看。"
    )
