"""In a real Chromium: opening the address a phone's camera reads from a certificate's QR code verifies it (the
sealed payload travels in the fragment, which the page's static script posts), under the strict CSP."""

from __future__ import annotations

import datetime as dt

import pytest

from opcert.certificates import payload
from opcert.extensions import db
from tests.browser.test_csp import CHROMIUM_ARGS, WATCH, chromium_path, live_url  # noqa: F401 (fixtures)
from tests.certificates import certs_data

pytestmark = pytest.mark.browser


def test_the_qr_address_opens_the_verification_result(app, live_url, chromium_path) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    # The browser percent-encodes spaces in the fragment, which the page must undo: use a payload that has one
    # (base45 text lacks a space about once in 150 payloads, so the first of a few holders almost always does).
    with app.app_context():
        item = certs_data.item()
        for _attempt in range(10):
            certificate = certs_data.issued(certs_data.holder("王小明"), item, now=dt.datetime.now(dt.UTC))
            qr_text = payload.to_text(certificate.sealed)
            if " " in qr_text:
                break
        db.session.remove()
    assert " " in qr_text
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.add_init_script(WATCH)
            page.goto(f"{live_url}/certificates/verify#{qr_text}")
            page.wait_for_selector("#result", timeout=15000)
            result = page.inner_text("#result")
            assert "电子印章验证通过" in result
            assert "王*明" in result
            assert "有效" in result
            assert "#" not in page.url  # the payload left the address bar
            assert page.evaluate("window.__violations") == []
        finally:
            browser.close()
