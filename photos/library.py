"""The city's unified photo library (统一照片库) over HTTPS: a small client with timeouts and retries.

The protocol is in docs/photo-library-protocol.md; `opcert photos serve-library DIR` is its reference server.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time

import requests
from flask import current_app
from flask_babel import gettext as _

from opcert.errors import DomainError

PROTOCOL_VERSION = "v1"


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


class RemoteLibrary:
    """HTTP client for the unified photo library (JSON lookup, then the JPEG)."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 3.0, retries: int = 1) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})

    def _request(
        self, method: str, path: str, *, json: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        """One call with bounded retries on connection errors, timeouts and 5xx answers."""
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.2 * attempt, 1.0))
            try:
                response = self.session.request(
                    method, f"{self.base_url}{path}", timeout=(self.timeout, self.timeout), json=json, headers=headers
                )
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            return response
        raise LibraryUnavailableError(last)

    def lookup(self, id_number: str) -> LibraryRecord | None:
        """The current photo for an ID number, None when the library has none."""
        response = self._request("POST", f"/{PROTOCOL_VERSION}/photos/lookup", json={"id_number": id_number})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise LibraryUnavailableError(f"lookup answered HTTP {response.status_code}")
        try:
            meta = response.json()
            photo_id = str(meta["photo_id"])
            captured_on = dt.date.fromisoformat(meta["captured_on"])
            expected = str(meta["sha256"])
        except (ValueError, KeyError, TypeError) as exc:
            raise LibraryUnavailableError(f"malformed lookup answer: {exc}") from None
        image = self._request("GET", f"/{PROTOCOL_VERSION}/photos/{photo_id}/image", headers={"Accept": "image/jpeg"})
        if image.status_code != 200 or image.headers.get("Content-Type", "").split(";")[0] != "image/jpeg":
            raise LibraryUnavailableError(f"image answered HTTP {image.status_code}")
        if hashlib.sha256(image.content).hexdigest() != expected:
            raise LibraryUnavailableError("image does not match its sha256")
        return LibraryRecord(photo_id=photo_id, captured_on=captured_on, data=image.content)


def remote_library() -> RemoteLibrary:
    """The configured remote library client (one per app)."""
    cfg = current_app.config
    if not cfg.get("PHOTO_LIBRARY_URL") or not cfg.get("PHOTO_LIBRARY_TOKEN"):
        raise LibraryUnavailableError("PHOTO_LIBRARY_URL and PHOTO_LIBRARY_TOKEN must be set for the remote library")
    key = (
        cfg["PHOTO_LIBRARY_URL"],
        cfg["PHOTO_LIBRARY_TOKEN"],
        cfg["PHOTO_LIBRARY_TIMEOUT"],
        cfg["PHOTO_LIBRARY_RETRIES"],
    )
    clients = current_app.extensions.setdefault("opcert_photo_library", {})
    if key not in clients:
        clients[key] = RemoteLibrary(
            cfg["PHOTO_LIBRARY_URL"],
            cfg["PHOTO_LIBRARY_TOKEN"],
            timeout=float(cfg["PHOTO_LIBRARY_TIMEOUT"]),
            retries=int(cfg["PHOTO_LIBRARY_RETRIES"]),
        )
    return clients[key]
