"""Fixtures shared by the browser tests."""

from __future__ import annotations

import pytest
from flask import Flask


@pytest.fixture
def face_checks_per_hour() -> int:
    """Random face checks per hour while studying under `quick_clock`: none (a module overrides it)."""
    return 0


@pytest.fixture
def quick_clock(app: Flask, monkeypatch: pytest.MonkeyPatch, face_checks_per_hour: int) -> None:
    """Heartbeats every 2 s so a test sees the study clock move; `face_checks_per_hour` random face checks (with
    any, one at the start of each sitting; with none, the hours wait for a staff check but count as pending)."""
    for name, value in {
        "STUDY_HEARTBEAT_SECONDS": 2,
        "STUDY_HEARTBEAT_MIN_SECONDS": 1,
        "STUDY_HEARTBEAT_CAP_SECONDS": 3,
        "STUDY_HEARTBEAT_GAP_SECONDS": 30,
        "TRAINING_FACE_CHECKS_PER_HOUR": face_checks_per_hour,
    }.items():
        monkeypatch.setitem(app.config, name, value)
