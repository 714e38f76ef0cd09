"""The face engine: detection (HOG) and 128-d encodings from face_recognition (dlib), nothing else.

Everything that touches dlib goes through this module, so the model name and version recorded with each
template and decision come from one place.
"""

from __future__ import annotations

import dataclasses
import warnings
from importlib import metadata

import cv2
import dlib
import numpy as np
import numpy.typing as npt

with warnings.catch_warnings():
    # face_recognition_models imports pkg_resources, which warns that it is deprecated.
    warnings.filterwarnings("ignore", message=".*pkg_resources.*", category=UserWarning)
    warnings.filterwarnings("ignore", message=".*pkg_resources.*", category=DeprecationWarning)
    import face_recognition

from PIL import ImageFile

# face_recognition switches Pillow to accept truncated images, for every caller in the process; we want
# truncated uploads refused, so switch it back (we never use face_recognition's own image loader).
ImageFile.LOAD_TRUNCATED_IMAGES = False

MODEL_NAME = "dlib_face_recognition_resnet_model_v1"
MODEL_VERSION = f"face_recognition {metadata.version('face-recognition')} / dlib {metadata.version('dlib-bin')}"
# Detection runs on images no larger than this (longest side); bigger images are shrunk first.
DETECT_MAX_SIDE = 640

RGBImage = npt.NDArray[np.uint8]
Encoding = npt.NDArray[np.float32]


@dataclasses.dataclass(frozen=True)
class Face:
    """A detected face in original-image pixels: top, right, bottom, left (face_recognition's order)."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def width(self) -> int:
        """Width in pixels."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """Height in pixels."""
        return self.bottom - self.top

    @property
    def area(self) -> int:
        """Area in square pixels."""
        return self.width * self.height

    def as_tuple(self) -> tuple[int, int, int, int]:
        """(top, right, bottom, left)."""
        return (self.top, self.right, self.bottom, self.left)


def shrink(image: RGBImage, max_side: int = DETECT_MAX_SIDE) -> tuple[RGBImage, float]:
    """The image scaled so its longest side is at most `max_side`, and the scale used."""
    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return image, 1.0
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA)), scale


def detect_faces(image: RGBImage, *, upsample: int = 0, max_side: int = DETECT_MAX_SIDE) -> list[Face]:
    """Faces found by the HOG detector on a copy shrunk to `max_side`, in original-image coordinates, largest
    first."""
    small, scale = shrink(image, max_side)
    found = face_recognition.face_locations(small, number_of_times_to_upsample=upsample, model="hog")
    height, width = image.shape[:2]
    faces = []
    for top, right, bottom, left in found:
        faces.append(
            Face(
                top=max(0, round(top / scale)),
                right=min(width, round(right / scale)),
                bottom=min(height, round(bottom / scale)),
                left=max(0, round(left / scale)),
            )
        )
    return sorted(faces, key=lambda f: f.area, reverse=True)


def encode_face(image: RGBImage, face: Face, *, jitters: int = 1) -> Encoding:
    """The 128-d encoding of one detected face (computed on the same shrunk image the detector saw); `jitters`
    > 1 averages the encodings of that many randomly jittered copies (dlib's num_jitters: slower, steadier)."""
    small, scale = shrink(image)
    location = (
        round(face.top * scale),
        round(face.right * scale),
        round(face.bottom * scale),
        round(face.left * scale),
    )
    encodings = face_recognition.face_encodings(
        small, known_face_locations=[location], num_jitters=max(1, jitters), model="small"
    )
    return np.asarray(encodings[0], dtype=np.float32)


def distance(a: Encoding, b: Encoding) -> float:
    """Euclidean distance between two encodings (face_recognition's measure)."""
    return float(np.linalg.norm(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)))


def to_bytes(encoding: Encoding) -> bytes:
    """Little-endian float32 bytes for storage."""
    return np.asarray(encoding, dtype="<f4").tobytes()


def from_bytes(raw: bytes) -> Encoding:
    """The encoding stored by to_bytes."""
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def landmarks_68(image: RGBImage, face: Face) -> npt.NDArray[np.float64]:
    """dlib's 68 landmarks (iBUG 300-W order) of a detected face, as (x, y) rows in original-image pixels."""
    shape = face_recognition.api.pose_predictor_68_point(
        image, dlib.rectangle(face.left, face.top, face.right, face.bottom)
    )
    return np.array([(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)], dtype=np.float64)
