"""Build test images from the real photos (in memory or under tmp_path; ../shared stays untouched)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from tests.fixtures.faces import FACES


def photo(rel: str) -> bytes:
    """The bytes of a shared photo, e.g. 'identities/deepface__dp01/1.jpg'."""
    return (FACES / rel).read_bytes()


def rgb_of(rel: str) -> np.ndarray:
    """A shared photo as an RGB array."""
    return np.asarray(Image.open(FACES / rel).convert("RGB"))


def jpeg(rgb: np.ndarray, **save: object) -> bytes:
    """An RGB array as JPEG bytes."""
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb.astype(np.uint8))).save(out, format="JPEG", quality=92, **save)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG file whose header declares width x height pixels (a decompression bomb)."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    body = png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return b"\x89PNG\r\n\x1a\n" + header + body + png_chunk(b"IEND", b"")


def blurred(rel: str, sigma: float = 6.0) -> bytes:
    """A real photo blurred with a Gaussian."""
    return jpeg(cv2.GaussianBlur(rgb_of(rel), (0, 0), sigmaX=sigma))


def scaled_brightness(rel: str, factor: float, offset: float = 0.0) -> bytes:
    """A real photo darkened or brightened."""
    return jpeg(np.clip(rgb_of(rel).astype(np.float32) * factor + offset, 0, 255))


def capture_640x480(rel: str) -> bytes:
    """A real photo fitted into a 640x480 frame, as a webcam would deliver it."""
    rgb = rgb_of(rel)
    height, width = rgb.shape[:2]
    scale = min(640 / width, 480 / height)
    resized = cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 128, dtype=np.uint8)
    top, left = (480 - resized.shape[0]) // 2, (640 - resized.shape[1]) // 2
    frame[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return jpeg(frame)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    """Save bytes under tmp_path."""
    path = tmp_path / name
    path.write_bytes(data)
    return path
