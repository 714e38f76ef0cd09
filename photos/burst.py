"""A capture burst: screen every frame cheaply, choose the best before any encoding, fingerprint frames for replay.

Cheap checks per frame (`screen`): HOG detection on a copy shrunk to FACE_BURST_DETECT_SIDE px, then the capture
rules of photos/quality.py (the clearly largest face, size, centring, exposure, sharpness). Frames that pass are
ranked by face width × √sharpness (a bigger, sharper face first); only the best few are detected again at the
usual size and encoded.

Replay fingerprints (`fingerprint`): the SHA-256 of the bytes received, a 64-bit difference hash of the grey frame
(9×8 gradient signs, split into four 16-bit bands for indexed look-up: a copy differing in ≤ 3 bits shares at least
one band) and a 32×24 grey thumbnail: a frame whose thumbnail differs from a stored one by ≤ FACE_REPLAY_MAX_DIFF
grey levels on average is a replay. Measured on ../shared/faces fitted to 640×480: re-encoded or rescaled copies of
a frame differ by < 0.2 levels and ≤ 1 hash bit; another capture of the same person in the same session by ≥ 3.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math

import cv2
import numpy as np

from photos.images import DecodedImage
from photos.quality import FaceQuality, Purpose, QualityError, QualitySettings, inspect_image

THUMB_SIZE = (32, 24)  # width, height
HASH_BITS = 64
BANDS = 4


@dataclasses.dataclass(frozen=True)
class Fingerprint:
    """What replay detection compares: the bytes' SHA-256, the difference hash's bands, the grey thumbnail."""

    sha256: str
    bands: tuple[int, int, int, int]
    thumbnail: bytes

    @property
    def dhash(self) -> int:
        """The 64-bit difference hash."""
        value = 0
        for band in self.bands:
            value = (value << 16) | band
        return value


@dataclasses.dataclass(frozen=True)
class Frame:
    """One frame of a burst: its position, the decoded image, its fingerprint, and its checks' result."""

    index: int
    image: DecodedImage
    fingerprint: Fingerprint
    quality: FaceQuality | None
    problem: str | None  # the failed check's code (photos.quality.MESSAGES) when quality is None

    @property
    def score(self) -> float:
        """Face width × √sharpness: how good a frame is to encode (0 for a failed one)."""
        if self.quality is None:
            return 0.0
        return self.quality.face.width * math.sqrt(max(self.quality.sharpness, 0.0))


def fingerprint(data: bytes, image: DecodedImage) -> Fingerprint:
    """The replay fingerprint of a frame (see the module's docstring)."""
    grey = cv2.cvtColor(np.ascontiguousarray(image.rgb), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    bands = tuple((value >> (16 * (BANDS - 1 - i))) & 0xFFFF for i in range(BANDS))
    thumb = cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA)
    return Fingerprint(
        sha256=hashlib.sha256(data).hexdigest(),
        bands=(bands[0], bands[1], bands[2], bands[3]),
        thumbnail=np.ascontiguousarray(thumb, dtype=np.uint8).tobytes(),
    )


def hash_bits_apart(a: int, b: int) -> int:
    """Differing bits of two difference hashes."""
    return (a ^ b).bit_count()


def thumbnail_difference(a: bytes, b: bytes) -> float:
    """Mean absolute difference of two grey thumbnails, in grey levels (inf when their sizes differ)."""
    if len(a) != len(b):
        return math.inf
    return float(np.abs(np.frombuffer(a, np.uint8).astype(np.int16) - np.frombuffer(b, np.uint8)).mean())


def screen(index: int, data: bytes, image: DecodedImage, settings: QualitySettings, *, detect_side: int) -> Frame:
    """Fingerprint one frame and run the capture checks on it (detection on a copy shrunk to `detect_side`)."""
    try:
        quality: FaceQuality | None = inspect_image(image, Purpose.CAPTURE, settings, detect_side=detect_side)
        problem = None
    except QualityError as exc:
        quality, problem = None, exc.code
    return Frame(index=index, image=image, fingerprint=fingerprint(data, image), quality=quality, problem=problem)


def ranked(frames: list[Frame]) -> list[Frame]:
    """The frames that passed, best first."""
    return sorted((f for f in frames if f.quality is not None), key=lambda f: (-f.score, f.index))


def refine(frame: Frame, settings: QualitySettings, *, detect_side: int) -> Frame | None:
    """A chosen frame with its face found again at the usual detection size (None if it then fails a check).

    A face box found on a smaller copy moves dlib's landmarks enough to change encodings by up to 0.15 (median
    0.04): the frames that are encoded are detected exactly as the calibration photos were.
    """
    if max(frame.image.width, frame.image.height) <= detect_side:
        return frame
    try:
        quality = inspect_image(frame.image, Purpose.CAPTURE, settings)
    except QualityError:
        return None
    return dataclasses.replace(frame, quality=quality)


def main_problem(frames: list[Frame]) -> str:
    """The check most frames failed (the earliest frame's on a tie): what a retake should fix."""
    codes = [f.problem for f in frames if f.problem]
    return max(dict.fromkeys(codes), key=codes.count) if codes else "no_face"
