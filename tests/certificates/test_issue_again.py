"""A certificate no longer in force (revoked once any bar is over, cancelled, expired) does not stop a new
first-issue application; its approval issues again on the same row, the old period and history kept, once."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from opcert.accounts.models import User
from opcert.certificates import applications, public, renewal, services, statuslist
from opcert.certificates.applications import ApplicationError, MailAddress
from opcert.certificates.applications_models import Delivery
from opcert.certificates.models import Certificate, CertificateStatus
from opcert.certificates.renewal_models import CertificatePeriod
from opcert.certificates.sanctions_models import SanctionKind
from opcert.extensions import db
from opcert.timeutil import local_today
from tests.certificates import applications_data, certs_data
from tests.certificates import sanctions_data as sd
from tests.certificates.conftest import KEYRING
from tests.certificates.renewal_data import at_local_morning, audited
from tests.fixtures.database import make_app, race

POOL = {"pool_pre_ping": True, "pool_size": 24, "max_overflow": 4, "pool_timeout": 60}


def _submit(user, item, now: dt.datetime | None = None):
    return applications.submit_application(
        user=user, item=item, signed=True, delivery=Delivery.ELECTRONIC, mail=MailAddress(), now=now
    )


def _refused(user, item, now: dt.datetime | None = None) -> str:
    with pytest.raises(ApplicationError) as caught:
        _submit(user, item, now)
    db.session.commit()
    return str(caught.value.message)


def _years_ago(years: int, days: int = 0) -> dt.date:
    today = local_today()
    return services.add_years(today, -years) - dt.timedelta(days=days)


@pytest.fixture
def earlier(app, db):
    """A person who passed the item's exams lately, with a certificate for it issued five years ago."""
    _authority, officer = applications_data.bureau(app)
    user, item = applications_data.passed()
    certificate = certs_data.issued(user, item, now=at_local_morning(_years_ago(5)))
    return user, item, certificate, officer


def _end(app, certificate: Certificate, how: str) -> dt.date | None:
    """End the certificate: revoked for fraud four years ago (a bar to one year ago), cancelled, or expired."""
    if how == "expired":  # issued more than six years ago: expired today, even before the daily command
        db.session.execute(
            sa.update(Certificate).where(Certificate.id == certificate.id).values(valid_until=_years_ago(0, days=3))
        )
        db.session.commit()
        db.session.refresh(certificate)
        return None
    officer = sd.issuing_officer(app)
    kind, ground = {"revoked": (SanctionKind.REVOKE, "fraud"), "cancelled": (SanctionKind.CANCEL, "request")}[how]
    sanction = sd.sanction(officer, certificate, kind, ground, now=at_local_morning(_years_ago(4)))
    return sanction.bars_until


