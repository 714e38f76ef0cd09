"""The practical and results pages: staff assign and draw, an examiner marks and signs, refusals are logged,
the candidate sees published results with the next step, staff export. Data is made in its own app context
(a request inside the test's context would reuse its `g`, CSRF token included)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from exams.practical.models import Marking, ScoreSheet
from exams.results import services as results
from exams.results.export import verify_results_pdf
from exams.results.models import PartResult
from exams.sessions import bookings
from exams.sessions.eligibility import current_commitment
from exams.sessions.models import ExamPart, ExamSession
from opcert.access import Role
from opcert.accounts.models import User
from opcert.audit.models import AuditEvent
from opcert.db import utcnow
from opcert.extensions import db
from opcert.timeutil import local_today
from tests.exams.practical import practical_data as pd
from tests.exams.sessions import sessions_data as data
from tests.factories import PASSWORD, staff, trainee
from tests.fixtures.web import login, submit, text


@dataclasses.dataclass
class World:
    item_id: int
    theory_id: int
    practical_id: int
    manager: str
    candidate_id: int
    candidate: str
    candidate_name: str


@pytest.fixture
def world(app: Flask, tmp_path: Path) -> World:
    with app.app_context():
        item = data.item()
        pd.bank(item, tmp_path)
        centre = data.centre()
        theory = pd.session(centre, item, ExamPart.THEORY, starts_in=dt.timedelta(days=-3))
        practical = pd.session(centre, item, ExamPart.PRACTICAL, starts_in=dt.timedelta(days=5))
        manager = staff(Role.CENTRE_STAFF, org=centre)
        user = pd.candidate()
        pd.pass_theory(user, item, theory)
        return World(item.id, theory.id, practical.id, manager.login_name, user.id, user.login_name, user.real_name)


def _sheet(app: Flask, world: World, count: int = 2) -> tuple[int, list[str], list[tuple[int, int, int]]]:
    """Two (or more) examiners assigned and the tasks drawn: the sheet id, the examiners' accounts, its lines."""
    with app.app_context():
        examiners = [pd.examiner() for _ in range(count)]
        user = db.session.get(User, world.candidate_id)
        practical = db.session.get(ExamSession, world.practical_id)
        manager = db.session.execute(sa.select(User).filter_by(username=world.manager)).scalar_one()
        sheet = pd.sheet_for(user, practical, examiners, manager)
        return sheet.id, [e.login_name for e in examiners], pd.lines_of(sheet)


def _events(app: Flask, action: str) -> list[str]:
    with app.app_context():
        query = sa.select(AuditEvent.details).where(AuditEvent.action == action)
        return list(db.session.execute(query).scalars())


def test_staff_assign_examiners_and_draw_from_the_pages(app: Flask, world: World) -> None:
    with app.app_context():
        bookings.book_seat(
            trainee=db.session.get(User, world.candidate_id), session_id=world.practical_id, item_id=None
        )
        staff_user = pd.examiner()
        db.session.commit()
        examiner_id, examiner_name = staff_user.id, staff_user.real_name
    client = app.test_client()
    login(client, world.manager, PASSWORD)
    page = f"/exams/practical/sessions/{world.practical_id}"
    assert client.get(page).status_code == 200
    submit(client, f"{page}/examiners", {"examiner_id": examiner_id}, page=page)
    response = submit(client, f"{page}/draw", page=page, follow=True)
    assert "已为1名考生抽取考题" in text(response)
    assert examiner_name in text(response)
    assert world.candidate_name in text(response)
    assert client.get(f"/exams/practical/sessions/{world.theory_id}").status_code == 404


def test_an_examiner_marks_out_of_range_is_told_then_signs_and_is_locked(app: Flask, world: World) -> None:
    sheet_id, (first, _second), lines = _sheet(app, world)
    client = app.test_client()
    login(client, first, PASSWORD)
    page = f"/exams/practical/sheets/{sheet_id}"
    assert "K1 任务" in text(client.get(page))
    marks = {f"line_{a}": 60 for a, _b, _v in lines} | {f"line_{b}": 40 for _a, b, _v in lines}
    response = submit(client, page, marks | {f"line_{lines[0][0]}": 75, "save": "1"}, page=page)
    assert response.status_code == 200
    assert "分数须在0至60分之间" in text(response)
    assert 'value="75"' in text(response)  # what was typed stays on the page
    assert any("out_of_range" in d for d in _events(app, "practical.refused"))
    with app.app_context():
        assert db.session.execute(sa.select(Marking)).first() is None
    response = submit(client, page, marks | {"sign": "1"}, page=page, follow=True)
    assert "评分已签字确认" in text(response)
    assert "盲评" in text(response)
    response = submit(client, page, marks | {f"line_{lines[0][0]}": 10, "save": "1"}, page=page, follow=True)
    assert "不能再修改" in text(response)
    with app.app_context():
        assert db.session.execute(sa.select(Marking.total)).scalar_one() == pd.score("100.0")


def test_an_examiner_not_assigned_is_refused_and_logged(app: Flask, world: World) -> None:
    sheet_id, _, _ = _sheet(app, world)
    with app.app_context():
        outsider = pd.examiner().login_name
    client = app.test_client()
    login(client, outsider, PASSWORD)
    response = client.get(f"/exams/practical/sheets/{sheet_id}", follow_redirects=True)
    assert "您未被安排在该考生的场次评分" in text(response)
    assert any("not_assigned" in d for d in _events(app, "practical.refused"))
    assert client.get(f"/exams/practical/mine/{world.practical_id}").status_code == 404


