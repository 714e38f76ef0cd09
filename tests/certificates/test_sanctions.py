"""Sanctions as services: each transition with its legal record and the holder's notice, illegal ones refused and
audited with nothing changed, the 3-year bar on a frozen clock, and the status list's bits."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from opcert.accounts.models import User
from opcert.audit.models import AuditEvent
from opcert.certificates import applications, sanctions, seal, services, statuslist
from opcert.certificates.applications_models import CertificateApplication, Delivery
from opcert.certificates.models import CertificateEvent, CertificateStatus, HistoryTamperingError
from opcert.certificates.sanctions_models import CertificateSanction, SanctionKind
from opcert.errors import DomainError
from opcert.extensions import db
from opcert.notifications.services import list_notifications
from opcert.timeutil import local_today
from tests.certificates import certs_data as data
from tests.certificates import sanctions_data as sd
from tests.certificates.test_applications import POOL
from tests.certificates.test_status_life import fetch_list
from tests.fixtures.database import make_app, race


def audit_rows(action: str) -> list[AuditEvent]:
    return list(db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_suspend_lift_revoke_cancel_with_history_grounds_and_notices(app, db) -> None:
    officer = sd.issuing_officer(app)
    user = data.holder("王小明")
    certificate = data.issued(user, data.item())
    sd.sanction(
        officer, certificate, SanctionKind.SUSPEND, "violation", text="未按规定使用绝缘用具", until=dt.date(2027, 5, 9)
    )
    assert certificate.status is CertificateStatus.SUSPENDED
    assert certificate.status_on == dt.date(2026, 11, 10)
    assert "违反安全操作规程作业" in certificate.status_reason
    assert "暂扣至2027-05-09" in certificate.status_reason
    assert "未按规定使用绝缘用具" in certificate.status_reason

    lift_at = dt.datetime(2027, 5, 10, 2, 0, tzinfo=dt.UTC)
    sd.sanction(officer, certificate, SanctionKind.LIFT, "period_ended", text="暂扣期满，经考核合格", now=lift_at)
    assert certificate.status is CertificateStatus.VALID
    revoke_at = dt.datetime(2028, 1, 5, 2, 0, tzinfo=dt.UTC)
    sd.sanction(officer, certificate, SanctionKind.REVOKE, "accident", text="对事故负有责任", now=revoke_at)
    assert certificate.status is CertificateStatus.REVOKED
    sd.sanction(officer, certificate, SanctionKind.CANCEL, "revoked", text="撤销后注销", now=revoke_at)
    assert certificate.status is CertificateStatus.CANCELLED

    assert [(e.status, e.on) for e in certificate.events] == [
        (CertificateStatus.VALID, dt.date(2026, 11, 2)),
        (CertificateStatus.SUSPENDED, dt.date(2026, 11, 10)),
        (CertificateStatus.VALID, dt.date(2027, 5, 10)),
        (CertificateStatus.REVOKED, dt.date(2028, 1, 5)),
        (CertificateStatus.CANCELLED, dt.date(2028, 1, 5)),
    ]
    records = sanctions.sanctions_of(certificate)
    assert [(s.kind, s.ground, s.until, s.bars_until) for s in records] == [
        (SanctionKind.SUSPEND, "violation", dt.date(2027, 5, 9), None),
        (SanctionKind.LIFT, "period_ended", None, None),
        (SanctionKind.REVOKE, "accident", None, None),  # an accident carries no bar
        (SanctionKind.CANCEL, "revoked", None, None),
    ]
    assert [r.event.status for r in records] == [e.status for e in certificate.events[1:]]
    notices = list_notifications(user_id=user.id)
    assert len(notices) == 4
    assert any("暂扣" in n.subject and "未按规定使用绝缘用具" in n.body for n in notices)
    assert len(audit_rows("certificate.sanctioned")) == 4
    assert sanctions.available_actions(certificate) == []


def test_a_suspension_lifted_after_the_review_date_is_review_due(app, db) -> None:
    officer = sd.issuing_officer(app)
    certificate = data.issued(data.holder(), data.item())
    sd.sanction(officer, certificate, SanctionKind.SUSPEND, "violation", until=dt.date(2030, 1, 1))
    sd.sanction(officer, certificate, SanctionKind.LIFT, "cleared", now=dt.datetime(2029, 12, 1, 2, tzinfo=dt.UTC))
    assert certificate.status is CertificateStatus.REVIEW_DUE


@pytest.mark.parametrize(
    ("setup", "kind", "ground", "message"),
    [
        ([], SanctionKind.LIFT, "cleared", "没有可解除的暂扣"),
        ([], SanctionKind.CANCEL, "revoked", "不适用“证书已被依法撤销”"),
        ([], SanctionKind.REVOKE, "expired_unextended", "不适用“超过有效期未延期复审”"),
        ([(SanctionKind.REVOKE, "fraud")], SanctionKind.SUSPEND, "violation", "证书当前为“已撤销”，不能暂扣"),
        ([(SanctionKind.CANCEL, "death")], SanctionKind.REVOKE, "fraud", "证书当前为“已注销”，不能撤销"),
        ([(SanctionKind.CANCEL, "request")], SanctionKind.CANCEL, "death", "证书当前为“已注销”，不能注销"),
        (
            [(SanctionKind.SUSPEND, "violation")],
            SanctionKind.SUSPEND,
            "violation",
            "证书当前为“暂扣”，不能暂扣",
        ),
    ],
)
def test_illegal_transitions_are_refused_audited_and_change_nothing(app, db, setup, kind, ground, message) -> None:
    officer = sd.issuing_officer(app)
    certificate = data.issued(data.holder(), data.item())
    for done_kind, done_ground in setup:
        until = dt.date(2027, 1, 1) if done_kind is SanctionKind.SUSPEND else None
        sd.sanction(officer, certificate, done_kind, done_ground, until=until)
    before = (certificate.status, len(certificate.events), len(sanctions.sanctions_of(certificate)))
    with pytest.raises(DomainError, match=message):
        sanctions.apply_sanction(
            officer=officer,
            certificate=certificate,
            kind=kind,
            ground=ground,
            text="事实",
            until=dt.date(2027, 6, 1),
            now=sd.SANCTIONED_AT,
        )
    db.session.commit()  # as the view does: only the refusal's audit row is kept
    db.session.expire_all()
    certificate = services.get_certificate(certificate.id)
    assert (certificate.status, len(certificate.events), len(sanctions.sanctions_of(certificate))) == before
    refused = audit_rows("certificate.sanction_refused")
    assert len(refused) == 1
    assert json.loads(refused[0].details)["kind"] == kind.value


def test_missing_ground_text_or_end_date_are_named_at_once(app, db) -> None:
    officer = sd.issuing_officer(app)
    certificate = data.issued(data.holder(), data.item())
    with pytest.raises(DomainError) as caught:
        sanctions.apply_sanction(
            officer=officer,
            certificate=certificate,
            kind=SanctionKind.SUSPEND,
            ground="nonsense",
            text="  ",
            until=dt.date(2026, 11, 10),
            now=sd.SANCTIONED_AT,
        )
    assert set(caught.value.reasons) == {"ground", "text", "until"}
    assert "须晚于今天" in caught.value.reasons["until"]
    with pytest.raises(DomainError, match="请写明具体事实和理由"):
        sanctions.apply_sanction(
            officer=officer,
            certificate=certificate,
            kind=SanctionKind.REVOKE,
            ground="fraud",
            text="",
            now=sd.SANCTIONED_AT,
        )
    db.session.rollback()
    assert certificate.status is CertificateStatus.VALID


def test_an_expired_certificate_may_be_revoked_for_not_being_extended_then_cancelled(app, db) -> None:
    officer = sd.issuing_officer(app)
    certificate = data.issued(data.holder(), data.item())
    later = dt.datetime(2032, 11, 3, 2, tzinfo=dt.UTC)  # the day after the six years, before the daily command ran
    sd.sanction(officer, certificate, SanctionKind.REVOKE, "expired_unextended", now=later)
    assert certificate.status is CertificateStatus.REVOKED
    sd.sanction(officer, certificate, SanctionKind.CANCEL, "revoked", now=later)
    assert certificate.status is CertificateStatus.CANCELLED


def test_a_fraud_revocation_bars_a_new_application_for_three_years_to_the_day(app, db) -> None:
    officer = sd.issuing_officer(app)
    user = data.holder()
    item, other_item = data.item(), data.item("高压电工作业")
    certificate = data.issued(user, item)
    revoked = sd.sanction(officer, certificate, SanctionKind.REVOKE, "fraud", text="冒用他人考试成绩")
    assert revoked.bars_until == dt.date(2029, 11, 10)
    assert any("2029-11-10起方可再次申请" in n.body for n in list_notifications(user_id=user.id))

    day_before = dt.datetime(2029, 11, 9, 15, 59, tzinfo=dt.UTC)  # 23:59 on 9 November in Shanghai
    with pytest.raises(DomainError, match="2029-11-10前不得再次申请"):
        applications.submit_application(
            user=user,
            item=item,
            signed=True,
            delivery=Delivery.ELECTRONIC,
            mail=applications.MailAddress(),
            now=day_before,
        )
    db.session.commit()  # the refusal's audit row, as the page keeps it
    barred = [e for e in audit_rows("certificate.application_refused") if json.loads(e.details) == {"reason": "barred"}]
    assert len(barred) == 1
    assert db.session.execute(sa.select(sa.func.count(CertificateApplication.id))).scalar_one() == 0
    assert sanctions.reapplication_bar(user=user, item=item, on=dt.date(2029, 11, 9)) is not None
    assert sanctions.reapplication_bar(user=user, item=item, on=dt.date(2029, 11, 10)) is None
    assert sanctions.reapplication_bar(user=user, item=item, on=dt.date(2029, 11, 11)) is None
    assert sanctions.reapplication_bar(user=user, item=other_item, on=dt.date(2027, 1, 1)) is None


@pytest.mark.parametrize(("ground", "bars"), [("false_info", True), ("false_commitment", True), ("unfit", False)])
def test_which_revocation_grounds_carry_the_bar(app, db, ground, bars) -> None:
    officer = sd.issuing_officer(app)
    user, item = data.holder(), data.item()
    sd.sanction(officer, data.issued(user, item), SanctionKind.REVOKE, ground)
    assert (sanctions.reapplication_bar(user=user, item=item, on=dt.date(2027, 1, 1)) is not None) is bars


def test_the_next_status_list_has_the_suspension_bit_and_loses_it_when_lifted(app, client) -> None:
    with app.app_context():
        officer_id = sd.issuing_officer(app).id
        cid = data.issued(data.holder(), data.item()).id
        keyring = seal.keyring_from_json(json.dumps(seal.published_keys()))
        today = local_today()
    assert not fetch_list(client, keyring).bit("suspension", cid)

    def act(kind: SanctionKind, ground: str, until: dt.date | None = None) -> None:
        with app.app_context():
            officer = db.session.get(User, officer_id)
            sanctions.apply_sanction(
                officer=officer,
                certificate=services.get_certificate(cid),
                kind=kind,
                ground=ground,
                text="核实",
                until=until,
            )
            db.session.commit()

    act(SanctionKind.SUSPEND, "violation", until=today + dt.timedelta(days=90))
    suspended = fetch_list(client, keyring)
    assert suspended.bit("suspension", cid)
    assert not suspended.bit("revocation", cid)
    act(SanctionKind.LIFT, "cleared")
    lifted = fetch_list(client, keyring)
    assert not lifted.bit("suspension", cid)
    assert not lifted.bit("revocation", cid)
    assert lifted.issued_at >= suspended.issued_at
    act(SanctionKind.CANCEL, "request")
    assert fetch_list(client, keyring).bit("revocation", cid)


def test_sanctions_cannot_be_changed_or_deleted(app, db) -> None:
    officer = sd.issuing_officer(app)
    certificate = data.issued(data.holder(), data.item())
    applied = sd.sanction(officer, certificate, SanctionKind.REVOKE, "fraud")
    applied.text = "改写"
    with pytest.raises(HistoryTamperingError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(CertificateSanction, applied.id))
    with pytest.raises(HistoryTamperingError):
        db.session.flush()
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(CertificateEvent.id))).scalar_one() == 2


def test_concurrent_suspensions_of_one_certificate_apply_once(app, database_url) -> None:
    with app.app_context():
        officer_id = sd.issuing_officer(app).id
        cid = data.issued(data.holder(), data.item()).id
    racer = make_app(database_url, SQLALCHEMY_ENGINE_OPTIONS=POOL, CERT_SEAL_KEYRING=app.config["CERT_SEAL_KEYRING"])

    def suspend() -> int:
        officer = db.session.get(User, officer_id)
        certificate = sanctions.managed_certificate(officer=officer, certificate_id=cid)
        try:
            applied = sanctions.apply_sanction(
                officer=officer,
                certificate=certificate,
                kind=SanctionKind.SUSPEND,
                ground="violation",
                text="同时办理",
                until=local_today() + dt.timedelta(days=30),
            )
        except DomainError:
            db.session.commit()
            return 0
        db.session.commit()
        return applied.id

    outcomes, errors = race(racer, 8, suspend)
    assert not errors, errors[:3]
    assert len([o for o in outcomes if o]) == 1
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count(CertificateSanction.id))).scalar_one() == 1
        assert [e.status for e in services.get_certificate(cid).events] == [
            CertificateStatus.VALID,
            CertificateStatus.SUSPENDED,
        ]
        assert len(audit_rows("certificate.sanction_refused")) == 7


def test_a_change_stamped_before_the_list_was_built_still_makes_it_stale(app, db) -> None:
    """A worker whose clock is behind (or a change committed while the list was being built) stamps its event
    earlier than the list's time: the list must still be rebuilt with the new bit."""
    officer = sd.issuing_officer(app)
    certificate = data.issued(data.holder(), data.item())
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    statuslist.current_status_list(now=ahead)
    db.session.commit()
    sd.sanction(officer, certificate, SanctionKind.REVOKE, "fraud", now=ahead - dt.timedelta(minutes=1))
    document = statuslist.current_status_list(now=ahead + dt.timedelta(seconds=1))
    db.session.commit()
    checked = statuslist.check_status_list(json.dumps(document), keyring=seal.load_keyring())
    assert checked.bit("revocation", certificate.id)
    again = statuslist.current_status_list(now=ahead + dt.timedelta(seconds=2))
    assert again == document  # and then reused while nothing changes
