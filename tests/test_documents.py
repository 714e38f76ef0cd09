"""Core document helpers: the CJK font for PDFs, QR codes, signed time-limited tokens (tickets, later certificates)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from flask import Flask

from opcert.documents import (
    ExpiredTokenError,
    FontMissingError,
    SignedTokenError,
    find_cjk_font,
    make_signed_token,
    new_pdf,
    qr_png,
    read_qr_code,
    read_signed_token,
)

NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
EXPIRES = dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An application context (the key and the font setting come from the configuration)."""
    with app.app_context():
        yield


def test_a_missing_font_is_a_clear_chinese_error(ctx, tmp_path) -> None:
    with pytest.raises(FontMissingError, match="未找到可显示中文的字体"):
        find_cjk_font(str(tmp_path / "missing.ttc"), candidates=())


def test_configured_font_path_falls_back_to_common_paths(ctx, tmp_path) -> None:
    assert find_cjk_font(str(tmp_path / "missing.ttc")).is_file()


def test_a_new_pdf_embeds_the_cjk_font(ctx) -> None:
    pdf = new_pdf(title="证书")
    pdf.add_page()
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 10, "特种作业操作证")
    data = bytes(pdf.output())
    assert data.startswith(b"%PDF")
    assert b"/FontFile" in data


def test_qr_png_reads_back() -> None:
    image = cv2.imdecode(np.frombuffer(qr_png("opcert-token-123").getvalue(), np.uint8), cv2.IMREAD_COLOR)
    decoded = read_qr_code(image)
    assert decoded == "opcert-token-123"


def test_signed_token_round_trip_and_expiry(ctx) -> None:
    token = make_signed_token([7, 42], salt="opcert.test", expires_at=EXPIRES)
    assert read_signed_token(token, salt="opcert.test", count=2, now=NOW) == [7, 42]
    with pytest.raises(ExpiredTokenError):
        read_signed_token(token, salt="opcert.test", count=2, now=EXPIRES)


@pytest.mark.parametrize(("salt", "count"), [("opcert.other", 2), ("opcert.test", 1)])
def test_a_token_of_another_kind_or_shape_is_refused(ctx, salt, count) -> None:
    token = make_signed_token([7, 42], salt="opcert.test", expires_at=EXPIRES)
    with pytest.raises(SignedTokenError):
        read_signed_token(token, salt=salt, count=count, now=NOW)


def test_naive_expiry_is_refused(ctx) -> None:
    with pytest.raises(ValueError, match="aware"):
        make_signed_token([1], salt="opcert.test", expires_at=dt.datetime(2026, 11, 27, 16, 0))
