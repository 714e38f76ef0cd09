"""Documents the platform prints: PDF pages with an embedded CJK font, QR codes, signed time-limited tokens.

Admission tickets use them today (exams.sessions.tickets) and certificates will. A token is an itsdangerous
signature (HMAC-SHA256 with a key derived from SECRET_KEY and a salt per document kind) over a short JSON list of
integers ending with the expiry time, so that it fits a small QR code.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import io
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import segno
from flask import current_app
from flask_babel import gettext as _
from fpdf import FPDF
from itsdangerous import BadData, URLSafeSerializer
from markupsafe import Markup

from opcert.db import utcnow
from opcert.errors import DomainError

logger = logging.getLogger(__name__)

CJK = "cjk"  # the font family name new_pdf() embeds

# Searched after PDF_FONT_PATH: Debian/Ubuntu (fonts-noto-cjk), Fedora, Arch, WenQuanYi, Windows.
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


class FontMissingError(DomainError):
    """No font that can show Chinese text was found for a PDF."""


class SignedTokenError(Exception):
    """A token was forged, damaged or is not one of ours."""


class ExpiredTokenError(SignedTokenError):
    """A genuine token whose time is up."""


# --- PDF -------------------------------------------------------------------------------------------


def find_cjk_font(preferred: str | None, candidates: Sequence[str] = FONT_CANDIDATES) -> Path:
    """The first readable font file among `preferred` and the candidates; FontMissingError if none."""
    for name in (preferred, *candidates):
        if name and Path(name).is_file():
            return Path(name)
    raise FontMissingError(_("未找到可显示中文的字体，无法生成PDF文件。请安装 fonts-noto-cjk，或设置 PDF_FONT_PATH。"))


@functools.lru_cache(maxsize=8)
def simplified_chinese_face(path: Path) -> int:
    """In a font collection, the index of the Simplified Chinese face (Noto CJK puts Japanese first)."""
    if path.suffix.lower() != ".ttc":
        return 0
    from fontTools.ttLib import TTCollection

    try:
        with TTCollection(str(path), lazy=True) as collection:
            names = [str(font["name"].getDebugName(1) or "") for font in collection.fonts]
    except Exception:
        logger.warning("could not read the faces of %s; using its first face", path, exc_info=True)
        return 0
    for index, name in enumerate(names):
        if name.endswith((" SC", " GB")) and "Mono" not in name:
            return index
    return 0


def new_pdf(*, title: str, page: str | tuple[float, float] = "A4", margin: float = 15) -> FPDF:
    """An empty portrait PDF (A4 unless `page` is another format or a (width, height) in mm) with `margin` mm
    margins and the CJK font embedded as family `CJK`."""
    font = find_cjk_font(current_app.config.get("PDF_FONT_PATH"))
    pdf = FPDF(orientation="P", unit="mm", format=page)
    pdf.set_margins(margin, margin, margin)
    pdf.set_auto_page_break(auto=True, margin=margin)
    pdf.add_font(CJK, fname=str(font), collection_font_number=simplified_chinese_face(font))
    pdf.set_title(title)
    pdf.set_creator("opcert")
    return pdf


# --- QR codes --------------------------------------------------------------------------------------


QrContent = str | Sequence[tuple[str, int]]  # text, or segments (text, segno mode) such as an alphanumeric one


def qr_code(data: QrContent) -> segno.QRCode:
    """A QR code of `data` at error-correction level M (readable when printed small or a little worn)."""
    return segno.make_qr(data if isinstance(data, str) else list(data), error="m")  # type: ignore[arg-type]


def qr_png(data: QrContent, *, scale: int = 10, border: int = 4) -> io.BytesIO:
    """The QR code as a PNG, ready to read (for PDF pages)."""
    png = io.BytesIO()
    qr_code(data).save(png, kind="png", scale=scale, border=border)
    png.seek(0)
    return png


def qr_svg(data: QrContent, *, title: str, scale: int = 5, border: int = 4) -> Markup:
    """The QR code as inline SVG for a web page."""
    return Markup(qr_code(data).svg_inline(scale=scale, border=border, title=title))  # noqa: S704 (segno's own SVG)


# --- signed time-limited tokens --------------------------------------------------------------------


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(
        current_app.config["SECRET_KEY"], salt=salt, signer_kwargs={"digest_method": hashlib.sha256}
    )


def make_signed_token(values: Sequence[int], *, salt: str, expires_at: dt.datetime) -> str:
    """A short signed token carrying `values`, valid until `expires_at`."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be an aware datetime")
    return str(_serializer(salt).dumps([*values, int(expires_at.timestamp())]))


def read_signed_token(token: str, *, salt: str, count: int, now: dt.datetime | None = None) -> list[int]:
    """The `count` values of a token; SignedTokenError when forged or damaged, ExpiredTokenError when expired."""
    try:
        payload = _serializer(salt).loads(token)
    except (BadData, UnicodeError, ValueError) as exc:
        raise SignedTokenError("bad signature or payload") from exc
    if not (isinstance(payload, list) and len(payload) == count + 1 and all(type(v) is int for v in payload)):
        raise SignedTokenError("unexpected payload")
    *values, expires = payload
    if (now or utcnow()) >= dt.datetime.fromtimestamp(expires, dt.UTC):
        raise ExpiredTokenError("expired")
    return [int(v) for v in values]


# --- signed PDF files ------------------------------------------------------------------------------

SIGNATURE_MARK = b"\n%OPCERT-SIGNATURE hmac-sha256 "


class DocumentSignatureError(Exception):
    """A signed document whose signature is missing or does not match its bytes."""


def _document_mac(data: bytes, salt: str) -> str:
    key = hashlib.sha256(f"{salt}\0{current_app.config['SECRET_KEY']}".encode()).digest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def sign_pdf(data: bytes, *, salt: str) -> bytes:
    """The PDF with an embedded signature: a trailing PDF comment holding HMAC-SHA256 over every byte before it.

    PDF readers ignore a comment after %%EOF, so the file still opens; `verify_signed_pdf` checks it.
    """
    return data + SIGNATURE_MARK + _document_mac(data, salt).encode("ascii") + b"\n"


def verify_signed_pdf(data: bytes, *, salt: str) -> bytes:
    """The signed bytes of a file `sign_pdf` made; DocumentSignatureError when unsigned or changed."""
    body, mark, tail = data.rpartition(SIGNATURE_MARK)
    if not mark:
        raise DocumentSignatureError("no signature")
    given = tail.strip().decode("ascii", errors="replace")
    if not hmac.compare_digest(given, _document_mac(body, salt)):
        raise DocumentSignatureError("signature does not match")
    return body


def read_qr_code(image: np.ndarray) -> str:
    """The text of the QR code in an image (grey or BGR, as OpenCV reads it); "" when none can be read.

    OpenCV's classic detector misses about one sharp, clean code in twenty; a blurred or doubled copy, or the
    ArUco-based detector, reads those. A photo of a screen or a small print: the blur helps too.
    """
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    detectors: list[cv2.QRCodeDetector | cv2.QRCodeDetectorAruco] = [cv2.QRCodeDetector()]
    if hasattr(cv2, "QRCodeDetectorAruco"):
        detectors.append(cv2.QRCodeDetectorAruco())
    variants: tuple[Callable[[], Any], ...] = (
        lambda: grey,
        lambda: cv2.GaussianBlur(grey, (3, 3), 0),
        lambda: cv2.resize(grey, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST),
    )
    for detector in detectors:
        for variant in variants:
            text, _points, _straight = detector.detectAndDecode(variant())
            if text:
                return str(text)
    return ""
