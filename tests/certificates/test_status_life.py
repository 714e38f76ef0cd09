"""The status life: the daily command on a frozen clock, suspension and revocation online at once and in the next
signed status list, which offline verifiers check (with its age)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from opcert.certificates import payload, seal, services, statuslist
from opcert.certificates.models import CertificateStatus
from opcert.certificates.statuslist import StatusListError
from opcert.errors import DomainError
from opcert.extensions import db
from tests.certificates import certs_data as data
from tests.certificates.test_public_verification import post, result_of


def at_local_morning(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai


def test_review_due_then_expired_on_their_days_with_history_kept(db) -> None:
    certificate = data.issued(data.holder(), data.item())
    assert services.record_calendar_statuses(now=at_local_morning(dt.date(2029, 11, 1))) == {
        "review_due": 0,
        "expired": 0,
    }
    assert services.record_calendar_statuses(now=at_local_morning(dt.date(2029, 11, 2)))["review_due"] == 1
    db.session.commit()
    assert certificate.status is CertificateStatus.REVIEW_DUE
    assert services.record_calendar_statuses(now=at_local_morning(dt.date(2029, 11, 3))) == {
        "review_due": 0,
        "expired": 0,
    }
    assert services.record_calendar_statuses(now=at_local_morning(dt.date(2032, 11, 2)))["expired"] == 1
    db.session.commit()
    assert certificate.status is CertificateStatus.EXPIRED
    assert [(e.status, e.reason, e.on) for e in certificate.events] == [
        (CertificateStatus.VALID, "首次发证", dt.date(2026, 11, 2)),
        (CertificateStatus.REVIEW_DUE, "到期应复审", dt.date(2029, 11, 2)),
        (CertificateStatus.EXPIRED, "有效期届满", dt.date(2032, 11, 2)),
    ]


def test_illegal_transitions_and_missing_reasons_are_refused(db) -> None:
    certificate = data.issued(data.holder(), data.item())
    with pytest.raises(DomainError, match="请写明原因"):
        services.change_status(certificate=certificate, status=CertificateStatus.REVOKED, reason=" ", actor_id=None)
    services.change_status(
        certificate=certificate, status=CertificateStatus.CANCELLED, reason="本人申请", actor_id=None
    )
    with pytest.raises(DomainError, match="不能改为"):
        services.change_status(certificate=certificate, status=CertificateStatus.VALID, reason="", actor_id=None)
    db.session.rollback()


def set_status(app, certificate_id: int, status: CertificateStatus, reason: str) -> None:
    """An officer's status change, committed."""
    with app.app_context():
        certificate = services.get_certificate(certificate_id)
        services.change_status(certificate=certificate, status=status, reason=reason, actor_id=None)
        db.session.commit()


def fetch_list(client, keyring) -> statuslist.CheckedList:
    response = client.get("/certificates/status-list.json")
    assert response.status_code == 200
    return statuslist.check_status_list(response.get_data(as_text=True), keyring=keyring)


def test_suspension_and_revocation_show_online_at_once_and_in_the_next_status_list(app, client) -> None:
    with app.app_context():
        certificate = data.issued(data.holder("王小明"), data.item())
        cid, number, qr = certificate.id, certificate.holder.number, payload.to_text(certificate.sealed)
        keyring = seal.keyring_from_json(json.dumps(seal.published_keys()))
    before = fetch_list(client, keyring)
    assert not before.bit("suspension", cid)
    assert not before.bit("revocation", cid)

    set_status(app, cid, CertificateStatus.SUSPENDED, "违章作业，暂扣6个月")
    shown = result_of(post(client, {"method": "number", "n-number": number, "n-name": "王小明"}))
    assert "暂扣" in shown
    assert "违章作业，暂扣6个月" in shown
    assert fetch_list(client, keyring).bit("suspension", cid)

    set_status(app, cid, CertificateStatus.REVOKED, "以欺骗手段取得")
    shown = result_of(post(client, {"method": "qr", "q-text": qr}))
    assert "电子印章验证通过" in shown  # the seal is still genuine ...
    assert "已撤销" in shown  # ... and the online status says what happened since
    assert "以欺骗手段取得" in shown
    after = fetch_list(client, keyring)
    assert after.bit("revocation", cid)
    assert not after.bit("suspension", cid)
    assert after.issued_at >= before.issued_at


def test_the_list_is_reused_until_stale_and_a_tampered_list_is_refused(app, client) -> None:
    with app.app_context():
        data.issued(data.holder(), data.item())
        keyring = seal.load_keyring()
    first = client.get("/certificates/status-list.json").get_json()
    assert client.get("/certificates/status-list.json").get_json() == first
    assert first["type"] == "BitstringStatusList"
    assert first["size"] >= statuslist.MIN_BITS
    forged = dict(first, revocation=first["suspension"], validFrom="2030-01-01T00:00:00+00:00")
    for text in (json.dumps(forged), "{}", "not json", json.dumps({**first, "proof": {**first["proof"], "kid": "x"}})):
        with pytest.raises(StatusListError):
            statuslist.check_status_list(text, keyring=keyring)


def test_offline_command_checks_the_status_list_and_shows_its_age(app, runner, client, tmp_path) -> None:
    with app.app_context():
        certificate = data.issued(data.holder(), data.item(), now=dt.datetime.now(dt.UTC))
        cid, qr = certificate.id, payload.to_text(certificate.sealed)
    listing = tmp_path / "status.json"
    listing.write_text(client.get("/certificates/status-list.json").get_data(as_text=True), encoding="utf-8")
    result = runner.invoke(args=["certificates", "verify-qr", qr, "--status-list", str(listing)])
    assert result.exit_code == 0, result.output
    assert "未撤销、未暂扣" in result.output
    assert "小时前" in result.output

    set_status(app, cid, CertificateStatus.REVOKED, "发生责任事故")
    listing.write_text(client.get("/certificates/status-list.json").get_data(as_text=True), encoding="utf-8")
    result = runner.invoke(args=["certificates", "verify-qr", qr, "--status-list", str(listing), "--json"])
    assert result.exit_code == 1
    answer = json.loads(result.output)
    assert answer["listed_status"] == "revoked"
    assert answer["status_list_age_hours"] < 1


def test_expire_command_runs(app, runner) -> None:
    result = runner.invoke(args=["certificates", "expire"])
    assert result.exit_code == 0, result.output
    assert "expired: 0" in result.output
