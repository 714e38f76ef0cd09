"""Server-side sessions: a copied cookie stops working after logout, disabling or a password change; idle timeout."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from flask.testing import FlaskClient

from opcert.accounts import services
from opcert.accounts.models import User, UserSession
from opcert.db import utcnow
from opcert.extensions import db
from tests.factories import PASSWORD, trainee
from tests.fixtures.web import login, submit, text

COOKIE = "opcert_session"


@dataclasses.dataclass(frozen=True)
class Account:
    """What a test needs to know about an account once the app context has ended."""

    id: int
    id_number: str
    real_name: str


def new_trainee(app, **kwargs: str) -> Account:
    with app.app_context():
        user = trainee(**kwargs)
        return Account(user.id, user.id_number, user.real_name)


def logged_in_trainee(app, client: FlaskClient, **kwargs: str) -> Account:
    account = new_trainee(app, **kwargs)
    assert login(client, account.id_number, PASSWORD).status_code == 302
    return account


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def with_cookie(app, value: str) -> FlaskClient:
    """A second browser that was handed a copy of someone's cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, value)
    return other


def redirects_to_login(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers["Location"]


def sessions_of(app, user_id: int) -> list[UserSession]:
    with app.app_context():
        query = sa.select(UserSession).where(UserSession.user_id == user_id).order_by(UserSession.id)
        rows = list(db.session.execute(query).scalars())
        db.session.expunge_all()
        return rows


def test_copied_cookie_stops_working_after_logout(app, client) -> None:
    logged_in_trainee(app, client, name="赵六")
    value = session_cookie(client)
    assert "赵六" in text(with_cookie(app, value).get("/account"))
    response = submit(client, "/logout", page="/account")
    assert response.status_code == 302
    assert "您已安全退出" in text(client.get("/"))
    assert redirects_to_login(client.get("/account"))
    assert redirects_to_login(with_cookie(app, value).get("/account"))


def test_logout_without_csrf_token_is_refused_and_keeps_the_session(app, client) -> None:
    logged_in_trainee(app, client)
    response = client.post("/logout")
    assert response.status_code == 400
    assert client.get("/account").status_code == 200


def test_disabling_an_account_ends_its_sessions_at_once(app, client) -> None:
    user = logged_in_trainee(app, client)
    value = session_cookie(client)
    with app.app_context():
        services.set_user_active(user=db.session.get(User, user.id), active=False, by=None)
        db.session.commit()
    assert redirects_to_login(client.get("/account"))
    assert redirects_to_login(with_cookie(app, value).get("/account"))
    # Enabling it again does not bring the old sessions back.
    with app.app_context():
        services.set_user_active(user=db.session.get(User, user.id), active=True, by=None)
        db.session.commit()
    assert redirects_to_login(with_cookie(app, value).get("/account"))
    assert all(row.revoked_reason == "disabled" for row in sessions_of(app, user.id))


def test_password_change_ends_other_sessions_but_not_this_one(app, client) -> None:
    user = logged_in_trainee(app, client)
    laptop = app.test_client()
    assert login(laptop, user.id_number, PASSWORD).status_code == 302
    new = "Changed2026pw"
    response = submit(
        client,
        "/account/password",
        {"current_password": PASSWORD, "new_password": new, "confirm": new},
        page="/account/password",
    )
    assert response.status_code == 302
    assert "其他设备上的登录已退出" in text(client.get("/account"))
    assert redirects_to_login(laptop.get("/account"))
    assert login(laptop, user.id_number, new).status_code == 302
    assert laptop.get("/account").status_code == 200


def test_password_change_with_wrong_current_password_ends_nothing(app, client) -> None:
    user = logged_in_trainee(app, client)
    laptop = app.test_client()
    login(laptop, user.id_number, PASSWORD)
    response = submit(
        client,
        "/account/password",
        {"current_password": "Wrong2026pw", "new_password": "Changed2026pw", "confirm": "Changed2026pw"},
        page="/account/password",
    )
    assert response.status_code == 200
    assert "当前密码不正确" in text(response)
    assert laptop.get("/account").status_code == 200


def test_idle_session_ends_with_a_chinese_notice(app, client) -> None:
    user = logged_in_trainee(app, client)
    with app.app_context():
        idle = app.config["SESSION_IDLE_MINUTES"]
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.user_id == user.id)
            .values(last_seen_at=utcnow() - dt.timedelta(minutes=idle + 1))
        )
        db.session.commit()
    response = client.get("/account", follow_redirects=True)
    assert response.request.path == "/login"
    assert "已自动退出" in text(response)
    assert [row.revoked_reason for row in sessions_of(app, user.id)] == ["idle"]
    # The notice is shown once; afterwards the visitor is simply anonymous.
    assert "已自动退出" not in text(client.get("/login"))


