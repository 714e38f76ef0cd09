"""The layout in a real browser (Chromium): on a 375 px phone nothing a person must tap is off-screen, and at
1280 px the administrators' menu fits on one line in Chinese and in English.

Skipped when /usr/bin/chromium is missing (Debian: apt-get install -y chromium).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from werkzeug.serving import make_server

from exams.sessions import bookings
from opcert.access import Role
from opcert.extensions import db
from tests.exams.sessions import sessions_data as data
from tests.factories import PASSWORD, staff

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium")


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    """The application served over HTTP on loopback."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def log_in(page, base: str, account: str, secret: str | None = None) -> None:
    page.goto(base + "/login")
    page.fill("input[name=account]", account)
    page.fill("input[name=password]", PASSWORD)
    page.click("main input[type=submit]")
    if secret:
        page.fill("input[name=code]", pyotp.TOTP(secret).now())
        page.click("main input[type=submit]")
    page.wait_for_url(base + "/")


def off_screen(page, selector: str) -> list[str]:
    """The texts of the matching elements that do not lie wholly inside the viewport's width."""
    return page.eval_on_selector_all(
        selector,
        "(els) => els.filter(e => { const r = e.getBoundingClientRect();"
        " return r.left < 0 || r.right > window.innerWidth; }).map(e => e.textContent.trim())",
    )


def test_on_a_phone_every_booking_button_is_on_screen(app, db, live, browser) -> None:
    item = data.item()
    session = data.session(data.centre("上海市安全生产考试示范考点"), [item])
    user = data.eligible(name="欧阳娜娜")
    bookings.book_seat(trainee=user, session_id=session.id, item_id=None)
    db.session.commit()
    context = browser.new_context(viewport={"width": 375, "height": 812})
    page = context.new_page()
    log_in(page, live, user.login_name)
    # My bookings: ticket, ticket PDF, reschedule, cancel; the session list: book.
    for path, buttons in (("/bookings", 4), ("/exams/sessions", 1)):
        page.goto(live + path)
        found = page.locator("main table .btn").count()
        assert found == buttons, path
        assert off_screen(page, "main table .btn") == [], path
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
    context.close()


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_at_1280_px_the_admin_menu_is_one_line_and_no_entry_breaks(app, live, browser, lang) -> None:
    with app.app_context():
        admin = staff(Role.ADMIN)
        account, secret = admin.login_name, admin.totp_secret
        db.session.remove()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live, account, secret)
    if lang == "en":
        with page.expect_navigation():
            page.click("form[action='/language/en'] button")
    entries = page.locator("nav .navbar-nav > .nav-item")
    tops = {round(entries.nth(n).bounding_box()["y"]) for n in range(entries.count())}
    assert len(tops) <= 2, tops  # the two groups (left, right) share the row; a wrapped menu has more rows
    heights = [entries.nth(n).bounding_box()["height"] for n in range(entries.count())]
    assert max(heights) < 60, heights  # an entry broken over two lines is taller
    page.click("nav button.dropdown-toggle >> nth=0")
    items = page.locator("nav .dropdown-menu.show .dropdown-item")
    assert items.count() == 8  # accounts, organisations, catalogue; courses, bank, practical tasks, centres; audit
    assert off_screen(page, "nav .dropdown-menu.show .dropdown-item") == []
    context.close()
