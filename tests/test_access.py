"""The route x role matrix: every endpoint declares who it admits, and the hook enforces exactly that."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from opcert.access import EXEMPT_ENDPOINTS, Role, declared_access, is_allowed
from opcert.extensions import db
from tests.factories import PASSWORD, staff
from tests.fixtures.database import make_app
from tests.fixtures.web import csrf_token, logged_in_client

ARGUMENT_RE = re.compile(r"<(?:(?P<converter>[a-zA-Z_]\w*)(?:\([^>]*\))?:)?(?P<name>\w+)>")
SAMPLE_VALUES = {"int": "999999"}
# Requests that end the session go last, so the client stays logged in for the rest of the matrix.
LAST_ENDPOINTS = frozenset({"accounts.logout"})


def undeclared_endpoints(app: Flask) -> list[str]:
    """Endpoints with a view but no access declaration."""
    return sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in EXEMPT_ENDPOINTS and declared_access(app, rule.endpoint) is None
    )


def sample_url(rule: Rule) -> str:
    """The rule's path with every argument filled: integers get 999999, anything else "x"."""
    return ARGUMENT_RE.sub(lambda m: SAMPLE_VALUES.get(m.group("converter") or "", "x"), rule.rule)


def requests_to_make(app: Flask) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, url) for every checked rule and method, session-ending requests last."""
    rules = sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint not in EXEMPT_ENDPOINTS),
        key=lambda r: (r.endpoint in LAST_ENDPOINTS, r.rule),
    )
    for rule in rules:
        for method in ("GET", "POST"):
            if method in (rule.methods or set()):
                yield rule.endpoint, method, sample_url(rule)


def is_login_wall(response: TestResponse, url: str) -> bool:
    """A redirect to the login page that asks to come back to `url` afterwards."""
    if response.status_code not in (301, 302, 303, 307, 308):
        return False
    target = urlsplit(response.headers.get("Location", ""))
    return target.path == "/login" and urlsplit(parse_qs(target.query).get("next", [""])[0]).path == url


def check(app: Flask, role: Role | None, client: FlaskClient, token: str) -> tuple[int, list[str]]:
    """Make every request as `role`; return how many were made and what went wrong."""
    failures: list[str] = []
    made = 0
    for endpoint, method, url in requests_to_make(app):
        who = declared_access(app, endpoint)
        assert who is not None
        response = client.post(url, data={"csrf_token": token}) if method == "POST" else client.get(url)
        made += 1
        status, where = response.status_code, response.headers.get("Location", "")
        label = f"{role.value if role else 'anonymous'} {method} {url} ({endpoint})"
        if not is_allowed(who, role):
            if role is None and not is_login_wall(response, url):
                failures.append(f"{label}: expected a redirect to /login, got {status} {where}")
            if role is not None and status != 403:
                failures.append(f"{label}: expected 403, got {status} {where}")
        elif status in (403, 500) or is_login_wall(response, url):
            failures.append(f"{label}: admitted but got {status} {where}")
    return made, failures


def test_every_endpoint_declares_its_access(app) -> None:
    assert undeclared_endpoints(app) == [], "these endpoints have no @allow(...) declaration"


def test_an_undeclared_route_is_caught_and_refused(database_url) -> None:
    extra = make_app(database_url)

    @extra.route("/forgotten")
    def forgotten() -> str:
        return "should never be served"

    try:
        assert undeclared_endpoints(extra) == ["forgotten"]
        response = extra.test_client().get("/forgotten")
        assert response.status_code == 403
        assert "无权访问" in response.get_data(as_text=True)
    finally:
        with extra.app_context():
            db.engine.dispose()


def test_route_role_matrix(app) -> None:
    roles: list[Role | None] = [None, *Role]
    total, failures = 0, []
    for role in roles:
        client = logged_in_client(app, role)
        token = csrf_token(client, "/")
        made, problems = check(app, role, client, token)
        total += made
        failures.extend(problems)
    rules = sum(1 for r in app.url_map.iter_rules() if r.endpoint not in EXEMPT_ENDPOINTS)
    assert total >= len(roles) * rules
    assert not failures, f"{len(failures)} of {total} requests ({rules} rules x {len(roles)} roles) wrong:\n" + (
        "\n".join(failures)
    )


@pytest.mark.parametrize("url", ["/admin/users/new", "/admin/catalogue/items/new", "/admin/audit/verify"])
def test_access_control_runs_before_csrf(app, url) -> None:
    client = logged_in_client(app, Role.TRAINEE)
    response = client.post(url, data={})
    assert response.status_code == 403
    assert "无权访问" in response.get_data(as_text=True)


def test_anonymous_is_sent_to_login_and_comes_back(app) -> None:
    client = app.test_client()
    response = client.get("/admin/catalogue")
    assert is_login_wall(response, "/admin/catalogue")
    with app.app_context():
        user = staff(Role.ADMIN)
        account, secret = user.login_name, user.totp_secret
    response = client.get(response.headers["Location"])
    token_page = response.request.url
    assert response.status_code == 200
    token = csrf_token(client, token_page)
    response = client.post(token_page, data={"account": account, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login/verify")
    token = csrf_token(client, "/login/verify")
    response = client.post("/login/verify", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/catalogue")
