"""What `make run` does, over real HTTP: migrate, load demo data, serve with gunicorn (two workers)."""

from __future__ import annotations

import dataclasses
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

import pyotp
import pytest

from opcert.accounts.idnumber import mask_id_number
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


@dataclasses.dataclass
class Served:
    """A running server and what `opcert demo` printed when it was set up."""

    base: str
    demo_printout: str


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
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
        printout = done.stdout
        port = free_port()
        server = subprocess.Popen(  # noqa: S603
            [str(BIN / "gunicorn"), "--no-control-socket", "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
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
            yield Served(base, printout)
        finally:
            server.terminate()
            server.wait(timeout=20)


def test_make_run_serves_the_chinese_home_page_with_local_assets(served: Served) -> None:
    browser = Browser(served.base)
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


DEMO_LINE = re.compile(r"^\s+(\w+)\s+(\S+)\s+password (\S+)(?:\s+TOTP secret (\S+))?$", re.M)


def test_every_demo_account_logs_in_through_the_pages_with_what_the_demo_printed(served: Served) -> None:
    accounts = DEMO_LINE.findall(served.demo_printout)
    assert {role for role, *_ in accounts} == {"admin", "officer", "centre_staff", "examiner", "provider", "trainee"}
    for role, login, password, secret in accounts:
        browser = Browser(served.base)
        status, _, location = browser.post_form("/login", "/login", {"account": login, "password": password})
        assert status == 302, f"{role}: password step refused"
        if secret:
            assert location == "/login/verify", f"{role} must be asked for a one-time code"
            code = pyotp.TOTP(secret).now()
            status, html, location = browser.post_form("/login/verify", "/login/verify", {"code": code})
            assert status == 302, f"{role}: TOTP code refused: {html[:300]}"
        assert location == "/", f"{role} ends up at {location}"
        status, html, _ = browser.request("/account")
        assert status == 200, f"{role} is not logged in"
        assert (mask_id_number(login) if role == "trainee" else login) in html


def test_readme_demo_secrets_and_code_command_work(served: Served) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    printed = {login: secret for _, login, _, secret in DEMO_LINE.findall(served.demo_printout) if secret}
    for login, secret in printed.items():
        assert f"`{login}` | two-factor: TOTP secret `{secret}`" in readme, f"README shows another secret for {login}"
    command = re.search(r"`(\.venv/bin/python -c \"[^`]+\")`", readme)
    assert command, "README no longer shows the command that prints a code"
    argv = [str(BIN / "python"), "-c", command.group(1).split(' -c "', 1)[1].rstrip('"')]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"\d{6}\n", done.stdout)


def test_register_log_in_and_throttle_across_workers(served: Served) -> None:
    browser = Browser(served.base)
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
    stranger = Browser(served.base)
    for _ in range(5):
        _, html, _ = stranger.post_form("/login", "/login", {"account": TRAINEE_ID, "password": "Wrong2026pw"})
    assert "登录失败次数过多" in html
    _, html, _ = Browser(served.base).post_form("/login", "/login", {"account": TRAINEE_ID, "password": DEMO_PASSWORD})
    assert "登录失败次数过多" in html
