"""Two examiners signing the same candidate at the same moment: the sheet is still decided (the sheet row is
locked while a marking is saved, so the second signature sees the first). Real requests, one thread each."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from exams.practical.models import ScoreSheet, SheetStatus
from exams.results.models import PartResult
from exams.sessions.models import ExamPart
from opcert.access import Role
from opcert.accounts import services as accounts
from opcert.extensions import db
from tests.exams.practical import practical_data as pd
from tests.exams.sessions import sessions_data as data
from tests.factories import staff
from tests.fixtures.database import make_app
from tests.fixtures.web import CSRF_RE, text

SHEETS = 4
POOL = {"pool_pre_ping": True, "pool_size": 16, "max_overflow": 4, "pool_timeout": 60}


def test_simultaneous_signatures_decide_every_sheet(app: Flask, database_url: str, tmp_path: Path) -> None:
    with app.app_context():
        item = data.item()
        pd.bank(item, tmp_path)
        centre = data.centre()
        theory = pd.session(centre, item, ExamPart.THEORY, starts_in=dt.timedelta(days=-3))
        practical = pd.session(centre, item, ExamPart.PRACTICAL, starts_in=dt.timedelta(days=5))
        manager = staff(Role.CENTRE_STAFF, org=centre)
        first, second = pd.examiner(), pd.examiner()
        jobs = []
        for _ in range(SHEETS):
            user = pd.candidate()
            pd.pass_theory(user, item, theory)
            sheet = pd.sheet_for(user, practical, [first, second], manager)
            marks = {f"line_{a}": 60 for a, _b, _v in pd.lines_of(sheet)}
            marks |= {f"line_{b}": 40 for _a, b, _v in pd.lines_of(sheet)}
            jobs += [(sheet.id, who, marks) for who in (first, second)]
        tokens = {
            who.id: accounts.start_session(user=who, ip="127.0.0.1", user_agent="race") for who in (first, second)
        }
        db.session.commit()
        work = [(sheet_id, tokens[who.id], marks) for sheet_id, who, marks in jobs]
    racer = make_app(database_url, SQLALCHEMY_ENGINE_OPTIONS=POOL)
    start = threading.Barrier(len(work))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def sign(sheet_id: int, token: str, marks: dict[str, int]) -> None:
        try:
            client = racer.test_client()
            with client.session_transaction() as cookie:
                cookie["_user_id"] = token
                cookie["_fresh"] = True
            page = f"/exams/practical/sheets/{sheet_id}"
            match = CSRF_RE.search(text(client.get(page)))
            assert match, "no CSRF token on the marking page"
            start.wait(timeout=60)
            response = client.post(page, data={**marks, "sign": "1", "csrf_token": match.group(1)})
            statuses.append(response.status_code)
        except BaseException as exc:
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=sign, args=job) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with racer.app_context():
        db.engine.dispose()
    assert errors == []
    assert statuses == [302] * len(work)
    with app.app_context():
        sheets = db.session.execute(sa.select(ScoreSheet)).scalars().all()
        assert [s.status for s in sheets] == [SheetStatus.DECIDED] * SHEETS
        assert (
            db.session.execute(
                sa.select(sa.func.count()).select_from(PartResult).where(PartResult.part == ExamPart.PRACTICAL)
            ).scalar_one()
            == SHEETS
        )
