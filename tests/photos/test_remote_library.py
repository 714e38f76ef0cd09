"""The city's unified photo library over real HTTP on loopback: the client's timeouts and retries, the platform's
cache of fetched photos, the trainee's page when the library is down, and `opcert photos serve-library`."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from opcert.extensions import db
from photos import services
from photos.library import LibraryUnavailableError, RemoteLibrary
from photos.models import FaceTemplate, Photo, PhotoSource
from photos.server import create_library_app
from tests.factories import PASSWORD, id_number, trainee
from tests.fixtures.database import make_app
from tests.fixtures.web import login, text

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "loopback-library-token"
KNOWN = id_number(dt.date(1988, 8, 8))  # the library has a photo for this person
UNKNOWN = id_number(dt.date(1992, 2, 2))  # and none for this one
# The outside library's own dates, by the UTC date (no app context here for local_today()). UTC is never ahead of
# Asia/Shanghai, so neither a month ago nor "today" is ever in the platform's future.
CAPTURED_ON = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=30)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Loopback:
    """A WSGI app served on 127.0.0.1 in a thread; counts requests, and answers 503 to the next `fail_next`."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.requests: list[str] = []
        self.fail_next = 0
        self.server = make_server("127.0.0.1", 0, self._serve, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()
        self.running = True

    def _serve(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.requests.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        if self.fail_next:
            self.fail_next -= 1
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"error": "unavailable"}']
        return self.app(environ, start_response)

    def stop(self) -> None:
        """Shut the server down (the library is now down)."""
        if self.running:
            self.running = False
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()


class SilentServer:
    """Accepts connections and never answers: a library that hangs."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        """Stop accepting and close every connection."""
        self.stopping.set()
        self.thread.join()
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def write_library(directory: Path, rows: list[tuple[str, Path, dt.date]]) -> None:
    """library.csv pointing at photos in place (../shared/faces is never copied or written)."""
    lines = ["id_number,path,captured_on", *(f"{n},{p},{d.isoformat()}" for n, p, d in rows)]
    (directory / "library.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def face(faces_dir: Path) -> Path:
    """The photo the library holds for KNOWN."""
    return faces_dir / "identities" / "deepface__dp01" / "1.jpg"


@pytest.fixture
def library_dir(tmp_path: Path, face: Path) -> Path:
    """A library directory whose library.csv points at `face` in place."""
    directory = tmp_path / "library"
    directory.mkdir()
    write_library(directory, [(KNOWN, face, CAPTURED_ON)])
    return directory


@pytest.fixture
def library(library_dir: Path) -> Iterator[Loopback]:
    """The reference server on loopback, serving library_dir."""
    server = Loopback(create_library_app(library_dir, TOKEN))
    yield server
    server.stop()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """A library that accepts connections and never answers."""
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def remote_app(app: Flask, database_url: str, library: Loopback) -> Iterator[Callable[..., Flask]]:
    """Make apps on the session database with the remote library; `app` empties the tables afterwards."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        settings = {
            "PHOTO_LIBRARY": "remote",
            "PHOTO_LIBRARY_URL": library.url,
            "PHOTO_LIBRARY_TOKEN": TOKEN,
            "PHOTO_LIBRARY_TIMEOUT": 2.0,
            "PHOTO_LIBRARY_RETRIES": 0,
        }
        made.append(make_app(database_url, **{**settings, **overrides}))
        return made[-1]

    yield make
    for each in made:
        with each.app_context():
            db.session.remove()
            db.engine.dispose()


def reference(app: Flask, number: str) -> tuple[services.ReferenceCase, int | None]:
    """reference_status at a request boundary: the case and the photo row's id, committed."""
    with app.app_context():
        status = services.reference_status(number)
        db.session.commit()
        return status.case, status.photo.id if status.photo else None


def library_photos(app: Flask) -> list[tuple[int, str | None, bool]]:
    """(id, library photo_id, is_current) of the stored library photos, oldest first."""
    with app.app_context():
        query = sa.select(Photo.id, Photo.library_photo_id, Photo.is_current).where(
            Photo.source == PhotoSource.UNIFIED_LIBRARY
        )
        return [(row.id, row.library_photo_id, row.is_current) for row in db.session.execute(query.order_by(Photo.id))]


# --- the client against the reference server ------------------------------------------------------------------


