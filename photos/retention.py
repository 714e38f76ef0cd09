"""What `opcert photos purge` must keep: a registry the layers above fill.

Photos knows nothing of training or exams, so a higher layer that still needs some decisions as evidence (training:
the face checks behind credited study hours, kept TRAINING_RECORD_RETENTION_YEARS) registers a function of the
purge's time returning a query of their ids (a query, not a list: six years of study checks are more ids than a
statement may bind); purge keeps those decisions, their replay fingerprints and their capture photos.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask.sansio.app import App

from photos.models import FaceDecision

Keeper = Callable[[dt.datetime], sa.Select[Any]]  # a query of one column: decision ids
EXTENSION = "opcert.photo_keepers"


def register_keeper(app: App, name: str, keeper: Keeper) -> None:
    """Keep the face decisions whose ids `keeper(now)` returns through every purge (as of the purge's `now`)."""
    keepers: dict[str, Keeper] = app.extensions.setdefault(EXTENSION, {})
    keepers[name] = keeper


def kept_decisions(now: dt.datetime) -> sa.Select[Any]:
    """A query of the ids of every decision a registered keeper still needs (none when nobody registered)."""
    keepers: dict[str, Keeper] = current_app.extensions.get(EXTENSION, {})
    queries = [keeper(now) for keeper in keepers.values()]
    if not queries:
        return sa.select(FaceDecision.id).where(sa.false())
    kept = sa.union(*queries).subquery()
    return sa.select(kept.c[0]).where(kept.c[0].is_not(None))  # NOT IN over a NULL keeps everything
