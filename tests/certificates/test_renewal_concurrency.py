"""Later matters decided at once by several officers' requests (double clicks, two tabs, retries): a review is
recorded once and moves the review date once; an extension keeps exactly one old period; a reissue reissues once.
Real threads on the run's database, as the first issue's concurrency test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask

from opcert.accounts.models import User
from opcert.certificates import applications, renewal, services
from opcert.certificates.applications_models import ApplicationStatus, CertificateApplication
from opcert.certificates.models import EventKind
from opcert.certificates.renewal_models import CertificatePeriod
from opcert.extensions import db
from tests.certificates import applications_data, certs_data
from tests.certificates.renewal_data import at_local_morning, audited, review_trained, short_review_training
from tests.fixtures.database import make_app, race

REVIEW_DUE = dt.date(2029, 11, 2)  # certs_data issues on 2026-11-02: review at 3 years, valid 6 years
VALID_UNTIL = dt.date(2032, 11, 2)
POOL = {"pool_pre_ping": True, "pool_size": 24, "max_overflow": 4, "pool_timeout": 60}
RACERS = 10


def _apply(user: User, certificate_id: int, day: dt.date) -> CertificateApplication:
    certificate = services.get_certificate(certificate_id)
    application = renewal.apply_for_renewal(
        user=user, certificate=certificate, now=at_local_morning(day), signed=True, work_years=None, employer=""
    )
    db.session.commit()
    return application


def _decide_once(officer: User, application: CertificateApplication, day: dt.date) -> None:
    now = at_local_morning(day)
    applications.accept(officer=officer, application=application, now=now)
    applications.approve(officer=officer, application=application, now=now)
    db.session.commit()


def _race_approvals(app: Flask, database_url: str, officer_id: int, application_id: int, day: dt.date) -> list[object]:
    racer = make_app(
        database_url,
        SQLALCHEMY_ENGINE_OPTIONS=POOL,
        CERT_SEAL_KEYRING=app.config["CERT_SEAL_KEYRING"],
        CERT_APPLICATION_AUTHORITY=app.config["CERT_APPLICATION_AUTHORITY"],
        CERT_REVIEW_TRAINING_HOURS=app.config["CERT_REVIEW_TRAINING_HOURS"],
        TRAINING_FACE_CHECKS_PER_HOUR=0,
    )

    def approve() -> object:
        who = db.session.get(User, officer_id)
        issued = applications.approve(
            officer=who, application=applications.reviewable(who, application_id), now=at_local_morning(day)
        )
        db.session.commit()
        return None if issued is None else issued.id

    outcomes, errors = race(racer, RACERS, approve)
    assert not errors, errors[:3]
    return outcomes


@pytest.fixture
def accepted(app: Flask, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, int, int]]:
    """A holder with review training and a certificate; `accepted(extension=...)` gives (officer id, accepted
    review or extension application id, certificate id), the review approved first for an extension."""

    def make(*, extension: bool) -> tuple[int, int, int]:
        with app.app_context():
            officer = applications_data.bureau(app)[1]
            user, item = certs_data.holder(), certs_data.item()
            short_review_training(app, monkeypatch, item)
            certificate = certs_data.issued(user, item)
            review_trained(user, item)
            if extension:
                review = _apply(user, certificate.id, REVIEW_DUE - dt.timedelta(days=30))
                _decide_once(officer, review, REVIEW_DUE - dt.timedelta(days=20))
                review_trained(user, item, now=at_local_morning(REVIEW_DUE - dt.timedelta(days=10)))  # next period's
                application = _apply(user, certificate.id, VALID_UNTIL - dt.timedelta(days=30))
            else:
                application = _apply(user, certificate.id, REVIEW_DUE - dt.timedelta(days=5))
            applications.accept(
                officer=officer, application=application, now=at_local_morning(_decision_day(extension))
            )
            db.session.commit()
            return officer.id, application.id, certificate.id

    return make


def _decision_day(extension: bool) -> dt.date:
    return VALID_UNTIL - dt.timedelta(days=20) if extension else REVIEW_DUE + dt.timedelta(days=3)


def test_concurrent_approvals_of_a_review_record_it_once(app: Flask, database_url: str, accepted) -> None:
    officer_id, application_id, certificate_id = accepted(extension=False)
    outcomes = _race_approvals(app, database_url, officer_id, application_id, _decision_day(False))
    assert outcomes == [certificate_id] * RACERS
    with app.app_context():
        certificate = services.get_certificate(certificate_id)
        assert [e.kind for e in certificate.events].count(EventKind.REVIEW) == 1
        assert certificate.review_due_on == VALID_UNTIL  # moved three years once, not once per request
        assert audited("certificate.reviewed") == 1
        assert audited("certificate.application_approved") == 1
        assert db.session.get(CertificateApplication, application_id).status is ApplicationStatus.APPROVED


def test_concurrent_approvals_of_an_extension_keep_one_old_period(app: Flask, database_url: str, accepted) -> None:
    officer_id, application_id, certificate_id = accepted(extension=True)
    outcomes = _race_approvals(app, database_url, officer_id, application_id, _decision_day(True))
    assert outcomes == [certificate_id] * RACERS
    with app.app_context():
        certificate = services.get_certificate(certificate_id)
        assert certificate.valid_until == dt.date(2038, 11, 2)  # six years more, once
        assert [e.kind for e in certificate.events].count(EventKind.EXTENSION) == 1
        periods = db.session.execute(sa.select(sa.func.count(CertificatePeriod.id))).scalar_one()
        assert periods == 1
        assert audited("certificate.extended") == 1