def test_lookup_fetches_the_current_photo_and_its_bytes(library: Loopback, face: Path) -> None:
    record = RemoteLibrary(library.url, TOKEN, timeout=2).lookup(KNOWN)
    assert record is not None
    assert hashlib.sha256(record.data).hexdigest() == hashlib.sha256(face.read_bytes()).hexdigest()
    assert record.captured_on == CAPTURED_ON
    assert KNOWN not in record.photo_id
    assert library.requests == ["POST /v1/photos/lookup", f"GET /v1/photos/{record.photo_id}/image"]
    # The same file gives the same photo_id; the client sends the ID number stripped.
    assert RemoteLibrary(library.url, TOKEN).lookup(f" {KNOWN} ") == record


def test_unknown_id_number_is_none(library: Loopback) -> None:
    assert RemoteLibrary(library.url, TOKEN).lookup(UNKNOWN) is None
    assert library.requests == ["POST /v1/photos/lookup"]


def test_wrong_token_is_a_configuration_error_not_a_missing_photo(library: Loopback) -> None:
    with pytest.raises(LibraryUnavailableError) as caught:
        RemoteLibrary(library.url, "wrong-token", retries=2).lookup(KNOWN)
    assert "401" in caught.value.detail
    assert "统一照片库暂时无法访问" in caught.value.message
    assert library.requests == ["POST /v1/photos/lookup"]  # not retried


def test_a_404_that_is_not_the_protocols_not_found_is_an_error(library: Loopback) -> None:
    with pytest.raises(LibraryUnavailableError) as caught:
        RemoteLibrary(f"{library.url}/wrong-prefix", TOKEN).lookup(KNOWN)
    assert "404" in caught.value.detail


def test_a_library_that_is_down_fails_fast() -> None:
    client = RemoteLibrary(f"http://127.0.0.1:{free_port()}", TOKEN, timeout=0.5, retries=1)
    start = time.monotonic()
    with pytest.raises(LibraryUnavailableError) as caught:
        client.lookup(KNOWN)
    took = time.monotonic() - start
    assert "ConnectionError" in caught.value.detail
    assert took < (client.retries + 1) * client.timeout + 1


def test_a_library_that_hangs_is_given_up_after_the_timeout(silent_server: SilentServer) -> None:
    client = RemoteLibrary(silent_server.url, TOKEN, timeout=0.5, retries=1)
    start = time.monotonic()
    with pytest.raises(LibraryUnavailableError) as caught:
        client.lookup(KNOWN)
    took = time.monotonic() - start
    assert "Timeout" in caught.value.detail
    assert client.timeout <= took < (client.retries + 1) * client.timeout + 1


def test_a_503_is_retried(library: Loopback) -> None:
    library.fail_next = 1
    record = RemoteLibrary(library.url, TOKEN, timeout=2, retries=1).lookup(KNOWN)
    assert record is not None
    assert library.requests == [
        "POST /v1/photos/lookup",
        "POST /v1/photos/lookup",
        f"GET /v1/photos/{record.photo_id}/image",
    ]


def test_retries_are_bounded(library: Loopback) -> None:
    library.fail_next = 10
    with pytest.raises(LibraryUnavailableError) as caught:
        RemoteLibrary(library.url, TOKEN, timeout=2, retries=2).lookup(KNOWN)
    assert "HTTP 503" in caught.value.detail
    assert len(library.requests) == 3


def test_plain_http_only_on_loopback() -> None:
    with pytest.raises(ValueError, match="https"):
        RemoteLibrary("http://photos.example.gov.cn", TOKEN)
    RemoteLibrary("https://photos.example.gov.cn/api", TOKEN)
    RemoteLibrary("http://localhost:8010", TOKEN)


# --- the reference server -------------------------------------------------------------------------------------


def test_reference_server_speaks_the_protocol(library: Loopback) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    lookup = f"{library.url}/v1/photos/lookup"
    with requests.Session() as http:
        refused = http.post(lookup, json={"id_number": KNOWN}, timeout=5)
        assert refused.status_code == 401
        assert refused.json() == {"error": "unauthorized"}
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        bad = http.post(lookup, data=b"not json", headers={**auth, "Content-Type": "application/json"}, timeout=5)
        assert (bad.status_code, bad.json()) == (400, {"error": "bad_request"})
        missing = http.get(f"{library.url}/v1/photos/{'0' * 32}/image", headers=auth, timeout=5)
        assert (missing.status_code, missing.json()) == (404, {"error": "not_found"})
        unknown = http.get(f"{library.url}/v2/anything", headers=auth, timeout=5)
        assert (unknown.status_code, unknown.json()) == (404, {"error": "unknown_endpoint"})
        found = http.post(lookup, json={"id_number": KNOWN}, headers=auth, timeout=5)
        assert found.status_code == 200
        assert found.json()["content_type"] == "image/jpeg"
    assert not any(KNOWN in line for line in library.requests)  # ID numbers never appear in URLs


