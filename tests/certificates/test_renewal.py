"""The life of a certificate on a frozen clock: the review window, review training, the clean record, approval,
the 6-year rule, the extension's new period, reissue. Every refusal is audited and says why in Chinese."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from opcert.certificates import applications, payload, renewal, services
from opcert.certificates.applications import ApplicationError, MailAddress
from opcert.certificates.applications_models import ApplicationStatus, CertificateApplication, Delivery, Matter
from opcert.certificates.models import Certificate, CertificateStatus, EventKind
from opcert.certificates.renewal_models import CertificatePeriod
from opcert.certificates.service_models import Mailing
from opcert.extensions import db
from opcert.timeutil import local_today
from tests.certificates import applications_data, certs_data
from tests.certificates.conftest import KEYRING
from tests.certificates.renewal_data import at_local_morning, audited, review_trained, short_review_training
from tests.certificates.service_data import mailing_of

REVIEW_DUE = dt.date(2029, 11, 2)  # certs_data issues on 2026-11-02: review at 3 years, valid 6 years
VALID_UNTIL = dt.date(2032, 11, 2)
MAIL = MailAddress(address="上海市浦东新区世纪大道100号", recipient="王小明", phone="13912345678")


@pytest.fixture
def officer(app, db):
    """An officer of the competent authority."""
    return applications_data.bureau(app)[1]


@pytest.fixture
def trained(app, db, monkeypatch):
    """A holder with a certificate (issued 2026-11-02) who has studied the item's review training."""
    user, item = certs_data.holder(), certs_data.item()
    short_review_training(app, monkeypatch, item)
    certificate = certs_data.issued(user, item)
    review_trained(user, item)
    return user, certificate


def apply(user, certificate, day: dt.date, **kw) -> CertificateApplication:
    values = {"signed": True, "work_years": None, "employer": ""} | kw
    application = renewal.apply_for_renewal(user=user, certificate=certificate, now=at_local_morning(day), **values)
    db.session.commit()
    return application


def decide(officer, application, day: dt.date, *, six_years: bool = False) -> Certificate | None:
    now = at_local_morning(day)
    applications.accept(officer=officer, application=application, now=now)
    certificate = applications.approve(officer=officer, application=application, six_years=six_years, now=now)
    db.session.commit()
    return certificate


def refused(user, certificate, day: dt.date, **kw) -> str:
    with pytest.raises(ApplicationError) as caught:
        apply(user, certificate, day, **kw)
    db.session.commit()  # as the view does: the refusal's audit row is kept
    return str(caught.value.message)


@pytest.mark.parametrize(("days_before", "opens"), [(61, False), (60, True), (59, True)])
def test_review_opens_60_days_before_it_is_due(officer, trained, days_before, opens) -> None:
    user, certificate = trained
    day = REVIEW_DUE - dt.timedelta(days=days_before)
    if opens:
        application = apply(user, certificate, day)
        assert (application.matter, application.status) == (Matter.REVIEW, ApplicationStatus.SUBMITTED)
        assert application.certificate_id == certificate.id
        assert audited("certificate.renewal_refused") == 0
    else:
        message = refused(user, certificate, day)
        assert message == "复审申请将于2029-09-03开放（应于2029-11-02前办理）。"
        assert audited("certificate.renewal_refused", "not_open") == 1
        assert db.session.execute(sa.select(sa.func.count(CertificateApplication.id))).scalar_one() == 0


def test_review_after_its_date_is_refused(officer, trained) -> None:
    user, certificate = trained
    assert (
        refused(user, certificate, REVIEW_DUE + dt.timedelta(days=1))
        == "已超过复审期限（2029-11-02），请联系发证机关。"
    )
    assert audited("certificate.renewal_refused", "overdue") == 1


def test_review_without_the_review_training_hours_is_refused(officer, app, db) -> None:
    user, item = certs_data.holder(), certs_data.item()
    certificate = certs_data.issued(user, item)
    message = refused(user, certificate, REVIEW_DUE - dt.timedelta(days=10))
    assert message == "复审培训学时不足：要求8小时0分钟，已计入0分钟。请先完成复审培训。"
    assert audited("certificate.renewal_refused", "training") == 1


