"""Reminders 60 and 30 days before review and expiry: a scheduled, idempotent command (each reminder sent once)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from opcert.certificates import renewal, services
from opcert.certificates.renewal_models import CertificateReminder, ReminderKind
from opcert.extensions import db
from opcert.notifications.models import Notification
from opcert.timeutil import local_today
from tests.certificates import applications_data, certs_data
from tests.certificates.renewal_data import at_local_morning

REVIEW_DUE = dt.date(2029, 11, 2)
VALID_UNTIL = dt.date(2032, 11, 2)


def run(day: dt.date) -> int:
    sent = renewal.send_reminders(now=at_local_morning(day))
    db.session.commit()
    return sent


def reminders_of(user_id: int) -> list[tuple[str, str]]:
    rows = db.session.execute(
        sa.select(Notification)
        .where(Notification.user_id == user_id, Notification.kind == renewal.REMINDER_NOTICE)
        .order_by(Notification.id)
    ).scalars()
    return [(n.subject, n.body) for n in rows]


def test_review_reminders_at_60_and_30_days_each_sent_once(app, db) -> None:
    user = certs_data.holder()
    certs_data.issued(user, certs_data.item())
    before = [run(REVIEW_DUE - dt.timedelta(days=d)) for d in (61, 60, 60, 45, 31)]
    assert before == [0, 1, 0, 0, 0]
    assert [run(REVIEW_DUE - dt.timedelta(days=d)) for d in (30, 30, 10, 0)] == [1, 0, 0, 0]
    body = "您的“低压电工作业”证书应于2029-11-02前复审，请完成复审培训后在线申请复审。"
    assert reminders_of(user.id) == [("证书即将到期复审", body), ("证书即将到期复审", body)]
    rows = db.session.execute(sa.select(CertificateReminder.kind, CertificateReminder.days)).all()
    assert sorted(rows) == [(ReminderKind.REVIEW, 30), (ReminderKind.REVIEW, 60)]


def test_a_late_first_run_sends_only_the_nearest_reminder(app, db) -> None:
    user = certs_data.holder()
    certs_data.issued(user, certs_data.item())
    assert run(REVIEW_DUE - dt.timedelta(days=20)) == 1
    assert run(REVIEW_DUE - dt.timedelta(days=19)) == 0
    assert len(reminders_of(user.id)) == 1


def test_expiry_reminders_when_the_next_date_is_the_end_of_validity(app, db) -> None:
    user = certs_data.holder()
    certificate = certs_data.issued(user, certs_data.item())
    certificate.review_due_on = VALID_UNTIL  # as after the review at 3 years
    db.session.commit()
    assert run(REVIEW_DUE - dt.timedelta(days=30)) == 0
    assert [run(VALID_UNTIL - dt.timedelta(days=d)) for d in (60, 59, 30, 29)] == [1, 0, 1, 0]
    subjects = [subject for subject, _ in reminders_of(user.id)]
    assert subjects == ["证书有效期即将届满", "证书有效期即将届满"]
    assert "请在此前申请延期复审" in reminders_of(user.id)[0][1]


def test_no_reminder_while_the_review_is_applied_for_or_the_certificate_is_suspended(app, db, monkeypatch) -> None:
    from tests.certificates.renewal_data import review_trained, short_review_training

    applications_data.bureau(app)
    user, item = certs_data.holder(), certs_data.item()
    short_review_training(app, monkeypatch, item)
    certificate = certs_data.issued(user, item)
    review_trained(user, item)
    renewal.apply_for_renewal(
        user=user,
        certificate=certificate,
        signed=True,
        work_years=None,
        employer="",
        now=at_local_morning(REVIEW_DUE - dt.timedelta(days=59)),
    )
    db.session.commit()
    assert run(REVIEW_DUE - dt.timedelta(days=30)) == 0
    other = certs_data.issued(certs_data.holder("李四"), certs_data.item("高压电工作业"))
    services.change_status(certificate=other, status=services.CertificateStatus.SUSPENDED, reason="违章", actor_id=None)
    db.session.commit()
    assert run(REVIEW_DUE - dt.timedelta(days=30)) == 0


def test_the_remind_command_sends_each_reminder_once_across_two_runs(app, runner) -> None:
    with app.app_context():
        user = certs_data.holder()
        issued_on = services.add_years(local_today() + dt.timedelta(days=45), -3)
        certs_data.issued(user, certs_data.item(), now=at_local_morning(issued_on))
        user_id = user.id
    first = runner.invoke(args=["certificates", "remind"])
    assert first.exit_code == 0, first.output
    assert "reminders sent: 1" in first.output
    second = runner.invoke(args=["certificates", "remind"])
    assert "reminders sent: 0" in second.output
    with app.app_context():
        assert len(reminders_of(user_id)) == 1
