"""Quality checks for reference photos (uploads) and check-in captures, each failure a specific message."""

from __future__ import annotations

import dataclasses
import enum

import cv2
import numpy as np
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from photos.engine import DETECT_MAX_SIDE, Encoding, Face, RGBImage, detect_faces, encode_face
from photos.images import DecodedImage


class Purpose(enum.StrEnum):
    """What the image is for: a reference (exactly one face) or a capture at check-in (largest face)."""

    REFERENCE = "reference"
    CAPTURE = "capture"


@dataclasses.dataclass(frozen=True)
class QualitySettings:
    """Thresholds (from the app config, PHOTO_* keys)."""

    min_face_px: int = 60
    min_face_ratio: float = 0.12  # face width / image width
    max_centre_offset: float = 0.25  # face centre from image centre, as a share of width/height
    min_sharpness: float = 40.0  # Laplacian variance on the face crop resized to 128x128
    min_brightness: float = 50.0
    max_brightness: float = 215.0
    capture_dominance: float = 1.8  # largest face area / second largest, for a capture to proceed


MESSAGES: dict[str, LazyString] = {
    "no_face": _l("照片中未检测到人脸，请上传本人正面免冠照片。"),
    "many_faces": _l("照片中检测到多张人脸，请上传只有本人的照片。"),
    "crowded": _l("画面中有多人，请其他人离开镜头后重新拍摄。"),
    "face_small": _l("人脸过小，请上传人脸清晰、占画面较大比例的照片（或靠近镜头）。"),
    "off_centre": _l("人脸未居中，请使人脸位于画面中央。"),
    "blurred": _l("照片模糊，请保持相机稳定、对焦清晰后重新拍摄。"),
    "dark": _l("照片过暗，请在光线充足处重新拍摄。"),
    "bright": _l("照片过亮或曝光过度，请避免强光直射后重新拍摄。"),
}


class QualityError(ValueError):
    """The image is readable but unfit; `code` names the check, `message` says what to do."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        """The message in the current language."""
        return str(MESSAGES[self.code])


@dataclasses.dataclass(frozen=True)
class FaceQuality:
    """A face that passed the checks, with its measurements."""

    face: Face
    sharpness: float
    brightness: float
    faces_found: int


@dataclasses.dataclass(frozen=True)
class CheckedFace(FaceQuality):
    """A face that passed the checks, with its measurements and its dlib encoding."""

    encoding: Encoding


def face_crop(rgb: RGBImage, face: Face, size: int = 128) -> np.ndarray:
    """The face box as a square grey crop of `size` pixels (measurements are then resolution-independent)."""
    crop = rgb[face.top : face.bottom, face.left : face.right]
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)


def sharpness(grey: np.ndarray) -> float:
    """Variance of the Laplacian: low for blurred images."""
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def choose_face(faces: list[Face], purpose: Purpose, settings: QualitySettings) -> Face:
    """The face to use: exactly one for a reference, the clearly largest for a capture."""
    if not faces:
        raise QualityError("no_face")
    if len(faces) > 1:
        if purpose is Purpose.REFERENCE:
            raise QualityError("many_faces")
        if faces[0].area < settings.capture_dominance * faces[1].area:
            raise QualityError("crowded")
    return faces[0]


def inspect_image(
    image: DecodedImage, purpose: Purpose, settings: QualitySettings, *, detect_side: int = DETECT_MAX_SIDE
) -> FaceQuality:
    """Run every check in order and return the face and its measurements (no encoding), or raise QualityError.

    `detect_side` below the usual 640 px detects on a smaller copy first (cheap; a burst's frames are screened so),
    and at the usual size only when that finds no face.
    """
    rgb = image.rgb
    # References are searched more thoroughly (small faces in group photos must be seen to be refused).
    upsample = 1 if purpose is Purpose.REFERENCE else 0
    faces = []
    if detect_side < DETECT_MAX_SIDE:
        faces = detect_faces(rgb, upsample=upsample, max_side=detect_side)
    if not faces:
        faces = detect_faces(rgb, upsample=upsample)
    face = choose_face(faces, purpose, settings)
    if face.width < settings.min_face_px or face.width < settings.min_face_ratio * image.width:
        raise QualityError("face_small")
    cx = (face.left + face.right) / 2 / image.width - 0.5
    cy = (face.top + face.bottom) / 2 / image.height - 0.5
    if abs(cx) > settings.max_centre_offset or abs(cy) > settings.max_centre_offset:
        raise QualityError("off_centre")
    grey = face_crop(rgb, face)
    brightness = float(grey.mean())
    if brightness < settings.min_brightness:
        raise QualityError("dark")
    if brightness > settings.max_brightness:
        raise QualityError("bright")
    sharp = sharpness(grey)
    if sharp < settings.min_sharpness:
        raise QualityError("blurred")
    return FaceQuality(face=face, sharpness=sharp, brightness=brightness, faces_found=len(faces))


def check_image(image: DecodedImage, purpose: Purpose, settings: QualitySettings, *, jitters: int = 1) -> CheckedFace:
    """Run every check in order and return the face and its dlib encoding, or raise QualityError."""
    quality = inspect_image(image, purpose, settings)
    return CheckedFace(
        **{f.name: getattr(quality, f.name) for f in dataclasses.fields(FaceQuality)},
        encoding=encode_face(image.rgb, quality.face, jitters=jitters),
    )
