"""Photo files on local disk, named by random keys (no ID number in any path)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app


def _root() -> Path:
    return Path(current_app.config["PHOTO_STORAGE_DIR"])


def path_for(key: str) -> Path:
    """Where the file of `key` lives: two levels of fan-out keep folders small."""
    if not key.isalnum():
        raise ValueError("storage keys are alphanumeric")
    return _root() / key[:2] / f"{key}.jpg"


def save(data: bytes) -> str:
    """Write the bytes under a new random key atomically; return the key."""
    key = secrets.token_hex(16)
    target = path_for(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    with open(partial, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, target)
    return key


def load(key: str) -> bytes:
    """The bytes stored under `key`."""
    return path_for(key).read_bytes()


def delete(key: str) -> None:
    """Remove the file of `key` if it is there."""
    path_for(key).unlink(missing_ok=True)


def all_keys() -> set[str]:
    """Every key with a file on disk (to find files whose rows are gone)."""
    root = _root()
    if not root.is_dir():
        return set()
    return {p.stem for p in root.glob("*/*.jpg")}