def test_review_with_a_suspension_in_the_period_is_refused(officer, trained) -> None:
    user, certificate = trained
    for status, reason in ((CertificateStatus.SUSPENDED, "违章作业，暂扣3个月"), (CertificateStatus.VALID, "暂扣期满")):
        services.change_status(
            certificate=certificate,
            status=status,
            reason=reason,
            actor_id=None,
            now=at_local_morning(dt.date(2028, 3, 1)),
        )
    db.session.commit()
    assert renewal.record_problems(certificate, renewal.period_start(certificate)) != []
    message = refused(user, certificate, REVIEW_DUE - dt.timedelta(days=10))
    assert message.startswith("本复审周期内有不良记录，不能申请复审：2028-03-01 证书被暂扣：违章作业")
    assert audited("certificate.renewal_refused", "record") == 1


def test_applying_twice_or_for_another_persons_certificate_is_refused(officer, trained) -> None:
    user, certificate = trained
    apply(user, certificate, REVIEW_DUE - dt.timedelta(days=20))
    assert (
        refused(user, certificate, REVIEW_DUE - dt.timedelta(days=19))
        == "您已有该证书的复审申请在办理中，不能重复申请。"
    )
    assert audited("certificate.renewal_refused", "open") == 1
    stranger = certs_data.holder("李四")
    with pytest.raises(services.NotFoundError):
        apply(stranger, certificate, REVIEW_DUE - dt.timedelta(days=19))


def test_approved_review_moves_the_review_date_and_reseals_the_qr(officer, trained) -> None:
    user, certificate = trained
    application = apply(user, certificate, REVIEW_DUE - dt.timedelta(days=5), work_years=4, employer="上海电力")
    services.record_calendar_statuses(now=at_local_morning(REVIEW_DUE))
    db.session.commit()
    assert certificate.status is CertificateStatus.REVIEW_DUE
    assert decide(officer, application, REVIEW_DUE + dt.timedelta(days=3)) is certificate
    assert application.status is ApplicationStatus.APPROVED
    assert application.open_key is None
    assert (certificate.status, certificate.review_due_on, certificate.valid_until) == (
        CertificateStatus.VALID,
        VALID_UNTIL,
        VALID_UNTIL,
    )
    last = certificate.events[-1]
    assert (last.kind, last.reason) == (EventKind.REVIEW, "复审合格，下次复审日期2032-11-02")
    claims = payload.verify_text(payload.to_text(certificate.sealed), keyring=KEYRING).claims
    assert claims.review_due_on == VALID_UNTIL
    doc = services.document_for(certificate, today=REVIEW_DUE, with_photo=False)
    assert doc.reviews == [(dt.date(2029, 11, 5), "复审合格，下次复审日期2032-11-02")]
    assert audited("certificate.reviewed") == 1
    # The next matter is the extension, at the end of the validity period.
    assert renewal.renewal_matter(certificate) is Matter.EXTENSION


def test_a_suspension_after_applying_stops_the_approval(officer, trained) -> None:
    user, certificate = trained
    application = apply(user, certificate, REVIEW_DUE - dt.timedelta(days=30))
    applications.accept(officer=officer, application=application, now=at_local_morning(REVIEW_DUE))
    services.change_status(
        certificate=certificate, status=CertificateStatus.SUSPENDED, reason="违章作业", actor_id=officer.id
    )
    db.session.commit()
    with pytest.raises(ApplicationError, match="证书当前为“暂扣”，不能批准复审"):
        applications.approve(officer=officer, application=application)
    db.session.commit()
    assert application.status is ApplicationStatus.ACCEPTED
    assert certificate.review_due_on == REVIEW_DUE
    assert audited("certificate.renewal_approval_refused", "status") == 1


