"""Labelled photo folders (`DIR/<person>/<photo>`): find the images and encode them in parallel, as they are or as
webcam-like copies made on the fly (`Degradation`).

Used by `opcert photos evaluate` (calibration), bench/photos_evaluate.py and the tests on ../shared/faces.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from photos import engine
from photos.engines import load_engine
from photos.images import ImageRejectedError, decode_image

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000


@dataclasses.dataclass(frozen=True)
class Sample:
    """One labelled photo and its encoding (None with a reason when no single face could be encoded)."""

    person: str
    path: Path
    encoding: engine.Encoding | None
    problem: str = ""


def labelled_images(root: Path) -> list[tuple[str, Path]]:
    """(person, path) for every image in `root/<person>/`, sorted."""
    found = []
    for person_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(person_dir.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                found.append((person_dir.name, path))
    return found


@dataclasses.dataclass(frozen=True)
class Degradation:
    """How a webcam-like copy is made: shrunk to `max_side` (longer side), blurred (Gaussian, `blur_sigma` pixels of
    the shrunk copy), then saved as JPEG at `jpeg_quality` and decoded again: the order a cheap camera works in."""

    max_side: int = 200
    jpeg_quality: int = 60
    blur_sigma: float = 1.0

    def label(self) -> str:
        """A short description for reports and cache keys."""
        return f"longer side <= {self.max_side} px, JPEG quality {self.jpeg_quality}, blur sigma {self.blur_sigma:g}"


def degrade(rgb: engine.RGBImage, degradation: Degradation) -> engine.RGBImage:
    """A webcam-like copy of an RGB image (see Degradation)."""
    small, _ = engine.shrink(rgb, degradation.max_side)
    blurred = cv2.GaussianBlur(small, (0, 0), sigmaX=degradation.blur_sigma) if degradation.blur_sigma > 0 else small
    buffer = io.BytesIO()
    Image.fromarray(blurred).save(buffer, format="JPEG", quality=degradation.jpeg_quality)
    buffer.seek(0)
    with Image.open(buffer) as copy:
        return np.ascontiguousarray(np.asarray(copy.convert("RGB"), dtype=np.uint8))


# Which engine encodes, as plain values a worker process can load it from: (name, ONNX model path).
EngineSpec = tuple[str, str | None]
DLIB: EngineSpec = ("dlib", None)


def encode_file(
    path: Path, degradation: Degradation | None = None, engine_spec: EngineSpec = DLIB
) -> tuple[engine.Encoding | None, str]:
    """Detect the largest face and encode it (on a degraded copy when asked); (None, reason) when impossible."""
    face_engine = load_engine(engine_spec[0], onnx_model_path=engine_spec[1])
    try:
        decoded = decode_image(path.read_bytes(), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    except (OSError, ImageRejectedError) as exc:
        return None, f"unreadable: {exc}"
    rgb = decoded.rgb if degradation is None else degrade(decoded.rgb, degradation)
    faces = face_engine.detect(rgb)
    if not faces:
        faces = face_engine.detect(rgb, upsample=1)
    if not faces:
        return None, "no face found"
    return face_engine.encode_face(rgb, faces[0]), ""


def _encode_task(task: tuple[str, Degradation | None, EngineSpec]) -> tuple[bytes | None, str]:
    encoding, problem = encode_file(Path(task[0]), task[1], task[2])
    return (engine.to_bytes(encoding) if encoding is not None else None), problem


def encode_paths(
    paths: Iterable[Path],
    *,
    processes: int = 1,
    degradation: Degradation | None = None,
    engine_spec: EngineSpec = DLIB,
) -> Iterator[tuple[engine.Encoding | None, str]]:
    """Encodings for `paths` in order, computed in `processes` worker processes (1: in this process)."""
    items = [str(p) for p in paths]
    if processes <= 1:
        for item in items:
            yield encode_file(Path(item), degradation, engine_spec)
        return
    with ProcessPoolExecutor(max_workers=processes) as pool:
        tasks = [(item, degradation, engine_spec) for item in items]
        for raw, problem in pool.map(_encode_task, tasks, chunksize=4):
            yield (engine.from_bytes(raw) if raw is not None else None), problem


def encode_folder(
    root: Path,
    *,
    processes: int | None = None,
    degradation: Degradation | None = None,
    engine_spec: EngineSpec = DLIB,
) -> list[Sample]:
    """Every labelled image under `root`, encoded by the engine `engine_spec` names (dlib by default), from degraded
    copies when `degradation` is given."""
    images = labelled_images(root)
    workers = processes if processes is not None else min(4, os.cpu_count() or 1)
    encoded = encode_paths(
        (path for _, path in images), processes=workers, degradation=degradation, engine_spec=engine_spec
    )
    return [
        Sample(person=person, path=path, encoding=encoding, problem=problem)
        for (person, path), (encoding, problem) in zip(images, encoded, strict=True)
    ]


def as_matrix(samples: list[Sample]) -> tuple[np.ndarray, list[str]]:
    """The encoded samples as an (n, 128) float32 matrix and their person labels."""
    kept = [(s.person, s.encoding) for s in samples if s.encoding is not None]
    if not kept:
        return np.zeros((0, 128), dtype=np.float32), []
    return np.vstack([e for _, e in kept]).astype(np.float32), [p for p, _ in kept]
