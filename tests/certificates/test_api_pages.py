"""The administrators' token pages: create (the secret shown once), list, revoke; officers cannot reach them.

No `db` fixture here: an application context held across requests would share Flask-WTF's CSRF token in `g`."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from opcert.access import Role
from opcert.certificates.api_models import ApiToken
from opcert.extensions import db
from opcert.timeutil import local_today
from tests.certificates.api_data import call
from tests.fixtures.web import logged_in_client, submit, text

SECRET_RE = re.compile(r'id="api-secret">(opc_[A-Za-z0-9_-]+)<')


def test_an_administrator_creates_sees_once_and_revokes_a_token(app) -> None:
    admin = logged_in_client(app, Role.ADMIN)
    with app.app_context():
        expires = (local_today() + dt.timedelta(days=90)).isoformat()
    response = submit(
        admin,
        "/admin/api-tokens",
        {"name": "全国平台同步", "client": "national_platform", "expires_on": expires},
        page="/admin/api-tokens",
    )
    assert response.status_code == 200
    match = SECRET_RE.search(text(response))
    assert match, text(response)
    secret = match.group(1)
    listing = text(admin.get("/admin/api-tokens"))
    assert "全国平台同步" in listing
    assert secret[:10] in listing
    assert secret not in listing  # shown once: the list has only its first characters
    machine = app.test_client()
    assert call(machine, "/api/v1/certificates?since=2026-01-01T00:00:00Z", secret).status_code == 200
    with app.app_context():
        token_id = db.session.execute(sa.select(ApiToken.id)).scalar_one()
    revoked = submit(admin, f"/admin/api-tokens/{token_id}/revoke", page="/admin/api-tokens", follow=True)
    assert "令牌已吊销" in text(revoked)
    assert call(machine, "/api/v1/certificates?since=2026-01-01T00:00:00Z", secret).status_code == 401


def test_a_bad_token_form_says_why_and_creates_nothing(app) -> None:
    admin = logged_in_client(app, Role.ADMIN)
    for name, expires_on, message in (
        ("", "2030-01-01", "请填写令牌名称。"),
        ("过期的", "2020-01-01", "有效期不能早于今天。"),
        ("没日期", "", "请填写有效期（日期）。"),
        ("太长的", "2099-01-01", "令牌有效期最长366天。"),
    ):
        form = {"name": name, "client": "city_data_centre", "expires_on": expires_on}
        response = submit(admin, "/admin/api-tokens", form, page="/admin/api-tokens")
        assert response.status_code == 400
        assert message in text(response)
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(ApiToken)).scalar() == 0


def test_revoking_an_unknown_token_is_404(app) -> None:
    admin = logged_in_client(app, Role.ADMIN)
    assert submit(admin, "/admin/api-tokens/999/revoke", page="/admin/api-tokens").status_code == 404


def test_only_administrators_manage_tokens(app) -> None:
    officer = logged_in_client(app, Role.OFFICER)
    assert officer.get("/admin/api-tokens").status_code == 403
