"""The loopback server the browser tests use: a client that resets its connections leaves no file open behind it.

Chromium drops requests it no longer needs (a favicon, an image on a page it has left). On werkzeug's own server
each such reset left a static file's handle to the garbage collector, and its ResourceWarning failed whichever
test happened to be running (`filterwarnings = error`). Without `read_through` this test sees it on most of the
resets below (measured: 190 of 300)."""

from __future__ import annotations

import gc
import socket
import struct
import sys
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest

from tests.browser.test_csp import live_url  # noqa: F401 (fixture)

RESETS = 100


@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the garbage collector could not raise while the test ran (an unclosed file's ResourceWarning)."""
    seen: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(repr(u.exc_value or u.object)))
    return seen


def _ask_then_reset(port: int, path: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        conn.recv(64)  # the answer has started
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST


def test_a_reset_connection_leaves_no_static_file_open(app, live_url, unraisable) -> None:  # noqa: F811
    port = urlsplit(live_url).port or 80
    with app.open_resource("static/study.js") as source:
        expected = source.read()
    for _ in range(RESETS):
        _ask_then_reset(port, "/static/study.js")
    with urlopen(f"{live_url}/static/study.js", timeout=10) as answer:  # noqa: S310 (loopback)
        assert answer.read() == expected, "the whole file still arrives"
    gc.collect()
    assert unraisable == []
