"""In a real Chromium whose fake camera films a certificate's QR code: the public verification page reads it from
the camera (frames posted to the server, decoded with OpenCV) and shows the verified certificate, under the CSP."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import numpy as np
import pytest

from opcert.certificates import payload
from opcert.documents import qr_png
from opcert.extensions import db
from tests.browser.test_csp import CHROMIUM_ARGS, WATCH, chromium_path, live_url  # noqa: F401 (fixtures)
from tests.certificates import certs_data

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 640, 480


def camera_file(png: bytes, out: Path, *, seconds: float = 2.0) -> Path:
    """A Y4M video (what Chromium's fake camera plays) of the image centred on a white 640×480 frame."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    side = min(HEIGHT - 20, max(image.shape[:2]))
    image = cv2.resize(image, (side, side), interpolation=cv2.INTER_NEAREST)
    frame = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    top, left = (HEIGHT - side) // 2, (WIDTH - side) // 2
    frame[top : top + side, left : left + side] = image
    yuv = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes()
    with out.open("wb") as fh:
        fh.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(int(30 * seconds)):
            fh.write(b"FRAME\n" + yuv)
    return out


def test_the_camera_reads_the_qr_code_and_the_page_verifies_it(
    app,
    live_url,  # noqa: F811
    chromium_path,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    with app.app_context():
        certificate = certs_data.issued(certs_data.holder("王小明"), certs_data.item(), now=dt.datetime.now(dt.UTC))
        segments = payload.qr_segments(certificate.sealed, verify_url=f"{live_url}/certificates/verify")
        db.session.remove()
    video = camera_file(qr_png(segments, scale=4, border=4).getvalue(), tmp_path / "qr.y4m")
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=args)
        try:
            page = browser.new_page()
            page.add_init_script(WATCH)
            frames: list[str] = []
            page.on("request", lambda r: frames.append(r.url) if r.url.endswith("/certificates/verify/frame") else None)
            page.goto(f"{live_url}/certificates/verify")
            page.click("#qr-camera-start")
            page.wait_for_selector("#result", timeout=20000)
            result = page.inner_text("#result")
            assert "电子印章验证通过" in result
            assert "王*明" in result
            assert "有效" in result
            assert frames  # the frame went to the server: the page itself decodes nothing
            assert page.evaluate("window.__violations") == []
        finally:
            browser.close()
