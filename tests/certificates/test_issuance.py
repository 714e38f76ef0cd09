"""Issuance: number "T" + ID number, one certificate per person per item, dates, sealed payload, idempotent."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from opcert.accounts.models import User
from opcert.audit.models import AuditEvent
from opcert.catalogue.models import Item
from opcert.certificates import payload, seal, services
from opcert.certificates.models import (
    Certificate,
    CertificateEvent,
    CertificateHolder,
    CertificateStatus,
    HistoryTamperingError,
)
from opcert.extensions import db
from tests.certificates import certs_data as data
from tests.fixtures.database import make_app

POOL = {"pool_pre_ping": True, "pool_size": 24, "max_overflow": 4, "pool_timeout": 60}


def test_first_issue_sets_number_dates_status_and_seal(db) -> None:
    user, item = data.holder(), data.item()
    certificate = data.issued(user, item)

    assert certificate.holder.number == f"T{user.id_number}"
    assert certificate.holder.sex == "M"
    assert certificate.first_issued_on == dt.date(2026, 11, 2)
    assert certificate.review_due_on == dt.date(2029, 11, 2)
    assert certificate.valid_until == dt.date(2032, 11, 2)
    assert certificate.status is CertificateStatus.VALID
    assert certificate.theory_score == 92
    assert [(e.status, e.reason) for e in certificate.events] == [(CertificateStatus.VALID, "首次发证")]
    assert certificate.seal_alg == "ed25519"
    verified = payload.verify_text(payload.to_text(certificate.sealed), keyring=seal.load_keyring())
    assert verified.key.kid == certificate.seal_kid
    assert verified.claims.number == certificate.holder.number
    assert verified.claims.item_name == "低压电工作业"
    assert verified.claims.status_index == certificate.id
    audit = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "certificate.issued")).scalars().all()
    assert [row.object_id for row in audit] == [certificate.holder.number]


def test_a_new_item_adds_to_the_same_record_and_a_repeat_returns_the_first(db) -> None:
    user, low, high = data.holder(), data.item("低压电工作业"), data.item("高压电工作业")
    first = data.issued(user, low)
    again = services.issue_certificate(user=user, item=low, exams=data.EXAMS, actor_id=None, now=data.ISSUED_AT)
    assert not again.created
    assert again.certificate.id == first.id
    second = data.issued(user, high, now=data.ISSUED_AT + dt.timedelta(days=400))
    assert second.holder_id == first.holder_id
    assert second.first_issued_on == dt.date(2027, 12, 7)
    assert db.session.execute(sa.select(sa.func.count(CertificateHolder.id))).scalar_one() == 1
    assert db.session.execute(sa.select(sa.func.count(Certificate.id))).scalar_one() == 2
    assert db.session.execute(sa.select(sa.func.count(CertificateEvent.id))).scalar_one() == 2


def test_leap_day_issue_is_valid_until_28_february(db) -> None:
    assert services.add_years(dt.date(2028, 2, 29), 3) == dt.date(2031, 2, 28)
    assert services.add_years(dt.date(2028, 2, 29), 4) == dt.date(2032, 2, 29)


def test_status_history_is_never_changed_or_deleted(db) -> None:
    certificate = data.issued(data.holder(), data.item())
    event = certificate.events[0]
    event.reason = "改写"
    with pytest.raises(HistoryTamperingError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(CertificateEvent, event.id))
    with pytest.raises(HistoryTamperingError):
        db.session.flush()
    db.session.rollback()


def test_status_follows_the_calendar_until_recorded(db) -> None:
    certificate = data.issued(data.holder(), data.item())
    assert services.status_on(certificate, dt.date(2029, 11, 1)) is CertificateStatus.VALID
    assert services.status_on(certificate, dt.date(2029, 11, 2)) is CertificateStatus.REVIEW_DUE
    assert services.status_on(certificate, dt.date(2032, 11, 2)) is CertificateStatus.EXPIRED


def test_twenty_concurrent_approvals_give_exactly_one_certificate(app, database_url) -> None:
    with app.app_context():
        user_id, item_id = data.holder().id, data.item().id
    racer = make_app(database_url, SQLALCHEMY_ENGINE_OPTIONS=POOL, CERT_SEAL_KEYRING=app.config["CERT_SEAL_KEYRING"])
    start = threading.Barrier(20)
    outcomes: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def approve() -> None:
        try:
            # An approval is a POST: on SQLite it takes the write lock up front, as the real request would.
            with racer.test_request_context("/", method="POST"):
                start.wait(timeout=60)
                user, item = db.session.get(User, user_id), db.session.get(Item, item_id)
                issued = services.issue_certificate(user=user, item=item, exams=data.EXAMS, actor_id=None)
                certificate_id = issued.certificate.id
                db.session.commit()
                outcomes.append((certificate_id, issued.created))
        except BaseException as exc:
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=approve) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with racer.app_context():
        db.engine.dispose()
    assert not errors, errors[:3]
    assert len(outcomes) == 20
    assert len({certificate_id for certificate_id, _ in outcomes}) == 1
    assert sum(created for _, created in outcomes) == 1
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count(Certificate.id))).scalar_one() == 1
        assert db.session.execute(sa.select(sa.func.count(CertificateHolder.id))).scalar_one() == 1
        assert db.session.execute(sa.select(sa.func.count(CertificateEvent.id))).scalar_one() == 1
        issued_rows = sa.select(sa.func.count()).where(AuditEvent.action == "certificate.issued")
        assert db.session.execute(issued_rows).scalar_one() == 1
        (certificate,) = services.list_certificates()
        assert certificate.sealed
