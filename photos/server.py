"""Reference server of the unified photo library protocol (docs/photo-library-protocol.md) for development and
tests: `opcert photos serve-library DIR`. It is not the city's service and speaks plain HTTP; put TLS in front of it
anywhere but loopback.

DIR holds a `library.csv` (columns id_number, path, captured_on; path relative to DIR or absolute) and/or JPEG files
named `<ID_NUMBER>.jpg` (captured on their modification date). DIR is read again on every call, so edits show at once.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import re
import threading
from pathlib import Path

import click
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from photos.library import PROTOCOL_VERSION

LIBRARY_CSV = "library.csv"
CSV_COLUMNS = ("id_number", "path", "captured_on")
ID_FILE_RE = re.compile(r"\d{17}[\dX]")
MAX_ID_LENGTH = 32
PHOTO_ID_HEX = 32  # the first 128 bits of the file's SHA-256: stable for the same content, says nothing of the person
JPEG_MAGIC = b"\xff\xd8\xff"

logger = logging.getLogger(__name__)


class LibraryDirectoryError(ValueError):
    """DIR or its library.csv cannot be served; the message names the line, never an ID number."""


@dataclasses.dataclass(frozen=True)
class StoredPhoto:
    """One photo in DIR with its digest."""

    path: Path
    captured_on: dt.date
    sha256: str

    @property
    def photo_id(self) -> str:
        """The protocol's photo_id: derived from the content only."""
        return self.sha256[:PHOTO_ID_HEX]


class PhotoDirectory:
    """The photos in DIR; file digests are cached by modification time and size."""

    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise LibraryDirectoryError(f"{directory} is not a directory")
        self.directory = directory
        self._digests: dict[Path, tuple[int, int, str]] = {}
        self._lock = threading.Lock()

    def photos(self) -> dict[str, StoredPhoto]:
        """ID number → its current photo: the most recent captured_on wins, library.csv over files on a tie."""
        current: dict[str, StoredPhoto] = {}
        for id_number, path, captured_on, where in [*self._files(), *self._csv_rows()]:
            if id_number not in current or captured_on >= current[id_number].captured_on:
                current[id_number] = StoredPhoto(path, captured_on, self._sha256(path, where))
        return current

    def find(self, id_number: str) -> StoredPhoto | None:
        """The current photo for an ID number."""
        return self.photos().get(id_number.strip().upper())

    def by_photo_id(self, photo_id: str) -> StoredPhoto | None:
        """A current photo by its photo_id."""
        return next((p for p in self.photos().values() if p.photo_id == photo_id), None)

    def _files(self) -> list[tuple[str, Path, dt.date, str]]:
        found = []
        for path in sorted(self.directory.iterdir()):
            id_number = path.stem.upper()
            if path.suffix.lower() in {".jpg", ".jpeg"} and ID_FILE_RE.fullmatch(id_number) and path.is_file():
                masked = f"{id_number[:6]}********{id_number[14:]}{path.suffix}"  # file names are ID numbers
                found.append((id_number, path, dt.date.fromtimestamp(path.stat().st_mtime), masked))
        return found

    def _csv_rows(self) -> list[tuple[str, Path, dt.date, str]]:
        listing = self.directory / LIBRARY_CSV
        if not listing.is_file():
            return []
        rows = []
        with listing.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not set(CSV_COLUMNS) <= set(reader.fieldnames or ()):
                raise LibraryDirectoryError(f"{LIBRARY_CSV} needs the columns {', '.join(CSV_COLUMNS)}")
            for row in reader:
                where = f"{LIBRARY_CSV} line {reader.line_num}"
                id_number = (row["id_number"] or "").strip().upper()
                if not id_number or len(id_number) > MAX_ID_LENGTH:
                    raise LibraryDirectoryError(f"{where}: id_number is empty or longer than {MAX_ID_LENGTH}")
                try:
                    captured_on = dt.date.fromisoformat((row["captured_on"] or "").strip())
                except ValueError:
                    raise LibraryDirectoryError(f"{where}: captured_on is not a YYYY-MM-DD date") from None
                path = self.directory / (row["path"] or "").strip()  # an absolute path replaces the directory
                if not (row["path"] or "").strip() or not path.is_file():
                    raise LibraryDirectoryError(f"{where}: no file at its path")  # paths may name the person
                rows.append((id_number, path, captured_on, where))
        return rows

    def _sha256(self, path: Path, where: str) -> str:
        stat = path.stat()
        with self._lock:
            cached = self._digests.get(path)
        if cached and cached[:2] == (stat.st_mtime_ns, stat.st_size):
            return cached[2]
        data = path.read_bytes()
        if not data.startswith(JPEG_MAGIC):
            raise LibraryDirectoryError(f"{where}: not a JPEG file")
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            self._digests[path] = (stat.st_mtime_ns, stat.st_size, digest)
        return digest