@pytest.mark.parametrize("how", ["revoked", "cancelled", "expired"])
def test_a_certificate_no_longer_in_force_is_applied_for_and_issued_again_on_the_same_row(app, earlier, how) -> None:
    user, item, certificate, officer = earlier
    bars_until = _end(app, certificate, how)
    before = (certificate.id, certificate.valid_until, certificate.review_due_on, certificate.sealed)
    if bars_until is not None:  # during the bar: refused with its end
        assert "不得再次申请" in _refused(user, item, at_local_morning(bars_until - dt.timedelta(days=1)))

    application = _submit(user, item)
    applications.accept(officer=officer, application=application)
    issued = applications.approve(officer=officer, application=application)
    db.session.commit()
    today = local_today()
    assert issued is not None
    assert issued.id == certificate.id
    assert db.session.execute(sa.select(sa.func.count(Certificate.id))).scalar_one() == 1
    db.session.refresh(certificate)
    assert certificate.status is CertificateStatus.VALID
    assert (certificate.first_issued_on, certificate.valid_until, certificate.review_due_on) == (
        today,
        services.add_years(today, 6),
        services.add_years(today, 3),
    )
    assert certificate.sealed != before[3]
    periods = renewal.past_periods(certificate.id)
    assert [(p.valid_until, p.review_due_on, p.sealed) for p in periods] == [(before[1], before[2], before[3])]
    statuses = [e.status for e in certificate.events]
    assert statuses[0] is CertificateStatus.VALID
    assert statuses[-1] is CertificateStatus.VALID
    assert certificate.events[-1].reason.startswith("重新发证")
    assert len(statuses) == (2 if how == "expired" else 3)
    assert audited("certificate.issued_again") == 1

    # Idempotent: approving again, or issuing again, gives the one result.
    assert applications.approve(officer=officer, application=application) is certificate
    again = services.issue_certificate(user=user, item=item, exams=certs_data.EXAMS, actor_id=None)
    db.session.commit()
    assert (again.certificate.id, again.created) == (certificate.id, False)
    assert len(certificate.events) == len(statuses)
    assert db.session.execute(sa.select(sa.func.count(CertificatePeriod.id))).scalar_one() == 1

    # Public verification shows the new status with the old history; the status list has the bit cleared.
    found = public.verify_by_number(number=certificate.holder.number, name=certificate.holder.name, ip="192.0.2.8")
    assert [(e.status, e.first_issued_on, len(e.history)) for e in found.entries] == [
        (CertificateStatus.VALID, today, len(statuses))
    ]
    listed = statuslist.check_status_list(json.dumps(statuslist.current_status_list()), keyring=KEYRING)
    assert not listed.bit("revocation", certificate.id)
    # And a second application is refused: the certificate is in force again.
    assert "您已持有" in _refused(user, item)


def test_a_revoked_certificate_is_listed_until_issued_again(app, earlier) -> None:
    user, item, certificate, officer = earlier
    _end(app, certificate, "revoked")
    listed = statuslist.check_status_list(json.dumps(statuslist.current_status_list()), keyring=KEYRING)
    assert listed.bit("revocation", certificate.id)
    db.session.commit()
    application = _submit(user, item)
    applications.accept(officer=officer, application=application)
    applications.approve(officer=officer, application=application)
    db.session.commit()
    listed = statuslist.check_status_list(json.dumps(statuslist.current_status_list()), keyring=KEYRING)
    assert not listed.bit("revocation", certificate.id)


@pytest.mark.parametrize("status", [CertificateStatus.SUSPENDED, CertificateStatus.REVIEW_DUE])
def test_a_suspended_or_review_due_certificate_still_blocks_a_new_application(app, earlier, status) -> None:
    user, item, certificate, _officer = earlier
    services.change_status(certificate=certificate, status=status, reason="违章作业", actor_id=None)
    db.session.commit()
    assert "您已持有" in _refused(user, item)


def test_concurrent_approvals_issue_an_ended_certificate_again_once(app, database_url) -> None:
    with app.app_context():
        _authority, officer = applications_data.bureau(app)
        user, item = applications_data.passed()
        certificate = certs_data.issued(user, item, now=at_local_morning(_years_ago(5)))
        _end(app, certificate, "cancelled")
        application = _submit(user, item)
        applications.accept(officer=officer, application=application)
        db.session.commit()
        application_id, officer_id, certificate_id = application.id, officer.id, certificate.id
    racer = make_app(
        database_url,
        SQLALCHEMY_ENGINE_OPTIONS=POOL,
        CERT_SEAL_KEYRING=app.config["CERT_SEAL_KEYRING"],
        CERT_APPLICATION_AUTHORITY=app.config["CERT_APPLICATION_AUTHORITY"],
    )

    def approve() -> int:
        who = db.session.get(User, officer_id)
        issued = applications.approve(officer=who, application=applications.reviewable(who, application_id))
        db.session.commit()
        assert issued is not None
        return issued.id

    outcomes, errors = race(racer, 10, approve)
    assert not errors, errors[:3]
    assert outcomes == [certificate_id] * 10
    with app.app_context():
        assert audited("certificate.issued_again") == 1
        assert audited("certificate.application_approved") == 1
        assert db.session.execute(sa.select(sa.func.count(CertificatePeriod.id))).scalar_one() == 1
        row = services.get_certificate(certificate_id)
        assert row.status is CertificateStatus.VALID
        assert [e.reason.startswith("重新发证") for e in row.events].count(True) == 1