def test_reference_server_serves_files_named_by_id_number(tmp_path: Path, faces_dir: Path) -> None:
    source = faces_dir / "identities" / "deepface__dp02" / "1.jpg"
    number = id_number(dt.date(1985, 1, 1))
    shutil.copyfile(source, tmp_path / f"{number}.jpg")
    taken = dt.datetime(2025, 5, 4, 12, 0)
    os.utime(tmp_path / f"{number}.jpg", (taken.timestamp(), taken.timestamp()))
    server = Loopback(create_library_app(tmp_path, TOKEN))
    try:
        record = RemoteLibrary(server.url, TOKEN).lookup(number)
    finally:
        server.stop()
    assert record is not None
    assert record.captured_on == dt.date(2025, 5, 4)
    assert record.data == source.read_bytes()


# --- the platform with the remote library ---------------------------------------------------------------------


def test_fetched_photo_is_stored_with_its_template_and_cached(
    remote_app: Callable[..., Flask], library: Loopback
) -> None:
    app = remote_app()
    case, photo_id = reference(app, KNOWN)
    assert case is services.ReferenceCase.LIBRARY
    with app.app_context():
        photo = db.session.get(Photo, photo_id)
        assert photo is not None
        assert photo.source is PhotoSource.UNIFIED_LIBRARY
        assert photo.library_photo_id is not None
        assert photo.library_photo_id in library.requests[-1]
        assert db.session.execute(sa.select(FaceTemplate).where(FaceTemplate.photo_id == photo_id)).scalar()
    asked = len(library.requests)
    assert reference(app, KNOWN) == (services.ReferenceCase.LIBRARY, photo_id)
    assert len(library.requests) == asked  # within PHOTO_LIBRARY_CACHE_HOURS: no request


def test_after_the_cache_time_the_library_is_asked_again(
    remote_app: Callable[..., Flask], library: Loopback, library_dir: Path, faces_dir: Path
) -> None:
    app = remote_app(PHOTO_LIBRARY_CACHE_HOURS=0)
    _, first = reference(app, KNOWN)
    asked = len(library.requests)
    assert reference(app, KNOWN) == (services.ReferenceCase.LIBRARY, first)
    assert library.requests[asked] == "POST /v1/photos/lookup"
    assert len(library_photos(app)) == 1  # same photo_id: the stored row and its template are reused

    # The person has a new photo in the library: a new photo_id is a new photo, and the old one is retired.
    write_library(
        library_dir, [(KNOWN, faces_dir / "identities" / "deepface__dp01" / "2.jpg", dt.datetime.now(dt.UTC).date())]
    )
    case, second = reference(app, KNOWN)
    assert case is services.ReferenceCase.LIBRARY
    assert second != first
    assert [(row_id, current) for row_id, _, current in library_photos(app)] == [(first, False), (second, True)]


def test_library_down_with_a_cached_photo_still_uses_it(remote_app: Callable[..., Flask], library: Loopback) -> None:
    app = remote_app(PHOTO_LIBRARY_CACHE_HOURS=0)
    _, photo_id = reference(app, KNOWN)
    library.stop()
    assert reference(app, KNOWN) == (services.ReferenceCase.LIBRARY, photo_id)


@pytest.mark.parametrize("url", ["closed port", "http://photos.example.gov.cn"], ids=["down", "plain-http"])
def test_library_down_and_nothing_cached_means_the_manual_check(remote_app: Callable[..., Flask], url: str) -> None:
    if url == "closed port":
        url = f"http://127.0.0.1:{free_port()}"
    app = remote_app(PHOTO_LIBRARY_URL=url, PHOTO_LIBRARY_TIMEOUT=0.5)
    assert reference(app, KNOWN) == (services.ReferenceCase.UNAVAILABLE, None)
    with app.app_context():
        services.record_consent(id_number=KNOWN, recorded_by_id=None)
        with pytest.raises(LibraryUnavailableError) as caught:
            services.verify_face(id_number=KNOWN, images=[b""], requested_by_id=None, purpose="check-in")
        db.session.rollback()
    assert "统一照片库暂时无法访问" in caught.value.message


