"""The verification page's camera frames: the server answers whether a frame shows a QR code and what it says;
a frame without one, junk, or nothing at all is a plain "not found", never an error; CSRF is required."""

from __future__ import annotations

import io

import cv2
import numpy as np
from flask import Flask

from opcert.certificates import payload
from opcert.documents import qr_png
from tests.certificates import certs_data
from tests.fixtures.web import csrf_token

URL = "/certificates/verify/frame"


def _post(client, body: bytes | None):
    data: dict[str, object] = {"csrf_token": csrf_token(client, "/certificates/verify")}
    if body is not None:
        data["frame"] = (io.BytesIO(body), "frame.jpg")
    return client.post(URL, data=data, content_type="multipart/form-data")


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
