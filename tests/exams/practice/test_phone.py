"""On a 375 px phone in a real Chromium: one question per screen with large options, the mock's clock counting the
server's seconds down under the strict CSP, and the page handing the paper in by itself when the time is up."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from exams.practice.models import MockExam, MockFinish
from opcert.db import utcnow
from opcert.extensions import db as _db
from tests.browser.test_csp import CHROMIUM_ARGS, WATCH, chromium_path, live_url, watch  # noqa: F401
from tests.exams.practice.practice_data import bank_item
from tests.factories import PASSWORD, trainee

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}


def options_problems(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Option buttons that are off-screen or smaller than a finger."""
    return page.eval_on_selector_all(
        ".practice-choices label",
        "(els) => els.filter(e => { const r = e.getBoundingClientRect();"
        " return r.left < 0 || r.right > window.innerWidth || r.height < 44; }).map(e => e.textContent.trim())",
    )


def test_practice_and_a_mock_exam_on_a_phone(app, live_url, chromium_path, small_format) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    with app.app_context():
        item_id = bank_item(true_false=6, single=4).id
        account = trainee(name="手机练").login_name
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=live_url, viewport=PHONE)
            context.add_init_script(WATCH)
            page = context.new_page()
            console, failed = watch(page)
            page.goto("/login")
            page.fill("#account", account)
            page.fill("#password", PASSWORD)
            page.click("main #submit")
            page.goto(f"/practice/items/{item_id}/question")
            assert page.locator(".practice-choices label").count() in (2, 4)
            assert options_problems(page) == []
            page.locator(".practice-choices label").first.click()
            page.click("main button[type=submit]")
            page.wait_for_url(re.compile(r"/practice/answers/\d+"))
            assert "解析" in page.inner_text("main")
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

            page.goto(f"/practice/items/{item_id}")
            page.click("text=开始模拟考试")
            page.wait_for_url(re.compile(r"/practice/mock/\d+$"))
            mock_id = int(page.url.rsplit("/", 1)[-1])
            first = page.inner_text("[data-clock]")
            assert re.fullmatch(r"(10:00|9:5\d)", first), first
            page.wait_for_timeout(2200)
            assert page.inner_text("[data-clock]") != first, "the script counts the server's seconds down"
            assert options_problems(page) == []
            page.locator(".practice-choices label").first.click()
            page.click("text=保存，下一题")
            page.wait_for_url(re.compile(r"n=2$"))
            assert "已答1题" in page.inner_text("main")
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

            with app.app_context():
                exam = _db.session.get(MockExam, mock_id)
                assert exam is not None
                exam.deadline_at = utcnow() + dt.timedelta(seconds=3)
                _db.session.commit()
            page.reload()
            page.wait_for_url(re.compile(r"/result$"), timeout=15_000)
            assert "时间到自动交卷" in page.inner_text("main")
            violations = page.evaluate("window.__violations")
            context.close()
        finally:
            browser.close()
    assert violations == []
    assert console == []
    assert failed == []
    with app.app_context():
        assert _db.session.execute(sa.select(MockExam.finish)).scalar_one() == MockFinish.TIMED_OUT
