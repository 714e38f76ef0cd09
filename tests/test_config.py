"""Configuration: production refuses to start half-configured; the embedded default sets itself up."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from opcert import create_app
from opcert.extensions import db
from tests.fixtures.database import make_app

SETTINGS = (
    "ENV",
    "SECRET_KEY",
    "SQLALCHEMY_DATABASE_URI",
    "INSTANCE_PATH",
    "SESSION_IDLE_MINUTES",
    "PDF_FONT_PATH",
    "TICKET_FONT_PATH",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OPCERT_* setting from the shell running the tests leaks into these apps."""
    for name in SETTINGS:
        monkeypatch.delenv(f"OPCERT_{name}", raising=False)


@pytest.fixture
def built() -> Iterator[list[Flask]]:
    """Apps a test builds; their engines are closed afterwards."""
    apps: list[Flask] = []
    yield apps
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://opcert@db/opcert"}, "OPCERT_SECRET_KEY"),
        ({"SECRET_KEY": "a-long-random-production-key"}, "OPCERT_SQLALCHEMY_DATABASE_URI"),
        ({}, "OPCERT_SECRET_KEY, OPCERT_SQLALCHEMY_DATABASE_URI"),
        (
            {"SECRET_KEY": "a-long-random-production-key", "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/x"},
            "OPCERT_PHOTO_SUBJECT_KEY, OPCERT_PHOTO_STORAGE_DIR",
        ),
    ],
)
def test_production_refuses_to_start_without_secret_key_or_database(
    monkeypatch, tmp_path: Path, given, missing
) -> None:
    monkeypatch.setenv("OPCERT_INSTANCE_PATH", str(tmp_path / "instance"))
    with pytest.raises(RuntimeError, match=missing):
        create_app({"ENV": "production", **given})
    assert not (tmp_path / "instance").exists()  # no key or database was made up in its place


def test_production_with_both_set_sends_cookies_over_https_only(database_url, built, tmp_path) -> None:
    app = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": "a-long-random-production-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "PHOTO_SUBJECT_KEY": "a-long-random-photo-key",
            "PHOTO_STORAGE_DIR": str(tmp_path / "photos"),
        }
    )
    built.append(app)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SECRET_KEY"] == "a-long-random-production-key"


def test_production_reads_its_settings_from_the_environment(monkeypatch, database_url, built, tmp_path) -> None:
    monkeypatch.setenv("OPCERT_ENV", "production")
    monkeypatch.setenv("OPCERT_SECRET_KEY", "key-from-the-environment")
    monkeypatch.setenv("OPCERT_SQLALCHEMY_DATABASE_URI", database_url)
    monkeypatch.setenv("OPCERT_PHOTO_SUBJECT_KEY", "photo-key-from-the-environment")
    monkeypatch.setenv("OPCERT_PHOTO_STORAGE_DIR", str(tmp_path / "photos"))
    app = create_app()
    built.append(app)
    assert app.config["SECRET_KEY"] == "key-from-the-environment"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == database_url
    assert app.config["SESSION_COOKIE_SECURE"] is True
    health = {"status": "ok", "checks": {"database": "ok", "redis": "not_configured"}}
    assert app.test_client().get("/healthz").get_json() == health


def test_embedded_default_creates_its_secret_key_once_and_uses_sqlite_in_instance(monkeypatch, tmp_path, built) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("OPCERT_INSTANCE_PATH", str(instance))
    first = create_app()
    built.append(first)
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text(encoding="ascii")
    assert len(key) >= 32
    assert first.config["SECRET_KEY"] == key
    assert first.config["SESSION_COOKIE_SECURE"] is False
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance.resolve() / 'opcert.sqlite'}"

    second = create_app()
    built.append(second)
    assert second.config["SECRET_KEY"] == key
    assert key_file.read_text(encoding="ascii") == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_session_cookie_survives_a_restart_of_the_embedded_app(monkeypatch, tmp_path, built) -> None:
    monkeypatch.setenv("OPCERT_INSTANCE_PATH", str(tmp_path / "instance"))
    first = create_app()
    second = create_app()
    built.extend([first, second])
    with first.test_request_context():
        cookie = first.session_interface.get_signing_serializer(first).dumps({"lang": "en"})
    with second.test_request_context():
        assert second.session_interface.get_signing_serializer(second).loads(cookie) == {"lang": "en"}


def test_environment_overrides_defaults(monkeypatch, database_url, built) -> None:
    monkeypatch.setenv("OPCERT_SESSION_IDLE_MINUTES", "5")
    app = make_app(database_url)
    built.append(app)
    assert app.config["SESSION_IDLE_MINUTES"] == 5
    assert app.config["PAGE_SIZE"] == 50


def test_explicit_settings_override_the_environment(monkeypatch, database_url, built) -> None:
    monkeypatch.setenv("OPCERT_SESSION_IDLE_MINUTES", "5")
    app = make_app(database_url, SESSION_IDLE_MINUTES=10)
    built.append(app)
    assert app.config["SESSION_IDLE_MINUTES"] == 10


def test_the_old_font_setting_is_still_read_for_one_release(monkeypatch, database_url, built, caplog) -> None:
    monkeypatch.setenv("OPCERT_TICKET_FONT_PATH", "/fonts/old-name.ttc")
    app = make_app(database_url)
    built.append(app)
    assert app.config["PDF_FONT_PATH"] == "/fonts/old-name.ttc"
    assert "TICKET_FONT_PATH" not in app.config
    assert "setting TICKET_FONT_PATH is deprecated: use PDF_FONT_PATH" in caplog.text


@pytest.mark.parametrize("where", ["environment", "overrides"])
def test_the_new_font_setting_wins_over_the_old_one(monkeypatch, database_url, built, caplog, where) -> None:
    monkeypatch.setenv("OPCERT_TICKET_FONT_PATH", "/fonts/old-name.ttc")
    if where == "environment":
        monkeypatch.setenv("OPCERT_PDF_FONT_PATH", "/fonts/new-name.ttc")
        app = make_app(database_url)
    else:
        app = make_app(database_url, PDF_FONT_PATH="/fonts/new-name.ttc")
    built.append(app)
    assert app.config["PDF_FONT_PATH"] == "/fonts/new-name.ttc"
    assert "setting TICKET_FONT_PATH is ignored: PDF_FONT_PATH is set" in caplog.text


def test_without_either_font_setting_the_default_stays(database_url, built, caplog) -> None:
    app = make_app(database_url)
    built.append(app)
    assert app.config["PDF_FONT_PATH"] == "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    assert "FONT_PATH" not in caplog.text
