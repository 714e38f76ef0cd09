"""What `make run` does, over real HTTP: migrate, load demo data, serve with gunicorn (two workers)."""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from opcert.demo import DEMO_PASSWORD, TRAINEE_ID
from tests.factories import PASSWORD, id_number
from tests.fixtures.database import scratch_database

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects, so tests see them."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect()
        )

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=10) as response:
                return response.status, response.read().decode(), response.headers.get("Location", "")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode(), error.headers.get("Location", "")

    def post_form(self, page: str, path: str, data: dict[str, str]) -> tuple[int, str, str]:
        _, html, _ = self.request(page)
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {page}"
        return self.request(path, {**data, "csrf_token": match.group(1)})


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The platform served by gunicorn on a fresh database of the run's backend (one server per module)."""
    tmp_path = tmp_path_factory.mktemp("served")
    with scratch_database(request.config.getoption("--db"), tmp_path) as url:
        env = {
            **os.environ,
            "OPCERT_INSTANCE_PATH": str(tmp_path / "instance"),
            "OPCERT_SQLALCHEMY_DATABASE_URI": url,
            "OPCERT_ARGON2_TIME_COST": "1",
            "OPCERT_ARGON2_MEMORY_KIB": "8192",
        }
        for command in (["db", "upgrade"], ["demo"]):
            done = subprocess.run(  # noqa: S603 (our own console script)
                [str(BIN / "opcert"), *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stderr
        port = free_port()
        server = subprocess.Popen(  # noqa: S603
            [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=2) as response:  # noqa: S310
                        if response.status == 200:
                            break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.2)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=20)


def test_make_run_serves_the_chinese_home_page_with_local_assets(served: str) -> None:
    browser = Browser(served)
    status, html, _ = browser.request("/")
    assert status == 200
    assert 'lang="zh-CN"' in html
    assert "特种作业人员考核发证平台" in html
    stylesheet = re.search(r'href="(/[^"]*bootstrap[^"]*\.css)"', html)
    assert stylesheet, "Bootstrap must be served locally"
    assert browser.request(stylesheet.group(1))[0] == 200
    status, html, _ = browser.request("/catalogue")
    assert "低压电工作业" in html
    # The demo trainee can see the demo session open for booking.
    status, _, _ = browser.post_form("/login", "/login", {"account": TRAINEE_ID, "password": DEMO_PASSWORD})
    assert status == 302
    status, html, _ = browser.request("/exams/sessions")
    assert status == 200
    assert "第一机考室" in html


def test_register_log_in_and_throttle_across_workers(served: str) -> None:
    browser = Browser(served)
    number = id_number(dt.date(1985, 6, 1))  # not the demo trainee, whatever the counter says
    form = {
        "real_name": "陈一",
        "id_number": number,
        "mobile": "13700000000",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    status, _, location = browser.post_form("/register", "/register", form)
    assert (status, location) == (302, "/login")
    status, _, location = browser.post_form("/login", "/login", {"account": number, "password": PASSWORD})
    assert status == 302
    assert "陈一" in browser.request("/account")[1]

    # Five failures spread over both workers lock the demo trainee's account for everyone.
    stranger = Browser(served)
    for _ in range(5):
        _, html, _ = stranger.post_form("/login", "/login", {"account": TRAINEE_ID, "password": "Wrong2026pw"})
    assert "登录失败次数过多" in html
    _, html, _ = Browser(served).post_form("/login", "/login", {"account": TRAINEE_ID, "password": DEMO_PASSWORD})
    assert "登录失败次数过多" in html