def test_recently_active_session_stays_open(app, client) -> None:
    user = logged_in_trainee(app, client)
    with app.app_context():
        idle = app.config["SESSION_IDLE_MINUTES"]
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.user_id == user.id)
            .values(last_seen_at=utcnow() - dt.timedelta(minutes=idle - 1))
        )
        db.session.commit()
    assert client.get("/account").status_code == 200
    # That request counted as activity: the idle clock starts again.
    (row,) = sessions_of(app, user.id)
    assert utcnow() - row.last_seen_at < dt.timedelta(minutes=1)


def test_session_ends_after_its_lifetime_even_when_active(app, client) -> None:
    user = logged_in_trainee(app, client)
    with app.app_context():
        lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.user_id == user.id)
            .values(created_at=utcnow() - lifetime - dt.timedelta(minutes=1))
        )
        db.session.commit()
    assert redirects_to_login(client.get("/account"))
    assert [row.revoked_reason for row in sessions_of(app, user.id)] == ["expired"]


def test_session_cookie_is_httponly_and_samesite_lax(app, client) -> None:
    user = new_trainee(app)
    response = login(client, user.id_number, PASSWORD)
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{COOKIE}=")]
    assert cookies
    for header in cookies:
        assert "HttpOnly" in header
        assert "SameSite=Lax" in header


def test_cookie_carries_a_random_token_stored_only_hashed(app, client) -> None:
    user = logged_in_trainee(app, client)
    client.get("/")  # shows (and so removes) the welcome message, which names the user
    payload = app.session_interface.get_signing_serializer(app).loads(session_cookie(client))
    token = payload["_user_id"]
    assert token != str(user.id)
    assert len(token) >= 40
    decoded = json.dumps(payload, ensure_ascii=False)
    assert user.id_number not in decoded
    assert user.real_name not in decoded
    (row,) = sessions_of(app, user.id)
    assert row.token_hash != token
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_user_lists_and_ends_own_sessions(app, client) -> None:
    user = logged_in_trainee(app, client)
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = "PhoneBrowser/1.0"
    assert login(phone, user.id_number, PASSWORD).status_code == 302
    page = text(client.get("/account/sessions"))
    assert "PhoneBrowser/1.0" in page
    rows = sessions_of(app, user.id)
    assert len(rows) == 2
    phone_row = next(row for row in rows if row.user_agent == "PhoneBrowser/1.0")
    response = submit(client, f"/account/sessions/{phone_row.id}/revoke", page="/account/sessions")
    assert response.status_code == 302
    page = text(client.get("/account/sessions"))
    assert "该会话已结束" in page
    assert "PhoneBrowser/1.0" not in page
    assert redirects_to_login(phone.get("/account"))
    assert client.get("/account").status_code == 200


def test_revoking_someone_elses_session_is_not_found(app, client) -> None:
    victim_client = app.test_client()
    victim = logged_in_trainee(app, victim_client, name="受害人")
    logged_in_trainee(app, client, name="攻击者")
    (victim_row,) = sessions_of(app, victim.id)
    response = submit(client, f"/account/sessions/{victim_row.id}/revoke", page="/account/sessions")
    assert response.status_code == 404
    assert "页面不存在" in text(response)
    assert "受害人" in text(victim_client.get("/account"))
    assert sessions_of(app, victim.id)[0].revoked_at is None
    assert submit(client, "/account/sessions/999999/revoke", page="/account/sessions").status_code == 404