def test_the_candidate_sees_published_results_and_the_next_step(app: Flask, world: World) -> None:
    sheet_id, (first, second), _ = _sheet(app, world)
    with app.app_context():
        sheet = db.session.get(ScoreSheet, sheet_id)
        sheet.session.starts_at = utcnow() - dt.timedelta(hours=2)  # the exam has taken place
        for account, percent in ((first, 100), (second, 95)):
            who = db.session.execute(sa.select(User).filter_by(username=account)).scalar_one()
            pd.mark(who, sheet, [percent] * 4)
        assert sheet.score == pd.score("97.5")
    client = app.test_client()
    login(client, world.candidate, PASSWORD)
    assert "暂无已发布的成绩" in text(client.get("/exams/results"))
    with app.app_context():
        results.publish_results(session_id=world.theory_id)  # the advice reads published results only
        results.publish_results(session_id=world.practical_id)
        db.session.commit()
    page = text(client.get("/exams/results"))
    assert "97.5" in page
    assert "请申请特种作业操作证" in page
    assert "请申请特种作业操作证" in text(client.get("/"))
    with app.app_context():
        later = local_today() + dt.timedelta(days=10)
        assert results.qualification(world.candidate_id, world.item_id, later) is not None


def test_staff_export_csv_and_signed_pdf_and_publish(app: Flask, world: World) -> None:
    client = app.test_client()
    login(client, world.manager, PASSWORD)
    page = f"/exams/results/sessions/{world.theory_id}"
    assert world.candidate_name in text(client.get(page))
    csv = client.get(f"{page}/results.csv")
    assert csv.mimetype == "text/csv"
    assert world.candidate_name in csv.data.decode("utf-8-sig")
    pdf = client.get(f"{page}/results.pdf")
    assert pdf.mimetype == "application/pdf"
    with app.app_context():
        assert verify_results_pdf(pdf.data).startswith(b"%PDF")
    response = submit(client, f"{page}/publish", page=page, follow=True)
    assert "已发布1条成绩" in text(response)
    with app.app_context():
        assert db.session.execute(sa.select(PartResult.published_at)).scalar_one() is not None


def test_the_commitment_page_records_the_employer(app: Flask) -> None:
    with app.app_context():
        user = trainee(name="赵六")
        account, user_id = user.login_name, user.id
    client = app.test_client()
    login(client, account, PASSWORD)
    answers = {
        "healthy": "y",
        "no_disqualifying_illness": "y",
        "education": "senior",
        "lives_or_works_in_city": "y",
        "truthful": "y",
        "employer": "上海某某电气有限公司",
        "signed_name": "赵六",
    }
    submit(client, "/exams/commitment", answers, page="/exams/commitment")
    with app.app_context():
        user = db.session.get(User, user_id)
        assert current_commitment(user).employer == "上海某某电气有限公司"


def test_a_provider_loads_a_task_file_and_a_bad_one_changes_nothing(app: Flask) -> None:
    import io

    with app.app_context():
        item = data.item()
        code = item.code
        account = staff(Role.PROVIDER).login_name
    client = app.test_client()
    login(client, account, PASSWORD)
    good = pd.BANK.format(code=code, subject="K2").encode()
    response = submit(
        client,
        "/exams/practical/tasks",
        {"file": (io.BytesIO(good), "tasks.toml")},
        page="/exams/practical/tasks",
        follow=True,
    )
    assert "已导入1个实操任务" in text(response)
    assert "K2 任务" in text(response)
    bad = good.replace(b"points = 60", b"points = 600").replace(b"K2-A", b"K2-B")
    response = submit(
        client, "/exams/practical/tasks", {"file": (io.BytesIO(bad), "bad.toml")}, page="/exams/practical/tasks"
    )
    assert "第1个任务第1条" in text(response)
    with app.app_context():
        from exams.practical.models import PracticalTask

        assert [t.code for t in db.session.execute(sa.select(PracticalTask)).scalars()] == ["K2-A"]


def test_a_result_that_results_refuse_is_told_to_the_examiner_logged_and_not_decided(app: Flask, world: World) -> None:
    sheet_id, (first, second), lines = _sheet(app, world)
    with app.app_context():
        centre = db.session.get(ExamSession, world.theory_id).centre  # type: ignore[union-attr]
        item = db.session.get(ExamSession, world.practical_id).items[0]  # type: ignore[union-attr]
        earlier = pd.session(centre, item, ExamPart.PRACTICAL, starts_in=dt.timedelta(days=-1))
        results.record_part_result(
            person_id=world.candidate_id,
            item_id=world.item_id,
            part=ExamPart.PRACTICAL,
            score=90,
            session_id=earlier.id,
        )
        db.session.commit()
    marks = {f"line_{a}": 60 for a, _b, _v in lines} | {f"line_{b}": 40 for _a, b, _v in lines}
    page = f"/exams/practical/sheets/{sheet_id}"
    for account in (first, second):
        client = app.test_client()
        login(client, account, PASSWORD)
        response = submit(client, page, marks | {"sign": "1"}, page=page)
    assert response.status_code == 200
    assert "成绩无法记录" in text(response)
    assert "该部分已合格且在有效期内" in text(response)
    assert any("result_refused" in d for d in _events(app, "practical.refused"))
    with app.app_context():
        sheet = db.session.get(ScoreSheet, sheet_id)
        assert sheet is not None
        assert sheet.status.value == "scoring"
        assert [m.signed_at is not None for m in sheet.markings] == [True], "the refused signature left nothing"
        count = sa.select(sa.func.count(PartResult.id)).where(PartResult.part == ExamPart.PRACTICAL)
        assert db.session.execute(count).scalar_one() == 1
