"""Test configuration: which database backend, and the fixture modules."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.web", "tests.fixtures.faces"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """--db chooses the backend: sqlite (default) or postgresql (needs OPCERT_TEST_DATABASE_URL)."""
    parser.addoption("--db", choices=("sqlite", "postgresql"), default="sqlite", help="database backend for the tests")


def pytest_report_header(config: pytest.Config) -> str:
    """Say which backend this run uses."""
    return f"opcert database backend: {config.getoption('--db')}"
