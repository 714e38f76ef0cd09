"""Certificates' tests sign with a keyring in force since 2020, so that frozen clocks in the past can issue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from flask import Flask

from opcert.certificates import seal

SINCE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
KEYRING = seal.Keyring((seal.new_key(seal.Algorithm.ED25519, now=SINCE),))


@pytest.fixture(autouse=True)
def _seal_keyring(request: pytest.FixtureRequest) -> Iterator[None]:
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    app.config["CERT_SEAL_KEYRING"] = KEYRING.to_json()
    yield
    app.config["CERT_SEAL_KEYRING"] = None


@pytest.fixture(autouse=True)
def _restore_application_settings(request: pytest.FixtureRequest) -> Iterator[None]:
    """Application tests change the routing, the holidays and four eyes; each test gets the defaults back."""
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    keys = ("CERT_APPLICATION_AUTHORITY", "RESULT_HOLIDAYS", "CERT_FOUR_EYES")
    saved = {key: app.config[key] for key in keys}
    yield
    app.config.update(saved)
