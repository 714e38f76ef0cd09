"""Concurrent requests: approvals of a mailed application queue one card, concurrent "sent" clicks record one
tracking number, concurrent ratings of one matter keep one (and open one follow-up)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from opcert.accounts.models import User
from opcert.certificates import applications as apps
from opcert.certificates import mail, ratings
from opcert.certificates.applications_models import Delivery
from opcert.certificates.service_models import Mailing, MailingStatus, RatingFollowUp, ServiceRating
from opcert.extensions import db
from tests.certificates import applications_data as data
from tests.certificates import service_data as sd
from tests.fixtures.database import make_app, race

POOL = {"pool_pre_ping": True, "pool_size": 12, "max_overflow": 4, "pool_timeout": 60}


def _racer(app: Flask, database_url: str) -> Flask:
    return make_app(
        database_url,
        SQLALCHEMY_ENGINE_OPTIONS=POOL,
        CERT_SEAL_KEYRING=app.config["CERT_SEAL_KEYRING"],
        CERT_APPLICATION_AUTHORITY=app.config["CERT_APPLICATION_AUTHORITY"],
    )


def _count(model: type) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_concurrent_approvals_of_a_mailed_application_queue_one_card(app: Flask, database_url: str) -> None:
    with app.app_context():
        _authority, officer = data.bureau(app)
        user, item = data.passed()
        application = apps.submit_application(
            user=user, item=item, signed=True, delivery=Delivery.MAIL, mail=sd.ADDRESS
        )
        apps.accept(officer=officer, application=application)
        db.session.commit()
        application_id, officer_id = application.id, officer.id

    def approve() -> int:
        who = db.session.get(User, officer_id)
        certificate = apps.approve(officer=who, application=apps.reviewable(who, application_id))
        db.session.commit()
        return certificate.id

    outcomes, errors = race(_racer(app, database_url), 10, approve)
    assert not errors, errors[:3]
    assert len(set(outcomes)) == 1
    with app.app_context():
        assert _count(Mailing) == 1
        assert sd.audits("certificate.mail_queued") == 1


def test_concurrent_sent_clicks_record_one_tracking_number(app: Flask, database_url: str) -> None:
    with app.app_context():
        application, officer = sd.approved(app)
        mailing_id, officer_id = sd.mailing_of(application).id, officer.id

    def send(n: int) -> str:
        who = db.session.get(User, officer_id)
        try:
            mail.mark_sent(
                officer=who,
                mailing=mail.managed_mailing(who, mailing_id),
                courier="sf",
                tracking_number=f"SF10000000000{n}",
            )
        except mail.MailError:
            db.session.rollback()
            return "refused"
        db.session.commit()
        return "sent"

    numbers = iter(range(10))
    outcomes, errors = race(_racer(app, database_url), 10, lambda: send(next(numbers)))
    assert not errors, errors[:3]
    assert sorted(outcomes) == ["refused"] * 9 + ["sent"]
    with app.app_context():
        row = db.session.get(Mailing, mailing_id)
        assert row.status is MailingStatus.SENT
        assert sd.audits("certificate.mail_sent") == 1
        assert len(sd.notices(row.user_id, mail.MAIL_NOTICE)) == 2  # queued, sent


def test_concurrent_ratings_of_one_matter_keep_one(app: Flask, database_url: str) -> None:
    with app.app_context():
        application, _officer = sd.approved(app, delivery=Delivery.ELECTRONIC)
        application_id, user_id = application.id, application.user_id

    def rate() -> str:
        person = db.session.get(User, user_id)
        matter = ratings.matter_to_rate(person, "application", application_id)
        try:
            ratings.rate(user=person, matter=matter, level="very_dissatisfied", comment="")
        except ratings.RatingError:
            db.session.rollback()
            return "refused"
        db.session.commit()
        return "rated"

    outcomes, errors = race(_racer(app, database_url), 10, rate)
    assert not errors, errors[:3]
    assert sorted(outcomes) == ["rated"] + ["refused"] * 9
    with app.app_context():
        assert _count(ServiceRating) == 1
        assert _count(RatingFollowUp) == 1
        assert sd.audits("certificate.rated") == 1
