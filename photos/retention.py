"""What `opcert photos purge` must keep: a registry the layers above fill.

Photos knows nothing of training or exams, so a higher layer that still needs some decisions as evidence (training:
the face checks behind credited study hours, kept TRAINING_RECORD_RETENTION_YEARS) registers a function of the
purge's time returning their ids; purge keeps those decisions, their replay fingerprints and their capture photos.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import current_app
from flask.sansio.app import App

Keeper = Callable[[dt.datetime], set[int]]
EXTENSION = "opcert.photo_keepers"


def register_keeper(app: App, name: str, keeper: Keeper) -> None:
    """Keep the face decisions whose ids `keeper(now)` returns through every purge (as of the purge's `now`)."""
    keepers: dict[str, Keeper] = app.extensions.setdefault(EXTENSION, {})
    keepers[name] = keeper


def kept_decisions(now: dt.datetime) -> set[int]:
    """The ids of every decision a registered keeper still needs."""
    keepers: dict[str, Keeper] = current_app.extensions.get(EXTENSION, {})
    kept: set[int] = set()
    for keeper in keepers.values():
        kept |= keeper(now)
    return kept
