"""Offline verification of a certificate's QR code: read it from an image or text, check the seal, say why not.

Needs nothing but the published public keys (and, for revocation, the published status list): the command line
verifier (`opcert certificates verify-qr`) and the public verification page share these functions.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
from flask_babel import lazy_gettext as _l

from opcert.certificates.payload import PayloadError, Verified, verify_text
from opcert.certificates.seal import Keyring
from opcert.documents import read_qr_code
from photos.images import ImageRejectedError, decode_image

DAMAGED = _l("二维码内容不完整或已损坏。")
REASONS = {
    "not_a_certificate_code": _l("这不是特种作业操作证的二维码。"),
    "no_qr_code": _l("图片中未找到可识别的二维码，请拍清楚后重试。"),
    "bad_signature": _l("电子印章验证失败：证书内容被改动，或不是发证机关签发的。"),
    "unknown_key": _l("签章密钥不是发证机关公布的密钥。"),
    "algorithm_mismatch": _l("签章算法与发证机关公布的密钥不符。"),
    "key_retired": _l("签章密钥在签发时间之前已停用。"),
    "key_not_yet_valid": _l("签章时间早于该密钥的启用时间。"),
    "not_base45": DAMAGED,
    "bad_body": DAMAGED,
    "bad_compression": DAMAGED,
    "bad_header": DAMAGED,
    "too_short": DAMAGED,
    "too_long": DAMAGED,
    "unknown_version": _l("二维码版本不受支持，请使用最新的核验程序。"),
    "unknown_algorithm": _l("签章算法不受支持。"),
}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
_MAX_AMBIGUOUS = 8  # up to this many "%20" are each tried both ways (see `_readings`)


def reason_text(reason: str) -> str:
    """The Chinese (or current-language) explanation of a refusal code."""
    return str(REASONS.get(reason, DAMAGED))


def read_qr_image(data: bytes) -> str:
    """The text of the QR code in a JPEG/PNG image; PayloadError("no_qr_code") when none can be read."""
    try:
        decoded = decode_image(data, max_bytes=MAX_IMAGE_BYTES, max_pixels=MAX_IMAGE_PIXELS)
    except ImageRejectedError:
        raise PayloadError("no_qr_code") from None
    text = read_qr_code(cv2.cvtColor(np.ascontiguousarray(decoded.rgb), cv2.COLOR_RGB2GRAY))
    if text:
        return text
    raise PayloadError("no_qr_code")


def _readings(scanned: str) -> list[str]:
    # A browser that opened the QR code's address percent-encodes the spaces of the base45 text in its fragment
    # ("%20"), while base45 itself may (rarely: about 0.3 % of codes) contain "%20". Tried in order: every "%20"
    # a space (the usual case), the text as it is, then each mixture while there are few; only one can verify.
    parts = scanned.split("%20")
    if len(parts) == 1:
        return [scanned]
    readings = [" ".join(parts), scanned]
    if len(parts) - 1 <= _MAX_AMBIGUOUS:
        for joins in itertools.product(("%20", " "), repeat=len(parts) - 1):
            text = parts[0] + "".join(join + part for join, part in zip(joins, parts[1:], strict=True))
            if text not in readings:
                readings.append(text)
    return readings


def verify_scan(scanned: str, *, keyring: Keyring) -> Verified:
    """Verify scanned or pasted text (with or without the verification address); PayloadError when it fails."""
    readings = _readings(scanned)
    for reading in readings:
        if reading == scanned:
            continue
        try:
            return verify_text(reading, keyring=keyring)
        except PayloadError:
            continue
    return verify_text(scanned, keyring=keyring)  # as scanned: its refusal is the one reported
