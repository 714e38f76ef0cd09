"""Uploads that are not usable images are refused before any face analysis, each with its own message."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from photos.images import ImageRejectedError, decode_image, sniff
from tests.photos.imagelib import jpeg, photo, png_declaring, rgb_of

LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_pixels": 40_000_000}
GOOD = "identities/deepface__dp01/1.jpg"


def refusal(data: bytes) -> str:
    with pytest.raises(ImageRejectedError) as info:
        decode_image(data, **LIMITS)
    return info.value.code


def test_a_real_jpeg_and_png_decode() -> None:
    decoded = decode_image(photo(GOOD), **LIMITS)
    assert decoded.format == "JPEG"
    assert decoded.rgb.shape[2] == 3
    out = io.BytesIO()
    Image.fromarray(rgb_of(GOOD)).save(out, format="PNG")
    assert decode_image(out.getvalue(), **LIMITS).format == "PNG"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"hello, this is a text file saved as photo.jpg\n", "not_image"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "svg"),
        (b"<svg width='10' height='10'></svg>", "svg"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "gif"),
        (b"%PDF-1.7\n", "not_image"),
    ],
)
def test_content_is_sniffed_not_the_extension(data: bytes, code: str) -> None:
    assert refusal(data) == code


def test_truncated_and_corrupt_jpegs_are_refused() -> None:
    data = photo(GOOD)
    assert refusal(data[: len(data) // 2]) == "corrupt"
    assert refusal(data[:3] + b"\x00" * 200) == "corrupt"


def test_a_png_declaring_30000_by_30000_is_refused_before_decoding() -> None:
    bomb = png_declaring(30000, 30000)
    assert len(bomb) < 200
    assert refusal(bomb) == "too_many_pixels"
    assert refusal(png_declaring(8000, 6000)) == "too_many_pixels"  # 48 MP, under Pillow's own limit


def test_oversized_files_are_refused() -> None:
    with pytest.raises(ImageRejectedError) as info:
        decode_image(photo(GOOD), max_bytes=1000, max_pixels=40_000_000)
    assert info.value.code == "too_large"


def test_exif_orientation_is_applied() -> None:
    upright = rgb_of(GOOD)
    sideways = np.rot90(upright)  # stored rotated; EXIF 6 says "rotate 90° clockwise to display"
    exif = Image.Exif()
    exif[0x0112] = 6
    decoded = decode_image(jpeg(sideways, exif=exif.tobytes()), **LIMITS)
    assert decoded.rgb.shape[:2] == upright.shape[:2]


def test_sniff_names_formats() -> None:
    assert sniff(photo(GOOD)) == "JPEG"