def reviewed(officer, user, certificate, *, train_again: bool = True) -> None:
    """The review at 3 years, approved: the next review is the extension at 6 years; the holder then studies the
    review training again for that period (a new round of the course), unless told not to."""
    decide(officer, apply(user, certificate, REVIEW_DUE - dt.timedelta(days=30)), REVIEW_DUE - dt.timedelta(days=20))
    if train_again:
        review_trained(user, certificate.item, now=at_local_morning(REVIEW_DUE - dt.timedelta(days=10)))


def test_extension_issues_a_new_period_on_the_same_certificate_and_keeps_the_old_one(officer, trained) -> None:
    user, certificate = trained
    reviewed(officer, user, certificate)
    first_seal = certificate.sealed
    day = VALID_UNTIL - dt.timedelta(days=30)
    application = apply(user, certificate, day, delivery=Delivery.MAIL, mail=MAIL)
    assert (application.matter, application.delivery) == (Matter.EXTENSION, Delivery.MAIL)
    decide(officer, application, day + dt.timedelta(days=7))
    assert (certificate.valid_until, certificate.review_due_on) == (dt.date(2038, 11, 2), dt.date(2035, 11, 2))
    assert certificate.first_issued_on == dt.date(2026, 11, 2)
    assert certificate.holder.number.startswith("T")
    assert db.session.execute(sa.select(sa.func.count(Certificate.id))).scalar_one() == 1
    old = renewal.past_periods(certificate.id)
    assert [(p.valid_until, p.review_due_on, p.sealed) for p in old] == [(VALID_UNTIL, VALID_UNTIL, first_seal)]
    claims = payload.verify_text(payload.to_text(certificate.sealed), keyring=KEYRING).claims
    assert (claims.valid_until, claims.number) == (dt.date(2038, 11, 2), certificate.holder.number)
    assert certificate.events[-1].kind is EventKind.EXTENSION
    assert audited("certificate.extended") == 1


def test_the_first_reviews_training_does_not_count_for_the_extension(officer, trained) -> None:
    user, certificate = trained
    reviewed(officer, user, certificate, train_again=False)
    day = VALID_UNTIL - dt.timedelta(days=30)
    assert renewal.review_training(user, certificate) == (0, 3600)
    assert (
        renewal.review_training_missing(user, certificate)
        == "本复审周期内已计入复审培训0分钟，还差1小时0分钟（要求1小时0分钟）。"
    )
    message = refused(user, certificate, day, delivery=Delivery.MAIL, mail=MAIL)
    assert message == "复审培训学时不足：要求1小时0分钟，已计入0分钟。请先完成复审培训。"
    assert audited("certificate.renewal_refused", "training") == 1
    review_trained(user, certificate.item, now=at_local_morning(day - dt.timedelta(days=3)))
    assert renewal.review_training(user, certificate) == (3600, 3600)
    assert renewal.review_training_missing(user, certificate) == ""
    assert apply(user, certificate, day, delivery=Delivery.MAIL, mail=MAIL).matter is Matter.EXTENSION


def test_review_training_before_the_period_began_does_not_count(officer, app, db, monkeypatch) -> None:
    user, item = certs_data.holder(), certs_data.item()
    short_review_training(app, monkeypatch, item)
    review_trained(user, item)  # today, in the course's first round
    certificate = certs_data.issued(user, item, now=at_local_morning(local_today() + dt.timedelta(days=1)))
    assert renewal.review_training(user, certificate) == (0, 3600)


