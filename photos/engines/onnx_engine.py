"""An ArcFace-style ONNX face-embedding model run with onnxruntime.

Alignment: dlib's 68-point landmarks give the five points ArcFace models are trained on — the two eye centres (mean
of each eye's six points), the nose tip (point 30) and the mouth corners (points 48 and 54); the 5-point model that
face_recognition uses for its own encodings has eye corners and the base of the nose but no mouth. A least-squares
similarity transform (Umeyama) maps them onto the standard ArcFace reference points of a 112×112 crop.
Input: 1×3×112×112 float32, RGB, (pixel − 127.5) / 127.5 (insightface's convention). Output: one vector per face,
L2-normalised here; distance = 1 − cosine similarity (0 the same, 1 unrelated, 2 opposite).
The model's version is the SHA-256 of its file: templates made by another file are never compared with its encodings.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import numpy.typing as npt

from photos import engine as dlib_primitives
from photos.engine import Encoding, Face, RGBImage
from photos.engines.base import Aligned, EngineUnavailableError, FaceEngine

INPUT_SIZE = 112
# The five points of ArcFace's 112×112 crop (insightface `arcface_dst`): eyes, nose tip, mouth corners, image-left
# first.
ARCFACE_REFERENCE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
# Jittered copies after the first two (the crop and its mirror): small shifts, turns and zooms, from a fixed seed
# so a template can be computed again identically.
JITTER_SEED = 20261127
JITTER_SHIFT_PX = 2.0
JITTER_DEGREES = 3.0
JITTER_SCALE = 0.04


def five_points(landmarks: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """ArcFace's five points from dlib's 68: eye centres, nose tip, mouth corners (image-left first)."""
    return np.array(
        [
            landmarks[36:42].mean(axis=0),
            landmarks[42:48].mean(axis=0),
            landmarks[30],
            landmarks[48],
            landmarks[54],
        ],
        dtype=np.float64,
    )


def similarity_transform(src: npt.ArrayLike, dst: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The 2×3 matrix of the rotation, uniform scale and translation mapping `src` onto `dst` with the least
    squared error (Umeyama 1991, without reflection)."""
    s = np.asarray(src, dtype=np.float64)
    d = np.asarray(dst, dtype=np.float64)
    s_mean, d_mean = s.mean(axis=0), d.mean(axis=0)
    s_c, d_c = s - s_mean, d - d_mean
    covariance = d_c.T @ s_c / len(s)
    u, sigma, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    variance = (s_c**2).sum() / len(s)
    scale = float(np.trace(np.diag(sigma) @ sign) / variance) if variance > 0 else 1.0
    matrix = np.zeros((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = d_mean - scale * rotation @ s_mean
    return matrix


def align_112(image: RGBImage, points: npt.ArrayLike, reference: npt.ArrayLike = ARCFACE_REFERENCE) -> RGBImage:
    """The 112×112 crop whose five points sit on `reference`."""
    matrix = similarity_transform(points, reference)
    crop = cv2.warpAffine(image, matrix, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    return np.ascontiguousarray(crop)


def _jittered_references(count: int) -> list[npt.NDArray[np.float64]]:
    rng = np.random.default_rng(JITTER_SEED)
    centre = ARCFACE_REFERENCE.mean(axis=0)
    found = []
    for _ in range(count):
        angle = np.deg2rad(rng.uniform(-JITTER_DEGREES, JITTER_DEGREES))
        scale = 1.0 + rng.uniform(-JITTER_SCALE, JITTER_SCALE)
        turn = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        shift = rng.uniform(-JITTER_SHIFT_PX, JITTER_SHIFT_PX, size=2)
        found.append((ARCFACE_REFERENCE - centre) @ turn.T + centre + shift)
    return found


def _blob(crops: list[RGBImage]) -> npt.NDArray[np.float32]:
    batch = np.stack(crops).astype(np.float32)
    return np.ascontiguousarray(((batch - 127.5) / 127.5).transpose(0, 3, 1, 2))


class OnnxEngine(FaceEngine):
    """One loaded model file (see the module's docstring)."""

    name: ClassVar[str] = "onnx"
    metric: ClassVar[str] = "cosine"

    def __init__(self, *, session: Any, sha256: str, file_name: str, embedding_size: int) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self._sha256 = sha256
        self._file_name = file_name
        self._size = embedding_size
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        """ "onnx:" and the file's SHA-256."""
        return f"onnx:{self._sha256}"

    @property
    def model_name(self) -> str:
        """The model file's name."""
        return self._file_name[:60]

    @property
    def model_version(self) -> str:
        """The SHA-256 of the model file."""
        return self._sha256

    @property
    def embedding_size(self) -> int:
        """The length of the model's output vector."""
        return self._size

    def align(self, image: RGBImage, face: Face) -> Aligned:
        """The 112×112 crop aligned on the five points (see the module's docstring)."""
        points = five_points(dlib_primitives.landmarks_68(image, face))
        crop = align_112(image, points)
        # The five points are kept in crop coordinates (as a face box is for dlib) so jitter can re-align.
        return Aligned(image=crop, face=Face(top=0, right=INPUT_SIZE, bottom=INPUT_SIZE, left=0))

    def encode(self, aligned: Aligned, *, jitters: int = 1) -> Encoding:
        """The normalised embedding; jitters add the mirror image, then slightly shifted and turned crops."""
        crops = [aligned.image]
        if jitters >= 2:
            crops.append(np.ascontiguousarray(aligned.image[:, ::-1]))
        for reference in _jittered_references(max(0, jitters - 2)):
            crops.append(align_112(aligned.image, ARCFACE_REFERENCE, reference))
        vectors = np.vstack([self._run(_blob([crop])) for crop in crops])
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        mean = vectors.mean(axis=0)
        return np.asarray(mean / max(float(np.linalg.norm(mean)), 1e-12), dtype=np.float32)

    def _run(self, blob: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        with self._lock:
            output = self._session.run(None, {self._input: blob})[0]
        return np.asarray(output, dtype=np.float64).reshape(len(blob), -1)

    def distances(self, probes: npt.ArrayLike, templates: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """1 − cosine similarity."""
        p = np.asarray(probes, dtype=np.float64)
        t = np.asarray(templates, dtype=np.float64)
        p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
        t = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
        return np.asarray(1.0 - p @ t.T, dtype=np.float64)


def _check_input(session: Any) -> None:
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise EngineUnavailableError("input_shape")
    shape = list(inputs[0].shape)
    batch_ok = len(shape) == 4 and (shape[0] == 1 or not isinstance(shape[0], int))
    if not batch_ok or shape[1:] != [3, INPUT_SIZE, INPUT_SIZE] or inputs[0].type != "tensor(float)":
        raise EngineUnavailableError("input_shape")


def _embedding_size(session: Any) -> int:
    """Run the model once on a grey crop: it must give one finite vector of at least 2 values."""
    try:
        output = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 3, INPUT_SIZE, INPUT_SIZE), "f4")})
    except Exception:
        raise EngineUnavailableError("output_shape") from None
    if not output:
        raise EngineUnavailableError("output_shape")
    vector = np.asarray(output[0])
    if vector.ndim != 2 or vector.shape[0] != 1 or vector.shape[1] < 2 or not np.all(np.isfinite(vector)):
        raise EngineUnavailableError("output_shape")
    return int(vector.shape[1])


_CACHE: dict[tuple[str, int, int], OnnxEngine] = {}
_CACHE_LOCK = threading.Lock()


def load_onnx_engine(path: str) -> OnnxEngine:
    """The engine for a model file, checked (readable, valid ONNX, 1×3×112×112 input, one 1×D output) and kept
    until the file changes; EngineUnavailableError says what is wrong."""
    try:
        import onnxruntime
    except ImportError:
        raise EngineUnavailableError("runtime_missing") from None
    resolved = Path(path).expanduser().resolve()
    try:
        stat = resolved.stat()
    except OSError:
        raise EngineUnavailableError("missing") from None
    cache_key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    with _CACHE_LOCK:
        cached = _CACHE.get(cache_key)
        if cached is not None:
            return cached
        try:
            data = resolved.read_bytes()
        except OSError:
            raise EngineUnavailableError("missing") from None
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # a refused file is reported by our message, not onnxruntime's log
        options.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
        try:
            session = onnxruntime.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
        except Exception:
            raise EngineUnavailableError("corrupt") from None
        _check_input(session)
        loaded = OnnxEngine(
            session=session,
            sha256=hashlib.sha256(data).hexdigest(),
            file_name=resolved.name,
            embedding_size=_embedding_size(session),
        )
        _CACHE.clear()  # one model file in use at a time: drop the session of a replaced file
        _CACHE[cache_key] = loaded
        return loaded
