"""The migrations build exactly the models' schema, and run down and up again cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app

from opcert.db import UTCDateTime
from opcert.extensions import db
from tests.fixtures.database import make_app, scratch_database


def compare_type(context: Any, inspected_column: Any, metadata_column: Any, inspected: Any, metadata: Any) -> Any:
    """As migrations/env.py: UTCDateTime is stored as a timezone-aware DateTime; anything else the default way."""
    if isinstance(metadata, UTCDateTime):
        return not isinstance(inspected, sa.DateTime)
    return None


def schema_differences(app: Flask) -> list[Any]:
    """What `flask db migrate` would put in a new revision for the app's database."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": compare_type})
        return compare_metadata(context, db.metadata)


def head_revision() -> str:
    """The single head of the migration scripts (inside an app context)."""
    config = current_app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    return heads[0]


def stored_revisions() -> list[str]:
    """The revisions recorded in the database, read on a fresh connection (not a session's older snapshot)."""
    with db.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


@pytest.fixture
def scratch_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """An empty database of the run's backend that only this test uses."""
    with scratch_database(request.config.getoption("--db"), tmp_path) as url:
        yield url


def test_models_and_migrations_agree(app) -> None:
    differences = schema_differences(app)
    assert differences == [], "the models changed without a migration: run `flask db migrate`"


def test_database_is_at_the_single_head(app) -> None:
    with app.app_context():
        assert stored_revisions() == [head_revision()]


def test_downgrade_to_base_and_upgrade_again(scratch_url) -> None:
    scratch = make_app(scratch_url)
    try:
        with scratch.app_context():
            flask_migrate.upgrade()
            head = head_revision()
            assert stored_revisions() == [head]
            assert {"users", "catalogue_items", "audit_events"} <= table_names()

            flask_migrate.downgrade(revision="base")
            assert table_names() == {"alembic_version"}
            assert stored_revisions() == []

            flask_migrate.upgrade()
            assert stored_revisions() == [head]
            assert table_names() == {*db.metadata.tables, "alembic_version"}
        assert schema_differences(scratch) == []
    finally:
        with scratch.app_context():
            db.engine.dispose()
