"""On a frozen clock: a suspension with a last day ends by itself in the daily command (`opcert certificates
expire`) the day after, audited, with its event, a lifting sanction and a notice; the status computed for a day
agrees before the command has run; the status list loses the suspension bit."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from opcert.certificates import sanctions, services, statuslist
from opcert.certificates.models import CertificateStatus
from opcert.certificates.sanctions_models import SanctionKind
from opcert.extensions import db
from tests.certificates import certs_data as data
from tests.certificates import sanctions_data as sd
from tests.certificates.conftest import KEYRING
from tests.certificates.renewal_data import at_local_morning, audited
from tests.certificates.service_data import notices

LAST_DAY = dt.date(2026, 12, 31)  # suspended on 10 November 2026 (sd.SANCTIONED_AT) up to this day


def _expire(runner, monkeypatch: pytest.MonkeyPatch, day: dt.date) -> str:
    monkeypatch.setattr("opcert.certificates.cli.utcnow", lambda: at_local_morning(day))
    result = runner.invoke(args=["certificates", "expire"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


def _suspended_bit(certificate_id: int) -> bool:
    listed = statuslist.check_status_list(json.dumps(statuslist.current_status_list()), keyring=KEYRING)
    db.session.commit()
    return listed.bit("suspension", certificate_id)


def test_a_suspension_ends_by_itself_the_day_after_its_last_day(app, db, runner, monkeypatch) -> None:
    officer = sd.issuing_officer(app)
    user = data.holder()
    certificate = data.issued(user, data.item())
    sd.sanction(officer, certificate, SanctionKind.SUSPEND, "violation", until=LAST_DAY)
    certificate_id = certificate.id
    assert services.status_on(certificate, LAST_DAY) is CertificateStatus.SUSPENDED
    assert services.status_on(certificate, LAST_DAY + dt.timedelta(days=1)) is CertificateStatus.VALID
    assert _suspended_bit(certificate_id)

    assert "suspensions ended: 0" in _expire(runner, monkeypatch, LAST_DAY)
    certificate = services.get_certificate(certificate_id)
    assert certificate.status is CertificateStatus.SUSPENDED

    assert "suspensions ended: 1" in _expire(runner, monkeypatch, LAST_DAY + dt.timedelta(days=1))
    certificate = services.get_certificate(certificate_id)
    assert certificate.status is CertificateStatus.VALID
    last = certificate.events[-1]
    assert (last.status, last.reason, last.on, last.actor_id) == (
        CertificateStatus.VALID,
        "暂扣期满，自动恢复",
        dt.date(2027, 1, 1),
        None,
    )
    lifted = sanctions.sanctions_of(certificate)[-1]
    assert (lifted.kind, lifted.ground, lifted.event_id) == (SanctionKind.LIFT, "period_ended", last.id)
    assert audited("certificate.suspension_ended") == 1
    assert any(
        "暂扣期已于2026-12-31届满，已自动恢复为“有效”" in body for body in notices(user.id, "certificate_status")
    )
    assert not _suspended_bit(certificate_id)

    assert "suspensions ended: 0" in _expire(runner, monkeypatch, LAST_DAY + dt.timedelta(days=2))
    assert len(services.get_certificate(certificate_id).events) == len(certificate.events)
    assert audited("certificate.suspension_ended") == 1


def test_a_suspension_ending_after_the_review_date_gives_review_due_and_past_validity_expires(app, db) -> None:
    officer = sd.issuing_officer(app)
    review_due = data.issued(data.holder(), data.item())
    sd.sanction(officer, review_due, SanctionKind.SUSPEND, "violation", until=dt.date(2029, 12, 1))
    past_validity = data.issued(data.holder("李四"), data.item("高压电工作业"))
    sd.sanction(officer, past_validity, SanctionKind.SUSPEND, "violation", until=dt.date(2032, 12, 1))
    assert sanctions.end_lapsed_suspensions(now=at_local_morning(dt.date(2029, 12, 1))) == 0
    assert sanctions.end_lapsed_suspensions(now=at_local_morning(dt.date(2029, 12, 2))) == 1
    db.session.commit()
    assert (review_due.status, past_validity.status) == (CertificateStatus.REVIEW_DUE, CertificateStatus.SUSPENDED)

    day = dt.date(2032, 12, 2)
    assert services.status_on(past_validity, day) is CertificateStatus.EXPIRED
    assert sanctions.end_lapsed_suspensions(now=at_local_morning(day)) == 0  # left to the expiry
    assert services.record_calendar_statuses(now=at_local_morning(day))["expired"] == 2
    db.session.commit()
    assert past_validity.status is CertificateStatus.EXPIRED
    assert past_validity.events[-1].reason == "有效期届满"


def test_a_suspension_without_a_last_day_does_not_end_by_itself(app, db) -> None:
    certificate = data.issued(data.holder(), data.item())
    services.change_status(certificate=certificate, status=CertificateStatus.SUSPENDED, reason="调查", actor_id=None)
    db.session.commit()
    assert services.status_on(certificate, dt.date(2030, 1, 1)) is CertificateStatus.SUSPENDED
    assert sanctions.end_lapsed_suspensions(now=at_local_morning(dt.date(2030, 1, 1))) == 0
