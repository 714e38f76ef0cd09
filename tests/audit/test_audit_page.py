"""The administrators' audit log page names every code and person; the CSV export keeps the raw codes."""

from __future__ import annotations

import ast
import csv
import io
import json
from collections import defaultdict
from pathlib import Path

import sqlalchemy as sa

from opcert.access import Role
from opcert.accounts.models import OrgKind
from opcert.audit.labels import known_actions
from opcert.audit.models import AuditEvent
from opcert.audit.services import record_event, verify_chain
from opcert.extensions import db
from tests.factories import PASSWORD, organisation, staff, trainee
from tests.fixtures.web import logged_in_client, login, submit, text

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("platform", "exams", "photos")


def _strings(node: ast.AST) -> set[str]:
    return {c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)}


def written_action_codes() -> dict[str, str]:
    """Every action code a `record_event(...)` call in the code base can write (a literal, either branch of a
    conditional, or what a local variable passed as the action is assigned), with where it is written."""
    found: dict[str, str] = {}
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef):
                    continue
                assigned: dict[str, list[ast.expr]] = defaultdict(list)
                for node in ast.walk(function):
                    if isinstance(node, ast.Assign):
                        for target in node.targets:
                            if isinstance(target, ast.Name):
                                assigned[target.id].append(node.value)
                for call in ast.walk(function):
                    if not (isinstance(call, ast.Call) and getattr(call.func, "id", None) == "record_event"):
                        continue
                    action = call.args[0]
                    sources = assigned[action.id] if isinstance(action, ast.Name) else [action]
                    for source in sources:
                        for code in _strings(source):
                            found[code] = f"{path.relative_to(ROOT)}:{call.lineno}"
    return found


def test_every_action_code_written_anywhere_has_a_chinese_name(app) -> None:
    written = written_action_codes()
    assert {"login.succeeded", "exam.booked", "question.created", "photo.viewed", "user.disabled"} <= set(written)
    missing = {code: where for code, where in written.items() if code not in known_actions()}
    assert not missing, f"add these codes to an AuditLabels of their domain: {missing}"


def test_page_shows_names_not_codes(app) -> None:
    with app.app_context():
        person = trainee(name="张三")
        number = person.id_number
    assert login(app.test_client(), number, PASSWORD).status_code == 302
    page = text(logged_in_client(app, Role.ADMIN).get("/admin/audit"))
    masked = number[:6] + "********" + number[-4:]
    assert "登录成功" in page
    assert "学员注册" in page
    assert f"用户 张三（{masked}）" in page
    assert "user 1" not in page
    assert number not in page  # the page shows trainees' ID numbers masked; the CSV keeps them


def test_details_are_label_value_pairs_with_names(app) -> None:
    with app.app_context():
        centre = organisation(OrgKind.EXAM_CENTRE, "浦东考点")
        examiner = staff(Role.EXAMINER, org=centre)
        examiner_id, centre_id = examiner.id, centre.id
    client = logged_in_client(app, Role.ADMIN)
    url = f"/admin/users/{examiner_id}"
    form = {"real_name": "赵考评", "mobile": "13800001111", "role": "centre_staff", "organisation_id": centre_id}
    assert submit(client, url, form, page=url).status_code == 302
    page = text(client.get("/admin/audit?action=user.role_changed"))
    assert "变更角色或所属机构" in page
    assert "用户 赵考评" in page
    assert "变更前：所属机构：浦东考点，角色：考评员" in page
    assert "变更后：所属机构：浦东考点，角色：考点工作人员" in page
    assert '{"after"' not in page


def test_an_unknown_code_is_shown_as_it_is(app) -> None:
    with app.app_context():
        # A code no domain names (certificates now names "certificate.issued", the example this test used).
        record_event("archive.sealed", object_type="archive_box", object_id=7, details={"number": "T1"})
        db.session.commit()
    page = text(logged_in_client(app, Role.ADMIN).get("/admin/audit"))
    assert "archive.sealed" in page
    assert "archive_box #7" in page
    assert "number：T1" in page


def read_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:])))


def test_csv_export_keeps_the_raw_codes_and_can_be_filtered(app) -> None:
    with app.app_context():
        trainee(name="张三")
    client = logged_in_client(app, Role.ADMIN)
    rows = read_csv(client.get("/admin/audit/export.csv"))
    actions = [row["action"] for row in rows]
    assert "login.succeeded" in actions
    assert "user.registered" in actions
    assert "登录成功" not in "".join(actions)
    assert [int(row["seq"]) for row in rows] == sorted(int(row["seq"]) for row in rows)
    registered = next(row for row in rows if row["action"] == "user.registered")
    assert registered["object_type"] == "user"
    assert json.loads(registered["details"]) == {}
    assert len(registered["hash"]) == 64
    logins = read_csv(client.get("/admin/audit/export.csv?action=login."))
    assert logins
    assert {row["action"] for row in logins} <= {"login.succeeded", "login.failed", "login.throttled"}


def test_the_export_is_itself_in_the_log_and_the_chain_stays_intact(app) -> None:
    client = logged_in_client(app, Role.ADMIN)
    read_csv(client.get("/admin/audit/export.csv?action=user."))
    with app.app_context():
        event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "audit.exported")).scalar_one()
        assert json.loads(event.details) == {"filter": "user."}
        assert verify_chain().ok
    assert "导出审计日志" in text(client.get("/admin/audit"))


def test_a_typed_account_cannot_become_a_spreadsheet_formula(app) -> None:
    client = app.test_client()
    submit(client, "/login", {"account": "=HYPERLINK(1)", "password": "x"}, page="/login")
    rows = read_csv(logged_in_client(app, Role.ADMIN).get("/admin/audit/export.csv?action=login.failed"))
    assert [row["object_id"] for row in rows] == ["'=hyperlink(1)"]


def test_only_administrators_export(app) -> None:
    for role in (Role.OFFICER, Role.CENTRE_STAFF, Role.TRAINEE):
        assert logged_in_client(app, role).get("/admin/audit/export.csv").status_code == 403
