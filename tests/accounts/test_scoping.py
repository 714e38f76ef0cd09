"""Who sees which organisation, and who reaches the administration pages."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask
from flask.testing import FlaskClient

from opcert.access import Role
from opcert.accounts.models import OrgKind
from tests.factories import PASSWORD, organisation, staff, trainee
from tests.fixtures.web import csrf_token, login, text

MISSING = 999999


@dataclasses.dataclass(frozen=True)
class World:
    """Two exam centres under one authority, with staff at each."""

    authority: int
    centre_a: int
    centre_b: int
    staff_a: str
    examiner_a: str
    staff_b: str


@pytest.fixture
def world(app) -> World:
    with app.app_context():
        authority = organisation(OrgKind.AUTHORITY, "江苏省应急管理厅")
        centre_a = organisation(OrgKind.EXAM_CENTRE, "南京考点", authority=authority)
        centre_b = organisation(OrgKind.EXAM_CENTRE, "苏州考点", authority=authority)
        staff_a = staff(Role.CENTRE_STAFF, username="nanjing.staff", org=centre_a)
        examiner_a = staff(Role.EXAMINER, username="nanjing.examiner", org=centre_a)
        staff_b = staff(Role.CENTRE_STAFF, username="suzhou.staff", org=centre_b)
        return World(
            authority.id,
            centre_a.id,
            centre_b.id,
            staff_a.username or "",
            examiner_a.username or "",
            staff_b.username or "",
        )


def admin_rules(app: Flask) -> list[tuple[str, str, str]]:
    """(method, URL with ids filled in, endpoint) for every administration route."""
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith("/admin"):
                continue
            url = rule.build(dict.fromkeys(rule.arguments, MISSING), append_unknown=False)
            assert url is not None
            path = url[1]
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((method, path, rule.endpoint))
    return found


def request_as_browser(client: FlaskClient, method: str, path: str):
    if method == "GET":
        return client.get(path)
    return client.open(path, method=method, data={"csrf_token": csrf_token(client, "/account")})


def test_centre_staff_see_their_own_centre_only(app, client, world) -> None:
    assert login(client, world.staff_a, PASSWORD).status_code == 302
    own = client.get(f"/organisations/{world.centre_a}")
    assert own.status_code == 200
    page = text(own)
    assert "南京考点" in page
    assert world.staff_a in page
    assert world.examiner_a in page
    assert world.staff_b not in page
    for org_id in (world.centre_b, world.authority, MISSING):
        response = client.get(f"/organisations/{org_id}")
        assert response.status_code == 404
        assert "页面不存在" in text(response)
        assert "苏州考点" not in text(response)


def test_navigation_links_staff_to_their_own_centre(app, client, world) -> None:
    login(client, world.examiner_a, PASSWORD)
    assert f'href="/organisations/{world.centre_a}"' in text(client.get("/"))


def test_admin_sees_every_organisation(app, client, world) -> None:
    with app.app_context():
        admin = staff(Role.ADMIN)
        username, secret = admin.username or "", admin.totp_secret
    assert login(client, username, PASSWORD, secret).status_code == 302
    names = {world.centre_a: "南京考点", world.centre_b: "苏州考点", world.authority: "江苏省应急管理厅"}
    for org_id, name in names.items():
        response = client.get(f"/organisations/{org_id}")
        assert response.status_code == 200
        assert name in text(response)
    assert world.staff_b in text(client.get(f"/organisations/{world.centre_b}"))
    assert client.get(f"/organisations/{MISSING}").status_code == 404


def test_trainee_is_refused_organisation_pages_and_every_admin_page(app, client, world) -> None:
    with app.app_context():
        number = trainee().id_number or ""
    assert login(client, number, PASSWORD).status_code == 302
    response = client.get(f"/organisations/{world.centre_a}")
    assert response.status_code == 403
    assert "无权访问" in text(response)
    rules = admin_rules(app)
    assert len(rules) >= 10
    for method, path, endpoint in rules:
        response = request_as_browser(client, method, path.replace(str(MISSING), str(world.centre_a)))
        assert response.status_code == 403, f"{method} {path} ({endpoint})"
    assert client.get("/account").status_code == 200


def test_centre_staff_are_refused_admin_pages(app, client, world) -> None:
    login(client, world.staff_a, PASSWORD)
    for method, path, endpoint in admin_rules(app):
        assert request_as_browser(client, method, path).status_code == 403, f"{method} {path} ({endpoint})"


def test_anonymous_visitor_is_sent_to_login(app, client, world) -> None:
    response = client.get(f"/organisations/{world.centre_a}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_admin_gets_not_found_for_missing_records(app, client) -> None:
    with app.app_context():
        admin = staff(Role.ADMIN)
        username, secret = admin.username or "", admin.totp_secret
    assert login(client, username, PASSWORD, secret).status_code == 302
    for path in (f"/admin/users/{MISSING}", f"/admin/organisations/{MISSING}/edit"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "页面不存在" in text(response)
    for method, path, endpoint in admin_rules(app):
        if str(MISSING) in path:
            assert request_as_browser(client, method, path).status_code == 404, f"{method} {path} ({endpoint})"
