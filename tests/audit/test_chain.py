"""The audit log's hash chain: appending, verifying, detecting tampering, and the administrators' page."""

from __future__ import annotations

import itertools
import json

import pytest
import sqlalchemy as sa
from flask import Flask

from opcert.access import Role
from opcert.audit.models import GENESIS_HASH, AuditEvent
from opcert.audit.services import AuditTamperingError, ChainReport, record_event, verify_chain
from opcert.extensions import db
from tests.factories import staff
from tests.fixtures.web import logged_in_client, submit, text

ACTIONS = ["certificate.issued", "certificate.reviewed", "exam.scored", "user.disabled", "certificate.revoked"]


def record_five(app: Flask) -> None:
    """Five committed events, seq 1..5."""
    with app.app_context():
        for n, action in enumerate(ACTIONS, start=1):
            record_event(action, object_type="thing", object_id=n, details={"n": n, "note": f"第{n}条"})
        db.session.commit()


def raw(app: Flask, statement: str, **params: object) -> None:
    """Change the table behind the application's back, as someone with database access could."""
    with app.app_context():
        db.session.execute(sa.text(statement), params)
        db.session.commit()


def report(app: Flask) -> ChainReport:
    with app.app_context():
        return verify_chain()


def test_events_chain_each_to_the_previous(app) -> None:
    record_five(app)
    with app.app_context():
        rows = list(db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars())
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert [r.action for r in rows] == ACTIONS
    assert rows[0].prev_hash == GENESIS_HASH
    for previous, row in itertools.pairwise(rows):
        assert row.prev_hash == previous.hash
    assert len({r.hash for r in rows}) == 5
    assert rows[2].details == '{"n":3,"note":"第3条"}'
    assert rows[0].actor_label == "system"


def test_intact_chain_verifies(app) -> None:
    record_five(app)
    result = report(app)
    assert result.ok
    assert result.checked == 5


def test_empty_chain_verifies(app) -> None:
    result = report(app)
    assert result.ok
    assert result.checked == 0


def test_changed_row_breaks_the_chain_at_that_row(app) -> None:
    record_five(app)
    raw(app, "UPDATE audit_events SET details = :details WHERE seq = 3", details='{"n":3,"note":"改过"}')
    result = report(app)
    assert not result.ok
    assert result.broken_seq == 3
    assert result.checked == 2
    assert "hash" in result.reason


def test_rewritten_hash_is_caught_by_the_next_row(app) -> None:
    record_five(app)
    raw(app, "UPDATE audit_events SET hash = prev_hash WHERE seq = 3")
    assert report(app).broken_seq == 3
    raw(app, "UPDATE audit_events SET details = '{}', hash = prev_hash WHERE seq = 5")
    assert report(app).broken_seq == 3


def test_deleted_middle_row_is_reported_as_a_gap(app) -> None:
    record_five(app)
    raw(app, "DELETE FROM audit_events WHERE seq = 3")
    result = report(app)
    assert result.broken_seq == 3
    assert result.reason == "missing row"


def test_deleted_last_row_is_caught_by_the_chain_head(app) -> None:
    record_five(app)
    raw(app, "DELETE FROM audit_events WHERE seq = 5")
    result = report(app)
    assert result.broken_seq == 5
    assert result.checked == 4
    assert "end of the chain" in result.reason


def test_new_events_after_verification_keep_chaining(app) -> None:
    record_five(app)
    assert report(app).ok
    with app.app_context():
        row = record_event("late.event")
        db.session.commit()
        assert row.seq == 6
    assert report(app).checked == 6


def test_cli_verify_says_ok_on_an_intact_chain(app, runner) -> None:
    record_five(app)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "OK: 5 events, chain intact" in result.output


def test_cli_verify_exits_1_naming_the_broken_row(app, runner) -> None:
    record_five(app)
    raw(app, "UPDATE audit_events SET actor_label = 'someone else' WHERE seq = 3")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at seq 3" in result.output
    assert "chain intact" not in result.output


def test_orm_cannot_change_an_event(app) -> None:
    record_five(app)
    with app.app_context():
        row = db.session.execute(sa.select(AuditEvent).where(AuditEvent.seq == 3)).scalar_one()
        row.details = "{}"
        with pytest.raises(AuditTamperingError):
            db.session.flush()
        db.session.rollback()
    assert report(app).ok


def test_orm_cannot_delete_an_event(app) -> None:
    record_five(app)
    with app.app_context():
        row = db.session.execute(sa.select(AuditEvent).where(AuditEvent.seq == 5)).scalar_one()
        db.session.delete(row)
        with pytest.raises(AuditTamperingError):
            db.session.commit()
        db.session.rollback()
    assert report(app).checked == 5


def test_admin_page_lists_events_and_filters_by_action(app) -> None:
    record_five(app)
    client = logged_in_client(app, Role.ADMIN)
    page = text(client.get("/admin/audit"))
    assert "审计日志" in page
    for action in ACTIONS:
        assert action in page
    assert "login.succeeded" in page  # the administrator's own login
    filtered = text(client.get("/admin/audit?action=certificate."))
    assert "共3条记录" in filtered
    assert "exam.scored" not in filtered


def test_verify_button_flashes_the_result_in_chinese(app) -> None:
    record_five(app)
    client = logged_in_client(app, Role.ADMIN)
    response = submit(client, "/admin/audit/verify", page="/admin/audit", follow=True)
    assert "审计日志完整" in text(response)
    assert "哈希链无断裂" in text(response)

    raw(app, "UPDATE audit_events SET object_id = '99' WHERE seq = 3")
    response = submit(client, "/admin/audit/verify", page="/admin/audit", follow=True)
    assert "审计日志校验失败：第3条记录处链条断裂" in text(response)


def test_logins_and_role_changes_are_logged(app) -> None:
    with app.app_context():
        examiner = staff(Role.EXAMINER)
        user_id, org_id = examiner.id, examiner.organisation_id
    client = logged_in_client(app, Role.ADMIN)
    url = f"/admin/users/{user_id}"
    form = {"real_name": "测试人员", "mobile": "13800001111", "role": "centre_staff", "organisation_id": org_id}
    response = submit(client, url, form, page=url)
    assert response.status_code == 302
    with app.app_context():
        events = list(db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars())
    actions = [e.action for e in events]
    assert "login.succeeded" in actions
    changed = [e for e in events if e.action == "user.role_changed"]
    assert len(changed) == 1
    assert changed[0].object_id == str(user_id)
    assert json.loads(changed[0].details) == {
        "before": {"organisation": org_id, "role": "examiner"},
        "after": {"organisation": org_id, "role": "centre_staff"},
    }
    assert changed[0].actor_label.startswith("admin")
    assert "user.role_changed" in text(client.get("/admin/audit?action=user."))
    assert report(app).ok
