"""In a real Chromium: the main pages of every role run under the strict CSP without a single violation, and the
ticket's print button (a handler in a static file, not an inline one) still works."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyotp
import pytest
from flask import Flask
from werkzeug.serving import make_server

from opcert.demo import DEMO_PASSWORD
from tests.fixtures.site import ACCOUNTS, crawl, seed_site, start_urls, totp_secret
from tests.fixtures.web import login

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Runs before any page script (and outside the CSP): records violations and stands in for the print dialog.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || ""));
});
window.__printed = 0;
window.print = () => { window.__printed += 1; };
"""

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """Debian's Chromium (`make system-deps` installs it): required under CI, else the tests are skipped."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is required under CI (make system-deps)")
        pytest.skip(f"{CHROMIUM} is not installed")
    return str(CHROMIUM)


def read_through(app: Flask) -> WSGIApplication:
    """The app, its answers read to the end and closed before werkzeug's server sends them.

    When the browser resets a connection (it drops a favicon or an image it no longer needs), werkzeug's
    development server raises from the drain loop in `run_wsgi`'s `finally` before it reaches the body's
    `close()`, so a static file's handle is left to the garbage collector; under `filterwarnings = error` its
    ResourceWarning fails whichever test is running then. gunicorn, which `make run` and production use, closes
    the body. An answer held in a list has nothing left to close."""

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wsgi


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on loopback while the test runs."""
    server = make_server("127.0.0.1", 0, read_through(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def pages_of(app: Flask, account: str | None, extra: tuple[str, ...]) -> list[str]:
    """One HTML page per endpoint that the account is shown (found by crawling with the test client)."""
    client = app.test_client()
    if account is not None:
        assert login(client, account, DEMO_PASSWORD, totp_secret=totp_secret(account)).status_code == 302
    return crawl(app, client, start_urls(app, extra), per_endpoint_limit=1).html_pages


def watch(page: Any) -> tuple[list[str], list[str]]:
    """Collect the page's console errors and its failed requests (a browser's own favicon request aside)."""
    console: list[str] = []
    failed: list[str] = []

    def on_console(message: Any) -> None:
        # A failed request is reported with its URL by on_response; the console only says "Failed to load".
        if message.type == "error" and not message.text.startswith("Failed to load"):
            console.append(message.text)

    def on_response(response: Any) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            failed.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    return console, failed


def test_main_pages_of_every_role_show_no_csp_violation(app, live_url, chromium_path) -> None:
    from playwright.sync_api import sync_playwright

    site = seed_site(app)
    pages = {role: pages_of(app, account, site.extra_urls) for role, account in ACCOUNTS.items()}
    problems: list[str] = []
    visited = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            for role, account in ACCOUNTS.items():
                context = browser.new_context(base_url=live_url)
                context.add_init_script(WATCH)
                page = context.new_page()
                console, failed = watch(page)
                if account is not None:
                    page.goto("/login")
                    page.fill("#account", account)
                    page.fill("#password", DEMO_PASSWORD)
                    page.click("main #submit")
                    secret = totp_secret(account)
                    if secret:
                        # The crawl used this time step's code; each step is accepted once, the next one is too.
                        page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))
                        page.click("main #submit")
                    assert "/login" not in page.url, f"{role} could not log in in the browser"
                for url in pages[role]:
                    page.goto(url)
                    page.wait_for_load_state("load")
                    visited += 1
                    label = f"{role.value if role else 'anonymous'} {url}"
                    problems.extend(f"{label}: {v}" for v in page.evaluate("window.__violations"))
                    if url.endswith("/ticket"):
                        page.click("[data-print]")
                        if page.evaluate("window.__printed") != 1:
                            problems.append(f"{label}: the print button did nothing")
                who = role.value if role else "anonymous"
                problems.extend(f"{who} console: {text}" for text in console)
                problems.extend(f"{who} failed: {response}" for response in failed)
                context.close()
        finally:
            browser.close()
    assert visited > 40
    assert not problems, "\n".join(problems)