def test_trainee_page_when_the_library_is_down(remote_app: Callable[..., Flask]) -> None:
    app = remote_app(PHOTO_LIBRARY_URL=f"http://127.0.0.1:{free_port()}", PHOTO_LIBRARY_TIMEOUT=0.5)
    with app.app_context():
        trainee(number=KNOWN)
    client = app.test_client()
    assert login(client, KNOWN, PASSWORD).status_code == 302
    response = client.get("/account/photo")
    assert response.status_code == 200
    page = text(response)
    assert "暂时无法访问" in page
    assert 'type="file"' not in page  # no upload while it is unknown whether the library has a photo


def test_trainee_page_asks_for_an_upload_when_the_library_has_no_photo(
    remote_app: Callable[..., Flask], library: Loopback
) -> None:
    app = remote_app()
    with app.app_context():
        trainee(number=UNKNOWN)
    client = app.test_client()
    assert login(client, UNKNOWN, PASSWORD).status_code == 302
    assert reference(app, UNKNOWN) == (services.ReferenceCase.MISSING, None)
    page = text(client.get("/account/photo"))
    assert 'type="file"' in page
    assert "统一照片库中没有您的可用照片" in page


def test_home_page_photo_step_uses_the_remote_librarys_photo(remote_app: Callable[..., Flask]) -> None:
    app = remote_app()
    with app.app_context():
        trainee(number=KNOWN)
    client = app.test_client()
    assert login(client, KNOWN, PASSWORD).status_code == 302
    page = text(client.get("/"))
    assert "已从本市统一照片库调取您的照片，无需上传" in page
    assert len(library_photos(app)) == 1  # fetched for the home page and kept for the next visit


def test_home_page_photo_step_when_the_library_is_down(remote_app: Callable[..., Flask]) -> None:
    app = remote_app(PHOTO_LIBRARY_URL=f"http://127.0.0.1:{free_port()}", PHOTO_LIBRARY_TIMEOUT=0.5)
    with app.app_context():
        trainee(number=KNOWN)
    client = app.test_client()
    assert login(client, KNOWN, PASSWORD).status_code == 302
    response = client.get("/")
    assert response.status_code == 200
    assert "暂不能确认您是否需要上传照片" in text(response)


# --- the command ----------------------------------------------------------------------------------------------


def test_serve_library_help(runner: Any) -> None:
    result = runner.invoke(args=["photos", "serve-library", "--help"])
    assert result.exit_code == 0
    assert "--token" in result.output
    assert "OPCERT_PHOTO_LIBRARY_TOKEN" in result.output


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("library.csv", f"id_number,path,captured_on\n{KNOWN},missing.jpg,2025-01-01\n", "library.csv line 2: no file"),
        ("library.csv", f"id_number,path\n{KNOWN},missing.jpg\n", "needs the columns id_number, path, captured_on"),
        (f"{KNOWN}.jpg", "not a JPEG", f"{KNOWN[:6]}********{KNOWN[14:]}.jpg: not a JPEG file"),
    ],
)
def test_serve_library_refuses_a_broken_directory(
    runner: Any, tmp_path: Path, name: str, content: str, message: str
) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    result = runner.invoke(args=["photos", "serve-library", str(tmp_path), "--token", "t"])
    assert result.exit_code == 1
    assert message in result.output
    assert KNOWN not in result.output  # errors never show an ID number


def test_serve_library_command_answers_a_lookup(library_dir: Path, tmp_path: Path, face: Path) -> None:
    port = free_port()
    env = {**os.environ, "OPCERT_INSTANCE_PATH": str(tmp_path / "instance")}
    command = [str(BIN / "opcert"), "photos", "serve-library", str(library_dir), "--port", str(port), "--token", "t"]
    log = tmp_path / "server.log"
    client = RemoteLibrary(f"http://127.0.0.1:{port}", "t", timeout=2, retries=0)
    with (
        log.open("wb") as stderr,
        subprocess.Popen(  # noqa: S603 (our own console script)
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr
        ) as server,
    ):
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    record = client.lookup(KNOWN)
                    break
                except LibraryUnavailableError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=10)
    assert record is not None
    assert record.data == face.read_bytes()
    output = log.read_text(encoding="utf-8")
    assert "POST /v1/photos/lookup" in output
    assert KNOWN not in output  # the server never logs ID numbers
