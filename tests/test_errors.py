"""Error pages are Chinese pages of the site, never a bare stack trace; the health check answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from opcert.access import PUBLIC, allow
from opcert.extensions import db
from tests.fixtures.database import make_app
from tests.fixtures.web import text


@pytest.fixture
def failing_app(database_url) -> Iterator[Flask]:
    """A separate app with one public page that fails unexpectedly."""
    app = make_app(database_url)

    @app.route("/explode")
    @allow(PUBLIC)
    def explode() -> str:
        raise RuntimeError("unexpected failure inside a view")

    yield app
    with app.app_context():
        db.engine.dispose()


def test_unknown_page_is_a_chinese_404(client) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = text(response)
    assert "页面不存在" in page
    assert "返回首页" in page
    assert '<html lang="zh-CN">' in page


def test_unexpected_error_is_a_chinese_500_without_details(failing_app, caplog) -> None:
    response = failing_app.test_client().get("/explode")
    assert response.status_code == 500
    page = text(response)
    assert "系统错误" in page
    assert "已记录" in page
    assert "unexpected failure" not in page
    assert "Traceback" not in page
    assert "unexpected failure inside a view" in caplog.text  # but the operator's log has it


def test_wrong_method_is_a_chinese_405(client) -> None:
    response = client.get("/logout")
    assert response.status_code == 405
    assert "请求方式不允许" in text(response)


def test_health_check_reports_ok(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "not_configured"}}
