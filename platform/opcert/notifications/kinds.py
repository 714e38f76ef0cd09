"""The kinds of notification: each domain registers its own, with their names for people."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from flask_babel.speaklater import LazyString

_LABELS: dict[str, LazyString | str] = {}
K = TypeVar("K", bound=str)


def register_kinds(labels: Mapping[K, LazyString | str]) -> None:
    """Make these kinds known (value → name for people); a domain calls it once, where it defines them."""
    _LABELS.update({str(kind): label for kind, label in labels.items()})


def check_kind(kind: str) -> str:
    """The kind as stored; ValueError for a kind no domain registered (a programming error)."""
    if str(kind) not in _LABELS:
        raise ValueError(f"unknown notification kind {kind!r}")
    return str(kind)


def kind_label(kind: str) -> str:
    """A kind's name for people (the raw value for a kind this version does not know)."""
    label = _LABELS.get(kind)
    return kind if label is None else str(label)
