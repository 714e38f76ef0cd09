"""On SQLite a GET view marked @writes takes the write lock up front (BEGIN IMMEDIATE), as every POST does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from opcert.access import Role
from opcert.extensions import db
from tests.fixtures.web import logged_in_client


@pytest.fixture
def begins(app: Flask) -> Iterator[list[str]]:
    """The BEGIN statements the app's engine sends while the test runs (SQLite only)."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("BEGIN IMMEDIATE is how SQLite takes the write lock; PostgreSQL locks rows")
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_marked_get_takes_the_write_lock_and_plain_get_does_not(app, begins) -> None:
    client = logged_in_client(app, Role.TRAINEE)
    client.get("/bookings")  # the first page after login may touch the session row; not what is measured
    begins.clear()
    assert client.get("/bookings").status_code == 200
    assert begins, "the page read the database"
    assert "BEGIN IMMEDIATE" not in begins, "a read-only page stays deferred"

    begins.clear()
    assert client.get("/notifications").status_code == 200  # marks the notices read: @writes
    assert begins[0] == "BEGIN IMMEDIATE"