def test_the_6_year_rule_needs_10_years_of_work_and_a_clean_record(officer, trained) -> None:
    user, certificate = trained
    reviewed(officer, user, certificate)
    day = VALID_UNTIL - dt.timedelta(days=40)
    short = apply(user, certificate, day, work_years=8, employer="上海电力")
    applications.accept(officer=officer, application=short, now=at_local_morning(day))
    with pytest.raises(ApplicationError, match="申请人申报的连续从业年限不足10年"):
        applications.approve(officer=officer, application=short, six_years=True, now=at_local_morning(day))
    db.session.commit()
    assert audited("certificate.renewal_approval_refused", "six_years") == 1
    assert (short.status, certificate.valid_until) == (ApplicationStatus.ACCEPTED, VALID_UNTIL)
    applications.refuse(officer=officer, application=short, code="not_qualified", text="从业年限不足")
    db.session.commit()

    long = apply(user, certificate, day + dt.timedelta(days=1), work_years=12, employer="上海电力")
    decide(officer, long, day + dt.timedelta(days=5), six_years=True)
    assert certificate.valid_until == dt.date(2038, 11, 2)
    assert certificate.review_due_on == certificate.valid_until  # reviewed once every 6 years
    assert certificate.events[-1].reason.endswith("（连续从业10年以上，每6年复审一次）")
    assert renewal.past_periods(certificate.id)[0].valid_until == VALID_UNTIL


def test_a_suspension_after_the_review_bars_the_extension_and_the_6_year_rule(officer, trained) -> None:
    user, certificate = trained
    reviewed(officer, user, certificate)
    for status, reason, day in (
        (CertificateStatus.SUSPENDED, "违章作业", dt.date(2030, 5, 1)),
        (CertificateStatus.VALID, "暂扣期满", dt.date(2030, 8, 1)),
    ):
        services.change_status(
            certificate=certificate, status=status, reason=reason, actor_id=None, now=at_local_morning(day)
        )
    db.session.commit()
    assert renewal.six_year_problems(certificate, {"work_years": 15}) == ["2030-05-01 证书被暂扣：违章作业"]
    message = refused(user, certificate, VALID_UNTIL - dt.timedelta(days=40), work_years=15, employer="上海电力")
    assert message.startswith("本复审周期内有不良记录，不能申请延期复审（换发新证）：2030-05-01 证书被暂扣")
    assert audited("certificate.renewal_refused", "record") == 1


def test_reissue_of_a_lost_card(officer, app, db) -> None:
    user, item = certs_data.holder(), certs_data.item()
    certificate = certs_data.issued(user, item)
    with pytest.raises(ApplicationError) as caught:
        renewal.apply_for_reissue(
            user=user, certificate=certificate, reason=" ", delivery=Delivery.MAIL, mail=MailAddress()
        )
    assert set(caught.value.reasons) == {"reason", "address", "recipient", "phone"}
    assert "请写明补办原因" in caught.value.message
    application = renewal.apply_for_reissue(
        user=user, certificate=certificate, reason="遗失", delivery=Delivery.MAIL, mail=MAIL
    )
    db.session.commit()
    with pytest.raises(ApplicationError, match="您已有该证书的补办（遗失补发）申请在办理中"):
        renewal.apply_for_reissue(user=user, certificate=certificate, reason="遗失", delivery=Delivery.MAIL, mail=MAIL)
    db.session.commit()
    assert audited("certificate.renewal_refused", "open") == 1
    seal_before, due_before = certificate.sealed, certificate.review_due_on
    decide(officer, application, dt.date(2027, 3, 1))
    assert (application.matter, application.status) == (Matter.REISSUE, ApplicationStatus.APPROVED)
    assert application.mail_address == MAIL.address
    last = certificate.events[-1]
    assert (last.kind, last.status, last.reason) == (EventKind.REISSUE, CertificateStatus.VALID, "补发证书：遗失")
    assert (certificate.sealed, certificate.review_due_on) == (seal_before, due_before)  # same number, same data
    assert services.document_for(certificate, today=dt.date(2027, 3, 1), with_photo=False).reviews == []
    assert audited("certificate.reissued") == 1
    assert db.session.execute(sa.select(sa.func.count(CertificatePeriod.id))).scalar_one() == 0


