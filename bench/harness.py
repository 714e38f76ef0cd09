"""What the HTTP benchmarks share: a throw-away database, the app under gunicorn, and plain HTTP clients.

The scripts in this folder import it by name (`from harness import ...`): Python puts a script's own folder on
`sys.path`, so `.venv/bin/python bench/booking.py` finds it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from opcert.accounts.idnumber import check_character

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "Secure2026pw"  # noqa: S105 (bench accounts in a throw-away database)
COOKIE = "opcert_session"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def id_number(n: int) -> str:
    """A valid resident ID number, different for every n."""
    first17 = f"310101{dt.date(1975, 1, 1) + dt.timedelta(days=n // 50):%Y%m%d}{n % 50:02d}1"
    return first17 + check_character(first17)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


OPENER = urllib.request.build_opener(_NoRedirect())


def request(url: str, cookie: str, data: dict[str, str] | None = None) -> tuple[int, str, str, str]:
    """(status, body, Location, new session cookie or the old one)."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers={"Cookie": f"{COOKIE}={cookie}"})  # noqa: S310
    try:
        response = OPENER.open(req, timeout=120)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            if header.startswith(COOKIE + "="):
                cookie = header.split(";", 1)[0].split("=", 1)[1]
        return response.status, text, response.headers.get("Location", ""), cookie


def add_database_arguments(parser: argparse.ArgumentParser, *, default: str) -> None:
    """`--db sqlite|postgresql` and `--url` (the PostgreSQL server a scratch database is made on)."""
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default=default)
    parser.add_argument("--url", default=os.environ.get("OPCERT_BENCH_DATABASE_URL", DEFAULT_SERVER))


@contextlib.contextmanager
def scratch_database(args: argparse.Namespace, tmp: Path) -> Iterator[str]:
    """The URL of an empty database for the run: a SQLite file in `tmp`, or a PostgreSQL database dropped after."""
    if args.db == "sqlite":
        yield f"sqlite:///{tmp / 'bench.sqlite'}"
        return
    server = sa.make_url(args.url).set(drivername="postgresql+psycopg")
    name = f"opcert_bench_{secrets.token_hex(3)}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def new_secret_key() -> None:
    """A fresh secret key for the run, shared by the preparing app and gunicorn's (through the environment)."""
    os.environ["OPCERT_SECRET_KEY"] = secrets.token_urlsafe(32)


@contextlib.contextmanager
def gunicorn(url: str, tmp: Path, *, workers: int, settings: dict[str, str] | None = None) -> Iterator[str]:
    """The app under gunicorn on a free loopback port, once `/healthz` answers; its base URL. `settings` are more
    OPCERT_* variables (without the prefix)."""
    env = {
        **os.environ,
        "OPCERT_INSTANCE_PATH": str(tmp / "instance"),
        "OPCERT_SQLALCHEMY_DATABASE_URI": url,
        "OPCERT_PHOTO_SUBJECT_KEY": "bench",
        "OPCERT_PHOTO_STORAGE_DIR": str(tmp / "photos"),
        **{f"OPCERT_{name}": value for name, value in (settings or {}).items()},
    }
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 (our own gunicorn)
        [str(BIN / "gunicorn"), "--workers", str(workers), "--backlog", "4096", "--timeout", "120",
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
