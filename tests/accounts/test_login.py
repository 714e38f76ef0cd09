"""Logging in: by ID number or username, refusals, throttling with a growing delay, shared counters."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import redis
import sqlalchemy as sa
from flask.testing import FlaskClient

from opcert.access import Role
from opcert.accounts import services, throttle
from opcert.accounts.models import LoginThrottle, UserSession
from opcert.audit.models import AuditEvent
from opcert.extensions import db
from tests.factories import PASSWORD, id_number, staff, trainee
from tests.fixtures.database import make_app
from tests.fixtures.web import csrf_token, login, submit, text

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
IP = "203.0.113.7"


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())


def open_sessions(app) -> int:
    with app.app_context():
        query = sa.select(sa.func.count(UserSession.id)).where(UserSession.revoked_at.is_(None))
        return db.session.execute(query).scalar_one()


def refusal(account: str, password: str, now: dt.datetime, ip: str = IP) -> str:
    """The message authenticate() refuses with (the caller is inside an app context)."""
    with pytest.raises(services.LoginRefusedError) as caught:
        services.authenticate(account=account, password=password, ip=ip, now=now)
    db.session.commit()
    return caught.value.message


def test_trainee_logs_in_with_id_number(app, client) -> None:
    number = id_number(dt.date(1991, 4, 12))
    with app.app_context():
        trainee(name="张三", number=number)
    response = login(client, number, PASSWORD)
    assert response.status_code == 302
    assert "登录成功，欢迎您，张三" in text(client.get("/"))
    assert "张三" in text(client.get("/account"))
    assert open_sessions(app) == 1
    assert audit_actions(app)[-1] == "login.succeeded"


def test_id_number_typed_with_lowercase_x_and_spaces_logs_in(app, client) -> None:
    number = next(n for n in (id_number(dt.date(1985, 1, 1), seq=s) for s in range(50)) if n.endswith("X"))
    with app.app_context():
        trainee(number=number)
    typed = f"{number[:6]} {number[6:14]} {number[14:].lower()}"
    assert login(client, typed, PASSWORD).status_code == 302
    assert client.get("/account").status_code == 200


def test_staff_logs_in_with_username_in_any_case(app, client) -> None:
    with app.app_context():
        staff(Role.CENTRE_STAFF, username="zhang.wei")
    response = login(client, "Zhang.Wei", PASSWORD)
    assert response.status_code == 302
    assert "zhang.wei" in text(client.get("/account"))


def test_login_returns_to_the_page_that_asked_for_it(app, client) -> None:
    with app.app_context():
        number = trainee().id_number
    response = client.get("/account/sessions")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/login?next=")
    response = submit(client, login_url, {"account": number, "password": PASSWORD}, page=login_url)
    assert response.headers["Location"] == "/account/sessions"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(app, client, target) -> None:
    with app.app_context():
        number = trainee().id_number
    url = f"/login?next={quote(target)}"
    response = submit(client, url, {"account": number, "password": PASSWORD}, page=url)
    assert response.headers["Location"] == "/"


def test_wrong_password_is_refused_without_a_session(app, client) -> None:
    with app.app_context():
        user = trainee()
        number = user.id_number
    response = login(client, number, "Wrong2026pw")
    assert response.status_code == 200
    assert "账号或密码错误" in text(response)
    assert open_sessions(app) == 0
    account = client.get("/account")
    assert account.status_code == 302
    assert "/login" in account.headers["Location"]
    assert audit_actions(app)[-1] == "login.failed"


def test_unknown_account_gets_the_same_answer_as_a_wrong_password(app, client) -> None:
    response = login(client, "nobody", PASSWORD)
    assert response.status_code == 200
    assert "账号或密码错误" in text(response)
    assert audit_actions(app) == ["login.failed"]


def test_disabled_account_is_refused(app, client) -> None:
    with app.app_context():
        user = trainee()
        number = user.id_number
        services.set_user_active(user=user, active=False, by=None)
        db.session.commit()
    response = login(client, number, PASSWORD)
    assert response.status_code == 200
    assert "该账号已停用" in text(response)
    assert open_sessions(app) == 0
    assert client.get("/account").status_code == 302


def test_warning_before_the_lock(app, client) -> None:
    with app.app_context():
        number = trainee().id_number
    for _ in range(2):
        assert "再失败" not in text(login(client, number, "Wrong2026pw"))
    assert "再失败2次" in text(login(client, number, "Wrong2026pw"))
    assert "再失败1次" in text(login(client, number, "Wrong2026pw"))


def test_sixth_attempt_is_refused_even_with_the_right_password(app, client) -> None:
    with app.app_context():
        number = trainee().id_number
        threshold = app.config["LOGIN_THROTTLE_THRESHOLD"]
    assert threshold == 5
    for _ in range(threshold - 1):
        assert "账号或密码错误" in text(login(client, number, "Wrong2026pw"))
    assert "登录失败次数过多，请在30秒后再试" in text(login(client, number, "Wrong2026pw"))
    response = login(client, number, PASSWORD)
    assert response.status_code == 200
    assert "登录失败次数过多" in text(response)
    assert open_sessions(app) == 0
    assert client.get("/account").status_code == 302
    actions = audit_actions(app)
    assert actions.count("login.failed") == threshold
    assert actions[-1] == "login.throttled"
    assert "login.succeeded" not in actions


def test_lock_grows_after_it_expires_and_a_good_login_resets_it(app) -> None:
    with app.app_context():
        number = trainee().id_number
        base = app.config["LOGIN_THROTTLE_BASE_SECONDS"]
        for i in range(4):
            assert "账号或密码错误" in refusal(number, "Wrong2026pw", T0 + dt.timedelta(seconds=i))
        fifth = T0 + dt.timedelta(seconds=4)
        assert f"请在{base}秒后再试" in refusal(number, "Wrong2026pw", fifth)
        # Still locked one second before the lock ends, even with the right password.
        assert "登录失败次数过多，请在1秒后再试" in refusal(number, PASSWORD, fifth + dt.timedelta(seconds=base - 1))
        # The lock has ended: another failure locks for twice as long.
        sixth = fifth + dt.timedelta(seconds=base + 1)
        assert "请在1分钟后再试" in refusal(number, "Wrong2026pw", sixth)
        assert "登录失败次数过多" in refusal(number, PASSWORD, sixth + dt.timedelta(seconds=2 * base - 1))
        # Once that lock has ended the right password works and the count starts again from zero.
        later = sixth + dt.timedelta(seconds=2 * base + 1)
        user = services.authenticate(account=number, password=PASSWORD, ip=IP, now=later)
        db.session.commit()
        assert user.id_number == number
        assert db.session.get(LoginThrottle, f"acct:{number.lower()}") is None
        message = refusal(number, "Wrong2026pw", later + dt.timedelta(seconds=1))
        assert message == "账号或密码错误。"


def test_lock_never_exceeds_the_maximum(app) -> None:
    with app.app_context():
        number = trainee().id_number
        maximum = app.config["LOGIN_THROTTLE_MAX_SECONDS"]
        now = T0
        for _ in range(12):
            refusal(number, "Wrong2026pw", now)
            row = db.session.get(LoginThrottle, f"acct:{number.lower()}")
            if row is not None and row.locked_until is not None:
                now = row.locked_until + dt.timedelta(seconds=1)
        row = db.session.get(LoginThrottle, f"acct:{number.lower()}")
        assert row is not None
        assert row.failures == 12
        assert row.locked_until is not None
        assert (row.locked_until - row.last_failure_at).total_seconds() == maximum
        minutes = maximum // 60
        assert f"请在{minutes}分钟后再试" in refusal(number, PASSWORD, row.last_failure_at)


def test_failures_long_ago_are_forgotten(app) -> None:
    with app.app_context():
        number = trainee().id_number
        window = app.config["LOGIN_THROTTLE_WINDOW_SECONDS"]
        for i in range(4):
            refusal(number, "Wrong2026pw", T0 + dt.timedelta(seconds=i))
        # An hour later the four old failures no longer count: this one is "first", with no warning.
        assert refusal(number, "Wrong2026pw", T0 + dt.timedelta(seconds=window + 10)) == "账号或密码错误。"


def test_one_address_trying_many_accounts_is_throttled(app) -> None:
    with app.app_context():
        number = trainee().id_number
        threshold = app.config["LOGIN_THROTTLE_IP_THRESHOLD"]
        for i in range(threshold):
            # A different account each time, so no single account reaches its own threshold.
            refusal(f"guess{i:03d}", "Wrong2026pw", T0 + dt.timedelta(milliseconds=i))
        assert "登录失败次数过多" in refusal(number, PASSWORD, T0 + dt.timedelta(seconds=1))
        # The same person from another address is not affected.
        other = services.authenticate(account=number, password=PASSWORD, ip="198.51.100.9", now=T0)
        assert other.id_number == number


def test_simultaneous_failures_are_all_counted(app) -> None:
    with app.app_context():
        number = trainee().id_number
    browsers = [app.test_client() for _ in range(6)]
    tokens = [csrf_token(browser, "/login") for browser in browsers]
    start = threading.Barrier(len(browsers))
    answers: list[str] = []

    def attempt(browser: FlaskClient, token: str) -> None:
        start.wait()
        form = {"account": number, "password": "Wrong2026pw", "csrf_token": token}
        answers.append(text(browser.post("/login", data=form)))

    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(browsers, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The first failures of an account race to create its counter: none may end in an error page or go uncounted.
    # Each attempt is either counted (login.failed) or, once the lock is set, refused unchecked (login.throttled);
    # which of the two depends on how the backend interleaves them (SQLite queues writers, PostgreSQL does not).
    assert len(answers) == len(browsers)
    assert all("账号或密码错误" in answer or "登录失败次数过多" in answer for answer in answers)
    with app.app_context():
        actions = db.session.execute(
            sa.select(AuditEvent.action).where(AuditEvent.action.startswith("login."))
        ).scalars()
        counts = {action: 0 for action in ("login.failed", "login.throttled")}
        for action in actions:
            counts[action] += 1
        assert counts["login.failed"] + counts["login.throttled"] == len(browsers)
        assert counts["login.failed"] >= app.config["LOGIN_THROTTLE_THRESHOLD"]
        assert db.session.get(LoginThrottle, f"acct:{number.lower()}").failures == counts["login.failed"]


# --- Redis: counts shared by every worker --------------------------------------------------------


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The URL of a reachable test Redis: required under CI, else the test is skipped."""
    url = os.environ.get("OPCERT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {url} is required under CI: {exc}")
        pytest.skip(f"Redis at {url} is not reachable: {exc}")
    yield url
    client.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix no other test run uses."""
    prefix = f"opcert-test-{os.getpid()}-{secrets.token_hex(4)}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_redis_store_counts_locks_and_resets(redis_url, redis_prefix) -> None:
    client = redis.Redis.from_url(redis_url)
    store = throttle.RedisStore(client, prefix=redis_prefix)
    policy = throttle.Policy(threshold=3, base_seconds=30, max_seconds=900, window_seconds=3600)
    try:
        assert store.get("acct:someone", T0) == throttle.ThrottleState()
        for i in range(2):
            state = store.record_failure("acct:someone", T0, policy)
            assert state.failures == i + 1
            assert state.wait_seconds(T0) == 0
        state = store.record_failure("acct:someone", T0, policy)
        assert state.wait_seconds(T0) == 30
        stored = store.get("acct:someone", T0)
        assert stored.failures == 3
        assert stored.wait_seconds(T0) == 30
        later = T0 + dt.timedelta(seconds=31)
        assert store.record_failure("acct:someone", later, policy).wait_seconds(later) == 60
        # The key expires by itself once the window and the lock have passed.
        ttl = client.ttl(f"{redis_prefix}acct:someone")
        assert 3600 < ttl <= 3600 + 60
        assert store.get("acct:other", T0).failures == 0
        store.reset("acct:someone")
        assert store.get("acct:someone", T0) == throttle.ThrottleState()
    finally:
        client.close()


def test_workers_configured_with_redis_share_the_counts(app, database_url, redis_url, redis_prefix) -> None:
    settings = {"REDIS_URL": redis_url, "REDIS_PREFIX": redis_prefix}
    worker_a = make_app(database_url, **settings)
    worker_b = make_app(database_url, **settings)
    try:
        with worker_a.app_context():
            assert isinstance(throttle.get_store(), throttle.RedisStore)
            number = trainee().id_number
        client_a, client_b = worker_a.test_client(), worker_b.test_client()
        for _ in range(app.config["LOGIN_THROTTLE_THRESHOLD"]):
            login(client_a, number, "Wrong2026pw")
        # The next attempt reaches the other worker, which knows about the failures.
        response = login(client_b, number, PASSWORD)
        assert "登录失败次数过多" in text(response)
        assert client_b.get("/account").status_code == 302
        with worker_b.app_context():
            assert db.session.execute(sa.select(sa.func.count()).select_from(LoginThrottle)).scalar_one() == 0
    finally:
        for worker in (worker_a, worker_b):
            with worker.app_context():
                db.session.remove()
                db.engine.dispose()
            for connection in worker.extensions.get("opcert_redis", {}).values():
                connection.close()
