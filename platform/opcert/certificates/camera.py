"""A camera frame posted by the public verification page: the QR code's text, if the frame shows one.

Only the reading happens here (OpenCV, through verify.read_qr_image); the page then submits that text to the
public verification, which checks the seal, logs and throttles as for any scanned code.
"""

from __future__ import annotations

from opcert.certificates.payload import PayloadError
from opcert.certificates.verify import read_qr_image


def scan_frame(frame: bytes) -> str | None:
    """The text of the QR code in the frame, or None when none can be read (yet)."""
    try:
        return read_qr_image(frame)
    except PayloadError:
        return None
