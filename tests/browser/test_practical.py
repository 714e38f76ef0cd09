"""In a real Chromium on a phone-sized screen: two examiners mark a candidate blind and far apart, the third
examiner is called and marks with a veto item, the sheet is decided as failed by the majority's veto."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from exams.practical.models import MarkerRole, ScoreSheet, SheetStatus
from exams.sessions.models import ExamPart
from opcert.access import Role
from opcert.extensions import db
from tests.browser.test_csp import CHROMIUM_ARGS, chromium_path, live_url  # noqa: F401 (fixtures)
from tests.exams.practical import practical_data as pd
from tests.exams.sessions import sessions_data as data
from tests.factories import PASSWORD, staff

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _world(app: Flask, folder: Path) -> tuple[int, list[str], list[tuple[int, int, int]]]:
    with app.app_context():
        item = data.item()
        pd.bank(item, folder)
        centre = data.centre()
        theory = pd.session(centre, item, ExamPart.THEORY, starts_in=dt.timedelta(days=-3))
        practical = pd.session(centre, item, ExamPart.PRACTICAL, starts_in=dt.timedelta(days=5))
        manager = staff(Role.CENTRE_STAFF, org=centre)
        user = pd.candidate()
        pd.pass_theory(user, item, theory)
        examiners = [pd.examiner() for _ in range(3)]
        sheet = pd.sheet_for(user, practical, examiners, manager)
        return sheet.id, [e.login_name for e in examiners], pd.lines_of(sheet)


def test_three_examiners_mark_in_the_browser(app: Flask, live_url: str, chromium_path: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    sheet_id, accounts, lines = _world(app, tmp_path)
    page_url = f"/exams/practical/sheets/{sheet_id}"

    def mark(browser, account: str, first_points: int, *, veto: bool) -> str:  # type: ignore[no-untyped-def]
        context = browser.new_context(base_url=live_url, viewport=PHONE)
        page = context.new_page()
        page.goto("/login")
        page.fill("#account", account)
        page.fill("#password", PASSWORD)
        page.click("main #submit")
        page.goto(page_url)
        for first, second, veto_line in lines:
            page.fill(f"#line_{first}", str(first_points))
            page.fill(f"#line_{second}", "40")
            if veto and veto_line == lines[1][2]:
                page.check(f"#line_{veto_line}")
        page.click("#sign")
        shown = page.inner_text("main")
        context.close()
        return shown

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            shown = mark(browser, accounts[0], 60, veto=True)
            assert "评分已签字确认" in shown
            assert "盲评" in shown
            shown = mark(browser, accounts[1], 30, veto=False)
            assert "已请第三位考评员" in shown
            shown = mark(browser, accounts[2], 50, veto=True)
            assert "已评定" in shown
        finally:
            browser.close()
    with app.app_context():
        sheet = db.session.get(ScoreSheet, sheet_id)
        assert sheet.status is SheetStatus.DECIDED
        assert sheet.vetoed
        assert {m.role for m in sheet.markings} == set(MarkerRole)
        assert db.session.execute(sa.select(sa.func.count()).select_from(ScoreSheet)).scalar_one() == 1
