"""The city's unified photo library (统一照片库) over HTTPS: a small client with timeouts and retries.

The protocol is in docs/photo-library-protocol.md; `opcert photos serve-library DIR` is its reference server.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import re
import time
from typing import Any

import requests
from flask import current_app
from flask_babel import gettext as _

from opcert.errors import DomainError
from opcert.web import require_https_or_loopback

PROTOCOL_VERSION = "v1"
MAX_ANSWER_BYTES = 10 * 1024 * 1024  # a JPEG bigger than this is not an ID photo; never read more into memory
PHOTO_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,80}")  # goes into a URL path and into photos.library_photo_id
SHA256_RE = re.compile(r"[0-9a-f]{64}")
BACKOFF_SECONDS = 0.2  # pause before the n-th retry: n × this, at most MAX_BACKOFF_SECONDS
MAX_BACKOFF_SECONDS = 1.0

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class LibraryRecord:
    """The current photo the library holds for an ID number."""

    photo_id: str
    captured_on: dt.date
    data: bytes


class LibraryUnavailableError(DomainError):
    """The library did not answer in time or answered with an error: use the manual check instead."""

    def __init__(self, detail: str) -> None:
        super().__init__(_("本市统一照片库暂时无法访问，请稍后重试；现场核验请改由工作人员人工核对证件。"))
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class _Answer:
    status: int
    content_type: str
    body: bytes

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or {} when it is not one."""
        if self.content_type != "application/json":
            return {}
        try:
            value = json.loads(self.body)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class RemoteLibrary:
    """HTTP client for the unified photo library (JSON lookup, then the JPEG).

    Each attempt waits at most `timeout` seconds to connect and for each read; connection errors, timeouts and 5xx
    answers are retried `retries` times, and a lookup stops trying once (retries + 1) × timeout seconds have passed.
    """

    def __init__(self, base_url: str, token: str, *, timeout: float = 3.0, retries: int = 1) -> None:
        require_https_or_loopback(base_url, setting="PHOTO_LIBRARY_URL")
        if not token:
            raise ValueError("PHOTO_LIBRARY_TOKEN is empty")
        if timeout <= 0 or retries < 0:
            raise ValueError("PHOTO_LIBRARY_TIMEOUT must be positive and PHOTO_LIBRARY_RETRIES not negative")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = retries

    def __repr__(self) -> str:
        return f"<RemoteLibrary {self.base_url} timeout={self.timeout} retries={self.retries}>"

    def lookup(self, id_number: str, *, known_photo_id: str | None = None) -> LibraryRecord | None:
        """The current photo for an ID number, None when the library has none.

        When the library still names `known_photo_id` (the photo cached here), the image is not downloaded again
        and the record's `data` is empty.
        """
        deadline = time.monotonic() + (self.retries + 1) * self.timeout
        try:
            # One connection per lookup: lookups are rare (results are cached) and nothing stays open between them.
            with requests.Session() as session:
                session.headers.update(
                    {"Authorization": f"Bearer {self.token}", "User-Agent": f"opcert-photo-library/{PROTOCOL_VERSION}"}
                )
                return self._lookup(session, id_number.strip().upper(), deadline, known_photo_id)
        except LibraryUnavailableError as exc:
            logger.warning("unified photo library at %s unavailable: %s", self.base_url, exc.detail)
            raise

    def _lookup(
        self, session: requests.Session, id_number: str, deadline: float, known_photo_id: str | None
    ) -> LibraryRecord | None:
        path = f"/{PROTOCOL_VERSION}/photos/lookup"
        answer = self._call(
            session, "POST", path, deadline, accept="application/json", payload={"id_number": id_number}
        )
        error = answer.json_object().get("error")
        if answer.status == 404 and error == "not_found":
            return None
        if answer.status in (401, 403):
            raise LibraryUnavailableError(
                f"lookup answered HTTP {answer.status} ({error}): the library refused PHOTO_LIBRARY_TOKEN"
            )
        if answer.status != 200:
            raise LibraryUnavailableError(f"lookup answered HTTP {answer.status} ({error or answer.content_type})")
        meta = answer.json_object()
        photo_id, sha256 = meta.get("photo_id"), meta.get("sha256")
        try:
            captured_on = dt.date.fromisoformat(str(meta.get("captured_on")))
        except ValueError:
            captured_on = None
        if (
            not isinstance(photo_id, str)
            or not PHOTO_ID_RE.fullmatch(photo_id)
            or not isinstance(sha256, str)
            or not SHA256_RE.fullmatch(sha256)
            or captured_on is None
            or meta.get("content_type") != "image/jpeg"
        ):
            raise LibraryUnavailableError("malformed lookup answer")
        if photo_id == known_photo_id:
            return LibraryRecord(photo_id=photo_id, captured_on=captured_on, data=b"")
        path = f"/{PROTOCOL_VERSION}/photos/{photo_id}/image"
        image = self._call(session, "GET", path, deadline, accept="image/jpeg")
        if image.status != 200 or image.content_type != "image/jpeg":
            raise LibraryUnavailableError(f"image answered HTTP {image.status} ({image.content_type})")
        if hashlib.sha256(image.body).hexdigest() != sha256:
            raise LibraryUnavailableError("image does not match its sha256")
        return LibraryRecord(photo_id=photo_id, captured_on=captured_on, data=image.body)

    def _call(
        self,
        session: requests.Session,
        method: str,
        path: str,
        deadline: float,
        *,
        accept: str,
        payload: dict[str, str] | None = None,
    ) -> _Answer:
        """One call with bounded retries on connection errors, timeouts and 5xx answers, within the deadline."""
        last = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(max(0.0, min(BACKOFF_SECONDS * attempt, MAX_BACKOFF_SECONDS, deadline - time.monotonic())))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                last = f"{last}; gave up after {(self.retries + 1) * self.timeout:g} s"
                break
            wait = min(self.timeout, remaining)
            try:
                answer = self._attempt(session, method, path, deadline, accept=accept, payload=payload, wait=wait)
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if answer.status >= 500:
                last = f"HTTP {answer.status}"
                continue
            return answer
        raise LibraryUnavailableError(f"{method} {path}: {last}")

    def _attempt(
        self,
        session: requests.Session,
        method: str,
        path: str,
        deadline: float,
        *,
        accept: str,
        payload: dict[str, str] | None,
        wait: float,
    ) -> _Answer:
        with session.request(
            method,
            f"{self.base_url}{path}",
            json=payload,
            headers={"Accept": accept},
            timeout=(wait, wait),
            stream=True,
            allow_redirects=False,
        ) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
                raise LibraryUnavailableError(f"{method} {path}: answer larger than {MAX_ANSWER_BYTES} bytes")
            body = bytearray()
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise LibraryUnavailableError(f"{method} {path}: answer larger than {MAX_ANSWER_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise requests.Timeout("the answer arrived too slowly")
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            return _Answer(response.status_code, content_type, bytes(body))


def remote_library() -> RemoteLibrary:
    """The configured remote library client (one per app)."""
    cfg = current_app.config
    if not cfg.get("PHOTO_LIBRARY_URL") or not cfg.get("PHOTO_LIBRARY_TOKEN"):
        logger.error("PHOTO_LIBRARY is remote but PHOTO_LIBRARY_URL or PHOTO_LIBRARY_TOKEN is not set")
        raise LibraryUnavailableError("PHOTO_LIBRARY_URL and PHOTO_LIBRARY_TOKEN must be set for the remote library")
    key = (
        cfg["PHOTO_LIBRARY_URL"],
        cfg["PHOTO_LIBRARY_TOKEN"],
        cfg["PHOTO_LIBRARY_TIMEOUT"],
        cfg["PHOTO_LIBRARY_RETRIES"],
    )
    clients = current_app.extensions.setdefault("opcert_photo_library", {})
    if key not in clients:
        try:
            clients[key] = RemoteLibrary(
                str(cfg["PHOTO_LIBRARY_URL"]),
                str(cfg["PHOTO_LIBRARY_TOKEN"]),
                timeout=float(cfg["PHOTO_LIBRARY_TIMEOUT"]),
                retries=int(cfg["PHOTO_LIBRARY_RETRIES"]),
            )
        except ValueError as exc:
            logger.error("unified photo library misconfigured: %s", exc)
            raise LibraryUnavailableError(str(exc)) from None
    client: RemoteLibrary = clients[key]
    return client
