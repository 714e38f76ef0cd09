"""Fixtures of the practice tests."""

from __future__ import annotations

import pytest
from flask import Flask


@pytest.fixture
def small_format(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mock of 4 true/false + 2 single choice at 5 points, 10 minutes, pass at 20 (settings, not literals)."""
    for key, value in {
        "PRACTICE_MOCK_TRUE_FALSE": 4,
        "PRACTICE_MOCK_SINGLE": 2,
        "PRACTICE_MOCK_POINTS": 5,
        "PRACTICE_MOCK_MINUTES": 10,
        "PRACTICE_MOCK_PASS_MARK": 20,
    }.items():
        monkeypatch.setitem(app.config, key, value)
