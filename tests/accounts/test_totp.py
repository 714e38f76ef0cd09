"""Two-factor login for officers and administrators: enrolment, verification, replay, throttling, reset."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pyotp
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from opcert.access import Role
from opcert.accounts import services
from opcert.accounts.models import User, UserSession
from opcert.audit.models import AuditEvent
from opcert.db import utcnow
from opcert.errors import DomainError
from opcert.extensions import db
from tests.factories import PASSWORD, staff
from tests.fixtures.web import login, submit, text

SECRET_RE = re.compile(r'<code class="fs-5">([A-Z2-7]+)</code>')
T0 = dt.datetime(2026, 3, 2, 9, 0, 10, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class Account:
    """What a test needs to know about a staff account once the app context has ended."""

    id: int
    username: str
    totp_secret: str | None


def new_staff(app, role: Role, **kwargs: bool) -> Account:
    with app.app_context():
        user = staff(role, **kwargs)
        return Account(user.id, user.username or "", user.totp_secret)


def stored_user(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        db.session.expunge(user)
        return user


def wrong_code(secret: str) -> str:
    """A six-digit code the authenticator shows at none of the nearby time steps."""
    totp = pyotp.TOTP(secret)
    step = totp.timecode(utcnow())
    near = {totp.generate_otp(s) for s in range(step - 3, step + 4)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in near)


def next_step_code(secret: str) -> str:
    """The code of the coming time step: accepted (clock drift), and never one already used."""
    return pyotp.TOTP(secret).at(utcnow() + dt.timedelta(seconds=30))


def password_step(client: FlaskClient, account: Account) -> str:
    response = submit(client, "/login", {"account": account.username, "password": PASSWORD}, page="/login")
    assert response.status_code == 302
    return response.headers["Location"]


def redirects_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())


def test_admin_first_login_enrols_an_authenticator(app, client) -> None:
    admin = new_staff(app, Role.ADMIN, with_totp=False)
    assert password_step(client, admin) == "/login/setup-2fa"
    assert redirects_to_login(client.get("/account"))
    page = text(client.get("/login/setup-2fa"))
    match = SECRET_RE.search(page)
    assert match, "the secret is shown for typing in by hand"
    secret = match.group(1)
    assert "<svg" in page
    assert "</svg>" in page
    assert "<img" not in page  # the QR code is inline: the secret never leaves in a URL
    response = submit(client, "/login/setup-2fa", {"code": wrong_code(secret)}, page="/login/setup-2fa")
    assert response.status_code == 200
    assert "动态验证码不正确" in text(response)
    assert SECRET_RE.search(text(response)).group(1) == secret  # the same secret: the scanned app keeps working
    assert stored_user(app, admin.id).totp_secret is None
    assert redirects_to_login(client.get("/account"))
    response = submit(client, "/login/setup-2fa", {"code": pyotp.TOTP(secret).now()}, page="/login/setup-2fa")
    assert response.status_code == 302
    assert "登录成功" in text(client.get("/"))
    assert client.get("/account").status_code == 200
    assert stored_user(app, admin.id).totp_secret == secret
    actions = audit_actions(app)
    assert "user.totp_enrolled" in actions
    assert actions[-1] == "login.succeeded"


def test_enrolled_admin_is_asked_for_a_code_and_a_replayed_code_is_refused(app, client) -> None:
    admin = new_staff(app, Role.ADMIN, with_totp=False)
    password_step(client, admin)
    secret = SECRET_RE.search(text(client.get("/login/setup-2fa"))).group(1)
    used = pyotp.TOTP(secret).now()
    assert submit(client, "/login/setup-2fa", {"code": used}, page="/login/setup-2fa").status_code == 302

    browser = app.test_client()
    assert password_step(browser, admin) == "/login/verify"
    assert "动态验证码" in text(browser.get("/login/verify"))
    assert redirects_to_login(browser.get("/login/setup-2fa"))  # no second enrolment over the first
    for code in (wrong_code(secret), used):
        response = submit(browser, "/login/verify", {"code": code}, page="/login/verify")
        assert response.status_code == 200
        assert "动态验证码不正确或已使用" in text(response)
        assert redirects_to_login(browser.get("/account"))
    response = submit(browser, "/login/verify", {"code": next_step_code(secret)}, page="/login/verify")
    assert response.status_code == 302
    assert browser.get("/account").status_code == 200


@pytest.mark.parametrize("code", ["12345", "abcdef", "１２３４５６７"])
def test_malformed_code_is_refused_in_chinese(app, client, code) -> None:
    officer = new_staff(app, Role.OFFICER)
    password_step(client, officer)
    response = submit(client, "/login/verify", {"code": code}, page="/login/verify")
    assert response.status_code == 200
    page = text(response)
    assert "请输入6位数字验证码" in page or "动态验证码不正确" in page
    assert redirects_to_login(client.get("/account"))


def test_officer_must_pass_the_code_before_the_account_works(app, client) -> None:
    officer = new_staff(app, Role.OFFICER)
    assert password_step(client, officer) == "/login/verify"
    response = client.get("/account")
    assert redirects_to_login(response)
    with app.app_context():
        open_rows = db.session.execute(sa.select(sa.func.count(UserSession.id))).scalar_one()
    assert open_rows == 0
    response = submit(client, "/login/verify", {"code": pyotp.TOTP(officer.totp_secret).now()}, page="/login/verify")
    assert response.status_code == 302
    assert client.get("/account").status_code == 200


def test_code_step_waits_only_a_few_minutes(app, client) -> None:
    officer = new_staff(app, Role.OFFICER)
    password_step(client, officer)
    with client.session_transaction() as browser_session:
        pending = dict(browser_session["pending_login"])
        pending["at"] -= app.config["TOTP_PENDING_SECONDS"] + 1
        browser_session["pending_login"] = pending
    response = client.get("/login/verify", follow_redirects=True)
    assert response.request.path == "/login"
    assert "登录已超时" in text(response)


def test_centre_staff_is_never_asked_for_a_code(app, client) -> None:
    centre = new_staff(app, Role.CENTRE_STAFF)
    response = login(client, centre.username, PASSWORD)
    assert response.headers["Location"] == "/"
    assert client.get("/account").status_code == 200


def test_code_failures_are_throttled(app, client) -> None:
    officer = new_staff(app, Role.OFFICER)
    password_step(client, officer)
    bad = wrong_code(officer.totp_secret)
    for _ in range(app.config["LOGIN_THROTTLE_THRESHOLD"]):
        submit(client, "/login/verify", {"code": bad}, page="/login/verify")
    response = submit(client, "/login/verify", {"code": pyotp.TOTP(officer.totp_secret).now()}, page="/login/verify")
    assert response.status_code == 200
    assert "登录失败次数过多" in text(response)
    assert redirects_to_login(client.get("/account"))
    assert audit_actions(app).count("login.totp_failed") == app.config["LOGIN_THROTTLE_THRESHOLD"]


def test_each_time_step_is_accepted_once(app) -> None:
    with app.app_context():
        user = staff(Role.OFFICER)
        totp = pyotp.TOTP(user.totp_secret)
        step = totp.timecode(T0)
        assert services._matching_step(user.totp_secret, totp.at(T0), T0) == step
        # One step of clock drift either way is tolerated, two are not.
        assert services._matching_step(user.totp_secret, totp.generate_otp(step - 1), T0) == step - 1
        assert services._matching_step(user.totp_secret, totp.generate_otp(step + 1), T0) == step + 1
        assert services._matching_step(user.totp_secret, totp.generate_otp(step + 2), T0) is None

        services.verify_totp(user=user, code=totp.at(T0), now=T0)
        db.session.commit()
        with pytest.raises(DomainError, match="已使用"):
            services.verify_totp(user=user, code=totp.at(T0), now=T0 + dt.timedelta(seconds=5))
        # A code from before the accepted one is also spent.
        later = T0 + dt.timedelta(seconds=30)
        with pytest.raises(DomainError, match="已使用"):
            services.verify_totp(user=user, code=totp.generate_otp(step - 1), now=later)
        services.verify_totp(user=user, code=totp.at(later), now=later)
        assert user.totp_last_step == step + 1


def test_admin_reset_unbinds_the_authenticator_and_ends_sessions(app, client) -> None:
    admin = new_staff(app, Role.ADMIN)
    officer = new_staff(app, Role.OFFICER)
    officer_client = app.test_client()
    assert login(officer_client, officer.username, PASSWORD, officer.totp_secret).status_code == 302
    assert officer_client.get("/account").status_code == 200
    assert login(client, admin.username, PASSWORD, admin.totp_secret).status_code == 302
    page = f"/admin/users/{officer.id}"
    assert "解除验证器绑定" in text(client.get(page))
    response = submit(client, f"/admin/users/{officer.id}/reset-2fa", page=page)
    assert response.status_code == 302
    assert "已解除动态验证码绑定" in text(client.get(page))
    assert stored_user(app, officer.id).totp_secret is None
    assert redirects_to_login(officer_client.get("/account"))
    assert "user.totp_reset" in audit_actions(app)
    # Next time the officer enrols a new authenticator; the old codes are worthless.
    again = app.test_client()
    assert password_step(again, officer) == "/login/setup-2fa"
    new_secret = SECRET_RE.search(text(again.get("/login/setup-2fa"))).group(1)
    assert new_secret != officer.totp_secret


def test_only_admins_can_reset_an_authenticator(app, client) -> None:
    officer = new_staff(app, Role.OFFICER)
    other = new_staff(app, Role.OFFICER)
    assert login(client, officer.username, PASSWORD, officer.totp_secret).status_code == 302
    response = submit(client, f"/admin/users/{other.id}/reset-2fa", page="/account")
    assert response.status_code == 403
    assert stored_user(app, other.id).totp_secret == other.totp_secret
