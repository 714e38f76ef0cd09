"""The photo library's files (PHOTO_STORAGE_DIR), named by random keys (no ID number in any path)."""

from __future__ import annotations

from pathlib import Path

from opcert.files import FileStore

PHOTOS = FileStore("PHOTO_STORAGE_DIR")


def path_for(key: str) -> Path:
    """Where the photo of `key` lives."""
    return PHOTOS.path_for(key)


def save(data: bytes) -> str:
    """Write a photo under a new random key atomically; return the key."""
    return PHOTOS.save(data)


def load(key: str) -> bytes:
    """The photo stored under `key`."""
    return PHOTOS.load(key)


def delete(key: str) -> None:
    """Remove the photo of `key` if it is there."""
    PHOTOS.delete(key)


def all_keys() -> set[str]:
    """Every photo key with a file on disk (to find files whose rows are gone)."""
    return PHOTOS.all_keys()
