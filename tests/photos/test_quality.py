"""Quality checks on real photos: one face, large and centred enough, sharp, well exposed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photos.engine import detect_faces
from photos.images import decode_image
from photos.quality import Purpose, QualityError, QualitySettings, check_image
from tests.photos.imagelib import blurred, capture_640x480, jpeg, photo, rgb_of, scaled_brightness

LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_pixels": 40_000_000}
SETTINGS = QualitySettings(min_sharpness=12.0)
GOOD = "identities/deepface__dp01/1.jpg"


def check(data: bytes, purpose: Purpose = Purpose.REFERENCE):
    return check_image(decode_image(data, **LIMITS), purpose, SETTINGS)


def refusal(data: bytes, purpose: Purpose = Purpose.REFERENCE) -> str:
    with pytest.raises(QualityError) as info:
        check(data, purpose)
    return info.value.code


def test_a_good_photo_passes_with_an_encoding() -> None:
    result = check(photo(GOOD))
    assert result.encoding.shape == (128,)
    assert result.faces_found == 1


def test_no_face_is_refused(faces_dir: Path) -> None:
    for path in sorted((faces_dir / "noface").glob("*.jpg")):
        assert refusal(path.read_bytes()) == "no_face", path.name


def test_group_photos_are_refused_as_reference(faces_dir: Path) -> None:
    codes = {}
    for path in sorted((faces_dir / "multi").glob("*.jpg")):
        try:
            check(path.read_bytes())
            codes[path.name] = "accepted"
        except QualityError as exc:
            codes[path.name] = exc.code
    many = [name for name, code in codes.items() if code == "many_faces"]
    # Measured: the detector sees two or more faces in 20 of the 25; the other five show one clear face
    # (blurred people far behind, a mirror image, a head turned away) and are judged on the other checks.
    assert len(many) >= 20, codes
    for path in sorted((faces_dir / "multi").glob("*.jpg")):
        if len(detect_faces(decode_image(path.read_bytes(), **LIMITS).rgb, upsample=1)) > 1:
            assert codes[path.name] == "many_faces", path.name


def test_a_capture_uses_the_clearly_largest_face_or_is_refused(faces_dir: Path) -> None:
    two = (faces_dir / "multi" / "ageitgey__two_people.jpg").read_bytes()
    assert refusal(two, Purpose.CAPTURE) in {"crowded", "face_small", "off_centre"}
    # One person close to the camera with a small face far behind: the close one is used.
    rgb = rgb_of(GOOD)
    height, width = rgb.shape[:2]
    canvas = np.full((height, width * 2, 3), 90, dtype=np.uint8)
    canvas[:, width // 2 : width // 2 + width] = rgb
    small = rgb[::4, ::4]
    canvas[: small.shape[0], : small.shape[1]] = small
    result = check(jpeg(canvas), Purpose.CAPTURE)
    assert result.faces_found >= 1
    assert result.face.left >= width // 2 - 5


def test_tiny_face_is_refused() -> None:
    rgb = rgb_of(GOOD)
    frame = np.full((1200, 1200, 3), 128, dtype=np.uint8)
    small = rgb[::3, ::3]
    top, left = (1200 - small.shape[0]) // 2, (1200 - small.shape[1]) // 2
    frame[top : top + small.shape[0], left : left + small.shape[1]] = small
    assert refusal(jpeg(frame)) in {"face_small", "no_face"}


def test_off_centre_face_is_refused() -> None:
    rgb = rgb_of(GOOD)
    height, width = rgb.shape[:2]
    frame = np.full((height, width * 3, 3), 128, dtype=np.uint8)
    frame[:, :width] = rgb
    assert refusal(jpeg(frame)) in {"off_centre", "face_small"}
    wide = np.full((height, int(width * 2.2), 3), 128, dtype=np.uint8)
    wide[:, :width] = rgb
    assert refusal(jpeg(wide)) == "off_centre"


def test_blurred_dark_and_bright_photos_are_refused() -> None:
    # Laplacian variance of the face crop measured here: sigma 3 → 62, 5 → 22, 8 → 9 (threshold 12).
    assert refusal(blurred(GOOD, sigma=8)) == "blurred"
    assert refusal(blurred(GOOD, sigma=14)) in {"blurred", "no_face"}
    assert check(blurred(GOOD, sigma=3)).sharpness > SETTINGS.min_sharpness
    assert refusal(scaled_brightness(GOOD, 0.18)) in {"dark", "no_face"}
    assert refusal(scaled_brightness(GOOD, 0.3)) == "dark"
    assert refusal(scaled_brightness(GOOD, 1.0, 150)) in {"bright", "no_face"}


def test_a_640x480_capture_passes() -> None:
    result = check(capture_640x480(GOOD), Purpose.CAPTURE)
    assert result.encoding.shape == (128,)


def test_every_message_is_chinese() -> None:
    from opcert import create_app
    from photos.quality import MESSAGES

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "PHOTO_SUBJECT_KEY": "k",
            "PHOTO_STORAGE_DIR": "/nonexistent",
        }
    )
    with app.test_request_context():
        for code, message in MESSAGES.items():
            assert any("\u4e00" <= ch <= "\u9fff" for ch in str(message)), code
