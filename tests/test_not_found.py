"""NotFoundError from any view is the Chinese 404 page, and nothing the request wrote is kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from opcert.access import PUBLIC, Role, allow
from opcert.accounts.models import Organisation, OrgKind
from opcert.errors import DomainError, NotFoundError, report_refusal
from opcert.extensions import db
from tests.fixtures.database import make_app
from tests.fixtures.web import logged_in_client, submit, text


@pytest.fixture
def lookup_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """A separate app whose pages write a row, then look up something that is not there."""
    other = make_app(database_url)

    def write_then_miss() -> None:
        db.session.add(Organisation(kind=OrgKind.AUTHORITY, name="写了一半的机构"))
        db.session.flush()
        raise NotFoundError("记录不存在。")

    @other.route("/missing")
    @allow(PUBLIC)
    def missing() -> str:
        write_then_miss()
        return "never"

    @other.route("/missing-in-a-refusal")
    @allow(PUBLIC)
    def missing_in_a_refusal() -> str:
        try:
            write_then_miss()
        except DomainError as exc:
            report_refusal(exc)
        return "a refusal shown on the page"

    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def stored_organisations(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count(Organisation.id))).scalar_one()


@pytest.mark.parametrize("url", ["/missing", "/missing-in-a-refusal"])
def test_not_found_is_the_chinese_404_and_rolls_back(lookup_app, url) -> None:
    response = lookup_app.test_client().get(url)
    assert response.status_code == 404
    assert "页面不存在" in text(response)
    assert stored_organisations(lookup_app) == 0


@pytest.mark.parametrize(
    ("role", "method", "url"),
    [
        (Role.TRAINEE, "GET", "/exams/sessions/999999"),
        (Role.TRAINEE, "POST", "/bookings/999999/cancel"),
        (Role.CENTRE_STAFF, "GET", "/centres/999999/rooms"),
        (Role.ADMIN, "GET", "/admin/bank/items/999999"),
    ],
)
def test_unknown_records_behind_real_pages_are_404(app, role, method, url) -> None:
    client = logged_in_client(app, role)
    response = submit(client, url) if method == "POST" else client.get(url)
    assert response.status_code == 404
    assert "页面不存在" in text(response)