def test_a_revoked_certificate_offers_nothing_and_refuses_reissue(officer, app, db) -> None:
    user, item = certs_data.holder(), certs_data.item()
    certificate = certs_data.issued(user, item)
    services.change_status(
        certificate=certificate, status=CertificateStatus.REVOKED, reason="以欺骗手段取得", actor_id=None
    )
    db.session.commit()
    assert renewal.openings(certificate, dt.date(2027, 1, 1)) == []
    with pytest.raises(ApplicationError, match="证书当前为“已撤销”，不能申请补办"):
        renewal.apply_for_reissue(
            user=user, certificate=certificate, reason="遗失", delivery=Delivery.ELECTRONIC, mail=MAIL
        )
    db.session.commit()
    assert audited("certificate.renewal_refused", "status") == 1


def test_openings_say_what_can_be_applied_for_and_when(app, db) -> None:
    user, item = certs_data.holder(), certs_data.item()
    certificate = certs_data.issued(user, item)
    early = renewal.openings(certificate, dt.date(2028, 1, 1))
    assert [(o.matter, o.opens_on, o.due_on, o.open_now) for o in early] == [
        (Matter.REVIEW, dt.date(2029, 9, 3), REVIEW_DUE, False),
        (Matter.REISSUE, None, None, True),
    ]
    assert renewal.openings(certificate, dt.date(2029, 9, 3))[0].open_now is True


def test_a_returned_review_is_submitted_again_with_its_declaration(officer, trained) -> None:
    user, certificate = trained
    application = apply(user, certificate, REVIEW_DUE - dt.timedelta(days=20), work_years=12, employer="上海电力")
    applications.return_for_correction(officer=officer, application=application, corrections=["请写明用人单位全称"])
    db.session.commit()
    applications.resubmit(
        application=application, user=user, signed=True, delivery=Delivery.ELECTRONIC, mail=MailAddress()
    )
    db.session.commit()
    assert (application.matter, application.status) == (Matter.REVIEW, ApplicationStatus.SUBMITTED)
    assert applications.dossier_of(application)["work_years"] == 12


def test_a_reissue_asked_by_mail_queues_its_card_once_and_an_electronic_one_none(officer, app, db) -> None:
    user, item = certs_data.holder(), certs_data.item()
    certificate = certs_data.issued(user, item)
    mailed = renewal.apply_for_reissue(
        user=user, certificate=certificate, reason="遗失", delivery=Delivery.MAIL, mail=MAIL
    )
    db.session.commit()
    decide(officer, mailed, dt.date(2027, 3, 1))
    mailing = mailing_of(mailed)
    assert mailing is not None
    assert (mailing.matter, mailing.certificate_id, mailing.address, mailing.authority_id) == (
        "reissue",
        certificate.id,
        MAIL.address,
        mailed.authority_id,
    )
    assert applications.approve(officer=officer, application=mailed) is certificate  # a repeat queues nothing more
    db.session.commit()
    assert db.session.execute(sa.select(sa.func.count(Mailing.id))).scalar_one() == 1
    assert audited("certificate.mail_queued") == 1

    electronic = renewal.apply_for_reissue(
        user=user, certificate=certificate, reason="损毁", delivery=Delivery.ELECTRONIC, mail=MailAddress()
    )
    db.session.commit()
    decide(officer, electronic, dt.date(2027, 4, 1))
    assert mailing_of(electronic) is None


def test_an_extension_asked_by_mail_queues_the_new_card_and_a_review_never_mails(officer, trained) -> None:
    user, certificate = trained
    review = apply(user, certificate, REVIEW_DUE - dt.timedelta(days=30), delivery=Delivery.MAIL, mail=MAIL)
    decide(officer, review, REVIEW_DUE - dt.timedelta(days=20))
    assert review.delivery is Delivery.ELECTRONIC
    assert mailing_of(review) is None
    review_trained(user, certificate.item, now=at_local_morning(REVIEW_DUE - dt.timedelta(days=10)))
    day = VALID_UNTIL - dt.timedelta(days=30)
    extension = apply(user, certificate, day, delivery=Delivery.MAIL, mail=MAIL)
    decide(officer, extension, day + dt.timedelta(days=7))
    mailing = mailing_of(extension)
    assert mailing is not None
    assert (mailing.matter, mailing.recipient) == ("extension", MAIL.recipient)
