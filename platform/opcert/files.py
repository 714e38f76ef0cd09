"""Files on local disk, named by random keys (no personal data in any path).

A `FileStore` keeps JPEG files under the folder named by one setting; each domain makes its own store on its own
setting (photos: PHOTO_STORAGE_DIR, question images: QUESTION_IMAGE_DIR).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path

from flask import current_app


@dataclasses.dataclass(frozen=True)
class FileStore:
    """Files under the folder in app.config[setting], two levels of fan-out by key (JPEG unless `suffix` says)."""

    setting: str
    suffix: str = ".jpg"

    def root(self) -> Path:
        """The store's folder (it may not exist yet)."""
        return Path(current_app.config[self.setting])

    def path_for(self, key: str) -> Path:
        """Where the file of `key` lives: two levels of fan-out keep folders small."""
        if not key.isalnum():
            raise ValueError("storage keys are alphanumeric")
        return self.root() / key[:2] / f"{key}{self.suffix}"

    def save(self, data: bytes) -> str:
        """Write the bytes under a new random key atomically; return the key."""
        key = secrets.token_hex(16)
        target = self.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        with open(partial, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, target)
        return key

    def load(self, key: str) -> bytes:
        """The bytes stored under `key`."""
        return self.path_for(key).read_bytes()

    def delete(self, key: str) -> None:
        """Remove the file of `key` if it is there."""
        self.path_for(key).unlink(missing_ok=True)

    def all_keys(self) -> set[str]:
        """Every key with a file on disk (to find files whose rows are gone)."""
        root = self.root()
        if not root.is_dir():
            return set()
        return {p.stem for p in root.glob(f"*/*{self.suffix}")}
