"""Redis unreachable: logins keep working on the database's counters, the outage is logged once, Redis is tried
again later, and /healthz says "degraded". Redis is really unreachable here: a closed loopback port."""

from __future__ import annotations

import os
import secrets
import select
import socket
import socketserver
import threading
from urllib.parse import urlsplit

import pytest
import redis
import sqlalchemy as sa
from flask import Flask

from opcert.accounts import throttle
from opcert.accounts.models import LoginThrottle
from opcert.extensions import db
from tests.factories import PASSWORD, trainee
from tests.fixtures.database import make_app
from tests.fixtures.web import login, text


def closed_port() -> int:
    """A loopback port nothing listens on (bound once by the OS, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def close(app: Flask) -> None:
    """Release an extra app's database and Redis connections."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    for link in app.extensions.get("opcert_redis", {}).values():
        link.close()


def unreachable_app(database_url: str, **settings: object) -> Flask:
    """An app whose Redis is a closed port."""
    return make_app(database_url, REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0", **settings)


@pytest.fixture
def real_redis() -> str:
    """The URL of the test Redis: required under CI, else the test is skipped."""
    url = os.environ.get("OPCERT_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {url} is required under CI: {exc}")
        pytest.skip(f"Redis at {url} is not reachable: {exc}")
    finally:
        client.close()
    return url


class Forwarder(socketserver.ThreadingTCPServer):
    """A loopback port that relays every connection to the real Redis: Redis "comes back" when it starts."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.target = target
        super().__init__(("127.0.0.1", port), Relay)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop accepting and close the listening socket."""
        self.shutdown()
        self.server_close()
        self.thread.join()


class Relay(socketserver.BaseRequestHandler):
    """Copy bytes both ways between the client and Redis until either side closes."""

    server: Forwarder

    def handle(self) -> None:
        """Relay one connection."""
        with socket.create_connection(self.server.target) as upstream:
            ends = [self.request, upstream]
            while True:
                ready, _w, _x = select.select(ends, [], [], 5)
                if not ready:
                    return
                for end in ready:
                    data = end.recv(65536)
                    if not data:
                        return
                    (upstream if end is self.request else self.request).sendall(data)


def test_login_keeps_working_on_the_database_when_redis_is_unreachable(app, database_url, caplog) -> None:
    worker = unreachable_app(database_url, REDIS_RETRY_SECONDS=3600)
    try:
        with worker.app_context():
            locked, other = trainee().id_number, trainee().id_number
        client = worker.test_client()
        for _ in range(app.config["LOGIN_THROTTLE_THRESHOLD"] - 1):
            assert "账号或密码错误" in text(login(client, locked, "Wrong2026pw"))
        assert "登录失败次数过多" in text(login(client, locked, "Wrong2026pw"))
        assert "登录失败次数过多" in text(login(client, locked, PASSWORD))
        with worker.app_context():
            row = db.session.get(LoginThrottle, f"acct:{locked.lower()}")
            assert row is not None
            assert row.failures == app.config["LOGIN_THROTTLE_THRESHOLD"]
        assert login(worker.test_client(), other, PASSWORD).status_code == 302
        assert caplog.text.count("Redis unreachable") == 1
    finally:
        close(worker)


def test_redis_is_tried_again_later_and_used_once_it_answers(app, database_url, real_redis, caplog) -> None:
    target = urlsplit(real_redis)
    port = closed_port()
    prefix = f"opcert-test-{os.getpid()}-{secrets.token_hex(4)}:"
    worker = make_app(
        database_url,
        REDIS_URL=f"redis://127.0.0.1:{port}{target.path}",
        REDIS_PREFIX=prefix,
        REDIS_RETRY_SECONDS=0,
    )
    forwarder: Forwarder | None = None
    direct = redis.Redis.from_url(real_redis)
    try:
        with worker.app_context():
            number = trainee().id_number
        client = worker.test_client()
        login(client, number, "Wrong2026pw")  # Redis is down: counted in the database
        with worker.app_context():
            assert db.session.get(LoginThrottle, f"acct:{number.lower()}") is not None
            assert isinstance(throttle.get_store(), throttle.DatabaseStore)
        forwarder = Forwarder(port, (target.hostname or "127.0.0.1", target.port or 6379))
        login(client, number, "Wrong2026pw")  # tried again, Redis answers: counted there
        assert direct.hget(f"{prefix}throttle:acct:{number.lower()}", "failures") == b"1"
        assert "Redis reachable again" in caplog.text
        assert caplog.text.count("Redis unreachable") == 1
    finally:
        close(worker)
        if forwarder is not None:
            forwarder.stop()
        for key in direct.scan_iter(match=f"{prefix}*"):
            direct.delete(key)
        direct.close()


def test_health_reports_redis_unreachable_as_degraded(app, database_url) -> None:
    worker = unreachable_app(database_url)
    try:
        response = worker.test_client().get("/healthz")
        assert response.status_code == 200  # still serving: the load balancer keeps it
        assert response.get_json() == {"status": "degraded", "checks": {"database": "ok", "redis": "unreachable"}}
    finally:
        close(worker)


def test_health_reports_a_reachable_redis_as_ok(app, database_url, real_redis) -> None:
    worker = make_app(database_url, REDIS_URL=real_redis)
    try:
        response = worker.test_client().get("/healthz")
        assert response.status_code == 200
        assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    finally:
        close(worker)


def test_health_is_503_without_the_database(app, database_url, tmp_path, caplog) -> None:
    if sa.make_url(database_url).get_backend_name() == "sqlite":
        broken = f"sqlite:///{tmp_path / 'missing-folder' / 'opcert.sqlite'}"
    else:
        broken = sa.make_url(database_url).set(port=closed_port()).render_as_string(hide_password=False)
    worker = make_app(broken)
    try:
        response = worker.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json() == {
            "status": "down",
            "checks": {"database": "unreachable", "redis": "not_configured"},
        }
        assert "database unreachable" in caplog.text
    finally:
        close(worker)
