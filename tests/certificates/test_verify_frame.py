"""The verification page's camera frames: the server answers whether a frame shows a QR code and what it says;
a frame without one, junk, or nothing at all is a plain "not found", never an error; CSRF is required."""

from __future__ import annotations

import io
import json
import re

import cv2
import numpy as np
import sqlalchemy as sa
from flask import Flask

from opcert.audit.models import AuditEvent
from opcert.certificates import payload
from opcert.documents import qr_png
from opcert.extensions import db
from tests.certificates import certs_data
from tests.fixtures.web import csrf_token

URL = "/certificates/verify/frame"


def _post(client, body: bytes | None, **kwargs: object):
    data: dict[str, object] = {"csrf_token": csrf_token(client, "/certificates/verify")}
    if body is not None:
        data["frame"] = (io.BytesIO(body), "frame.jpg")
    return client.post(URL, data=data, content_type="multipart/form-data", **kwargs)


def _jpeg(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return encoded.tobytes()


def test_a_frame_with_the_code_gives_its_text_and_others_give_none(app: Flask, client) -> None:
    with app.app_context():
        certificate = certs_data.issued(certs_data.holder(), certs_data.item())
        segments = payload.qr_segments(certificate.sealed, verify_url="http://localhost/certificates/verify")
        expected = segments[0][0] + segments[1][0]
    png = qr_png(segments, scale=4).getvalue()
    photo = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    found = _post(client, _jpeg(photo)).get_json()
    assert found == {"found": True, "text": expected}
    blank = _post(client, _jpeg(np.full((480, 640, 3), 200, np.uint8))).get_json()
    assert blank == {"found": False, "text": ""}
    assert _post(client, b"not an image at all").get_json() == {"found": False, "text": ""}
    assert _post(client, None).get_json() == {"found": False, "text": ""}
    assert client.post(URL, data={}).status_code == 400  # no CSRF token


def _throttled_audits(app: Flask) -> list[dict[str, str]]:
    with app.app_context():
        rows = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "certificate.verify_throttled"))
        return [json.loads(row.details or "{}") for row in rows.scalars()]


def test_too_many_frames_from_one_address_are_refused_with_429_and_the_wait(app: Flask, client, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "CERT_VERIFY_FRAME_THRESHOLD", 3)
    blank = _jpeg(np.full((120, 160, 3), 200, np.uint8))
    answers = [_post(client, blank) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1].get_json()
    assert (refused["found"], refused["text"]) == (False, "")
    assert re.fullmatch(r"查询过于频繁，请在\d+秒后再试。", refused["error"])
    assert _throttled_audits(app) == [{"method": "frame"}]
    # Another address is not held back.
    other = _post(client, blank, environ_base={"REMOTE_ADDR": "192.0.2.77"})
    assert other.status_code == 200
    assert other.get_json() == {"found": False, "text": ""}


def test_an_address_held_back_for_refused_lookups_sends_no_frames(app: Flask, client, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "CERT_VERIFY_THROTTLE_THRESHOLD", 2)
    token = csrf_token(client, "/certificates/verify")
    for _ in range(2):
        client.post(
            "/certificates/verify",
            data={"csrf_token": token, "method": "number", "n-number": "T110101199001011234", "n-name": "猜一猜"},
        )
    answer = _post(client, _jpeg(np.full((120, 160, 3), 200, np.uint8)))
    assert answer.status_code == 429
    assert "查询过于频繁" in answer.get_json()["error"]
