"""Labelled photo folders (`DIR/<person>/<photo>`): find the images and encode them in parallel.

Used by `opcert photos evaluate` (calibration) and by the tests on ../shared/faces.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

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


# Which engine encodes, as plain values a worker process can load it from: (name, ONNX model path).
EngineSpec = tuple[str, str | None]
DLIB: EngineSpec = ("dlib", None)


def encode_file(path: Path, engine_spec: EngineSpec = DLIB) -> tuple[engine.Encoding | None, str]:
    """Detect the largest face and encode it; (None, reason) when that is impossible."""
    face_engine = load_engine(engine_spec[0], onnx_model_path=engine_spec[1])
    try:
        decoded = decode_image(path.read_bytes(), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    except (OSError, ImageRejectedError) as exc:
        return None, f"unreadable: {exc}"
    faces = face_engine.detect(decoded.rgb)
    if not faces:
        faces = face_engine.detect(decoded.rgb, upsample=1)
    if not faces:
        return None, "no face found"
    return face_engine.encode_face(decoded.rgb, faces[0]), ""


def _encode_task(path: str, engine_spec: EngineSpec) -> tuple[bytes | None, str]:
    encoding, problem = encode_file(Path(path), engine_spec)
    return (engine.to_bytes(encoding) if encoding is not None else None), problem


def encode_paths(
    paths: Iterable[Path], *, processes: int = 1, engine_spec: EngineSpec = DLIB
) -> Iterator[tuple[engine.Encoding | None, str]]:
    """Encodings for `paths` in order, computed in `processes` worker processes (1: in this process)."""
    items = [str(p) for p in paths]
    if processes <= 1:
        for item in items:
            yield encode_file(Path(item), engine_spec)
        return
    with ProcessPoolExecutor(max_workers=processes) as pool:
        for raw, problem in pool.map(_encode_task, items, [engine_spec] * len(items), chunksize=4):
            yield (engine.from_bytes(raw) if raw is not None else None), problem


def encode_folder(root: Path, *, processes: int | None = None, engine_spec: EngineSpec = DLIB) -> list[Sample]:
    """Every labelled image under `root`, encoded (by dlib, or the engine `engine_spec` names)."""
    images = labelled_images(root)
    workers = processes if processes is not None else min(4, os.cpu_count() or 1)
    encoded = encode_paths((path for _, path in images), processes=workers, engine_spec=engine_spec)
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