def _error(status: int, code: str) -> Response:
    response = jsonify(error=code)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="photo-library"'
    return response


def create_library_app(directory: Path, token: str) -> Flask:
    """A WSGI app serving DIR by the protocol to callers presenting `token`."""
    if not token:
        raise ValueError("the library needs a token")
    library = PhotoDirectory(directory)
    expected = token.encode()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 4096  # a lookup is one short JSON object

    @app.before_request
    def authenticate() -> Response | None:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            return _error(401, "unauthorized")
        return None

    @app.post(f"/{PROTOCOL_VERSION}/photos/lookup")
    def lookup() -> Response:
        body = request.get_json(silent=True)
        id_number = body.get("id_number") if isinstance(body, dict) else None
        if not isinstance(id_number, str) or not 0 < len(id_number.strip()) <= MAX_ID_LENGTH:
            return _error(400, "bad_request")
        photo = library.find(id_number)
        if photo is None:
            return _error(404, "not_found")
        return jsonify(
            photo_id=photo.photo_id,
            captured_on=photo.captured_on.isoformat(),
            sha256=photo.sha256,
            content_type="image/jpeg",
        )

    @app.get(f"/{PROTOCOL_VERSION}/photos/<photo_id>/image")
    def image(photo_id: str) -> Response:
        photo = library.by_photo_id(photo_id)
        data = photo.path.read_bytes() if photo else b""
        if photo is None or hashlib.sha256(data).hexdigest() != photo.sha256:  # replaced since it was listed
            return _error(404, "not_found")
        return Response(data, mimetype="image/jpeg")

    @app.after_request
    def no_caching(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        # An unknown path is not the protocol's not_found: a client must not mistake a wrong URL for "no photo".
        code = "unknown_endpoint" if exc.code == 404 else (exc.name or "error").lower().replace(" ", "_")
        return _error(exc.code or 500, code)

    @app.errorhandler(LibraryDirectoryError)
    def directory_error(exc: LibraryDirectoryError) -> Response:
        logger.error("photo library directory: %s", exc)
        return _error(500, "internal")

    return app


@click.command("serve-library")
@click.argument("directory", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8010, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option(
    "--token",
    envvar="OPCERT_PHOTO_LIBRARY_TOKEN",
    show_envvar=True,
    required=True,
    help="Bearer token callers must present (the platform's PHOTO_LIBRARY_TOKEN).",
)
def serve_library_command(directory: Path, host: str, port: int, token: str) -> None:
    """Serve DIR as a unified photo library (the protocol's reference server, for development and tests)."""
    try:
        app = create_library_app(directory, token)
        count = len(PhotoDirectory(directory).photos())
    except (LibraryDirectoryError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    server = make_server(host, port, app, threaded=True)
    click.echo(f"photo library: {count} photos from {directory} on http://{host}:{server.server_port}/", err=True)
    if host not in {"127.0.0.1", "::1", "localhost"}:
        click.echo("warning: plain HTTP; put TLS in front of this server (docs/photo-library-protocol.md)", err=True)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    finally:
        server.server_close()
