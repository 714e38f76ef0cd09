"""Timed mock exams: the real format from the settings, answers saved one at a time, server time, grading."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections import Counter

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from exams.bank.models import QuestionKind
from exams.papers import services as papers
from exams.papers.models import Paper, PaperAnswer
from exams.practice import mock, services
from exams.practice.models import MockAnswer, MockExam, MockFinish, PracticeMode
from opcert.audit.models import AuditEvent
from opcert.catalogue.models import Item
from opcert.db import utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db as _db
from tests.exams.practice.practice_data import POINTS, at_once, bank_item, more_tabs, questions, trainee_client
from tests.exams.practice.practice_data import wrong_answer as wrong_letter_for
from tests.factories import trainee
from tests.fixtures.web import csrf_token, text

REMAINING_RE = re.compile(r'data-remaining="(\d+)"')
QUESTION_ID_RE = re.compile(r'name="question_id"[^>]*value="(\d+)"')


@dataclasses.dataclass
class Started:
    """A trainee's client with a mock started through the item page's button."""

    client: FlaskClient
    trainee_id: int
    item_id: int
    token: str
    mock_id: int


def start_mock(app: Flask) -> Started:
    """A fresh bank of 6 true/false and 4 single choice, a trainee, and a mock started through the page."""
    with app.app_context():
        item_id = bank_item(true_false=6, single=4).id
    client, trainee_id = trainee_client(app)
    token = csrf_token(client, f"/practice/items/{item_id}")
    response = client.post(f"/practice/items/{item_id}/mock", data={"csrf_token": token})
    assert response.status_code == 302
    return Started(client, trainee_id, item_id, token, int(response.headers["Location"].split("/")[-1]))


def shown_questions(mock_id: int) -> list[papers.PaperQuestion]:
    exam = _db.session.get(MockExam, mock_id)
    assert exam is not None
    return papers.paper_questions(exam.paper)


def test_the_default_mock_is_the_real_format_on_a_paper_of_purpose_mock(db) -> None:
    item = bank_item(true_false=80, single=35)
    user = trainee()
    now = utcnow()
    exam = mock.start_mock(trainee_id=user.id, item_id=item.id, now=now)
    db.session.commit()
    paper = db.session.get(Paper, exam.paper_id)
    assert paper is not None
    assert paper.purpose == "mock"
    assert paper.candidate_id == user.id
    kinds = Counter(q.question.kind for q in papers.paper_questions(paper))
    assert kinds == {QuestionKind.TRUE_FALSE: 70, QuestionKind.SINGLE: 30}
    assert (paper.total_points, paper.pass_mark, paper.duration_minutes) == (100, 80, 120)
    assert exam.deadline_at - exam.started_at == dt.timedelta(minutes=120)
    assert mock.start_mock(trainee_id=user.id, item_id=item.id, now=now).id == exam.id, "a running mock is resumed"


def test_a_short_bank_is_refused_naming_what_is_missing_and_nothing_is_written(db) -> None:
    item = bank_item(true_false=10, single=40)
    user = trainee()
    with pytest.raises(DomainError) as refused:
        mock.start_mock(trainee_id=user.id, item_id=item.id)
    db.session.rollback()
    assert f"题库中‘{item.code} {item.name}’的有效判断题只有10道，试卷需要70道" in refused.value.message
    assert db.session.execute(sa.select(sa.func.count(Paper.id))).scalar_one() == 0
    assert db.session.execute(sa.select(sa.func.count(MockExam.id))).scalar_one() == 0


def test_answers_saved_one_by_one_are_graded_with_a_breakdown_per_point(app, small_format) -> None:
    started = start_mock(app)
    client, user_id, item_id = started.client, started.trainee_id, started.item_id
    token, mock_id = started.token, started.mock_id
    page = text(client.get(f"/practice/mock/{mock_id}"))
    remaining = int(REMAINING_RE.search(page).group(1))  # type: ignore[union-attr]
    assert 598 <= remaining <= 600, "the page shows the server's remaining time"
    with app.app_context():
        shown = shown_questions(mock_id)
    assert len(shown) == 6
    # Right on the first four, wrong on the fifth, the sixth left blank; the first answer is changed once.
    wrong_letter = {"T": "F", "F": "T"}
    plan = {}
    for q in shown[:4]:
        plan[q.question.id] = q.answer
    fifth = shown[4]
    plan[fifth.question.id] = wrong_letter.get(fifth.answer) or ("A" if fifth.answer != "A" else "B")
    first = shown[0]
    first_wrong = wrong_letter.get(first.answer) or ("A" if first.answer != "A" else "B")
    response = client.post(
        f"/practice/mock/{mock_id}/answer?n=1",
        data={"csrf_token": token, "question_id": first.question.id, "choice": first_wrong},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("n=2")
    for question_id, letter in plan.items():
        response = client.post(
            f"/practice/mock/{mock_id}/answer",
            data={"csrf_token": token, "question_id": question_id, "choice": letter},
        )
        assert response.status_code == 302
    with app.app_context():
        assert _db.session.execute(sa.select(sa.func.count(MockAnswer.id))).scalar_one() == 5
    result = client.post(f"/practice/mock/{mock_id}/submit", data={"csrf_token": token}, follow_redirects=True)
    page = text(result)
    assert "得分20分（满分30分，20分合格）：合格" in page
    with app.app_context():
        exam = _db.session.get(MockExam, mock_id)
        assert exam is not None
        assert (exam.score, exam.passed, exam.finish) == (20, True, MockFinish.SUBMITTED)
        assert papers.paper_score(exam.paper_id) == 20
        breakdown = mock.point_results(exam)
        assert sum(p.questions for p in breakdown) == 6
        assert sum(p.points for p in breakdown) == 20
        assert sum(p.possible for p in breakdown) == 30
        assert {p.point for p in breakdown} <= set(POINTS)
        right = Counter(q.question.knowledge_point for q in shown[:4])
        assert {p.point: p.correct for p in breakdown} == {p.point: right.get(p.point, 0) for p in breakdown}
        # The wrong answer joined the wrong-answer book; the blank one did not.
        counts = services.wrong_counts(trainee_id=user_id, item_id=item_id)
        assert sum(counts.values()) == 1
        assert services.open_wrong_answer(trainee_id=user_id, question_id=fifth.question.id) is not None
        event = _db.session.execute(
            sa.select(AuditEvent).where(AuditEvent.action == "practice.mock_graded")
        ).scalar_one()
        details = json.loads(event.details)
        assert (details["score"], details["passed"], details["finish"], details["answered"]) == (
            20,
            True,
            "submitted",
            5,
        )
    for point in breakdown:
        assert (point.point or "未标注知识点") in page
    again = client.post(f"/practice/mock/{mock_id}/submit", data={"csrf_token": token}, follow_redirects=True)
    assert "这次模拟考试已经交卷" in text(again)
    late = client.post(
        f"/practice/mock/{mock_id}/answer",
        data={"csrf_token": token, "question_id": shown[5].question.id, "choice": "A"},
        follow_redirects=True,
    )
    assert "已经交卷，不能再作答" in text(late)
    with app.app_context():
        assert _db.session.execute(sa.select(sa.func.count(MockAnswer.id))).scalar_one() == 5


def _expire(mock_id: int) -> None:
    exam = _db.session.get(MockExam, mock_id)
    assert exam is not None
    exam.started_at -= dt.timedelta(minutes=11)
    exam.deadline_at -= dt.timedelta(minutes=11)
    _db.session.commit()


def test_an_answer_after_the_time_is_refused_and_the_mock_is_graded(app, small_format) -> None:
    started = start_mock(app)
    client, token, mock_id = started.client, started.token, started.mock_id
    with app.app_context():
        first = shown_questions(mock_id)[0]
    client.post(
        f"/practice/mock/{mock_id}/answer",
        data={"csrf_token": token, "question_id": first.question.id, "choice": first.answer},
    )
    with app.app_context():
        _expire(mock_id)
    second = shown_questions_in(app, mock_id)[1]
    late = client.post(
        f"/practice/mock/{mock_id}/answer",
        data={"csrf_token": token, "question_id": second.question.id, "choice": second.answer},
        follow_redirects=True,
    )
    page = text(late)
    assert "考试时间已到，这次作答没有保存" in page
    assert "得分5分（满分30分，20分合格）：不合格" in page
    with app.app_context():
        exam = _db.session.get(MockExam, mock_id)
        assert exam is not None
        assert exam.finish == MockFinish.TIMED_OUT
        assert exam.score == 5
        saved = _db.session.execute(sa.select(MockAnswer.question_id)).scalars().all()
        assert saved == [first.question.id]
        assert _db.session.execute(sa.select(sa.func.count(PaperAnswer.id))).scalar_one() == 6


def shown_questions_in(app, mock_id: int) -> list[papers.PaperQuestion]:
    with app.app_context():
        return shown_questions(mock_id)


def test_the_next_request_after_the_time_grades_the_mock(app, small_format) -> None:
    started = start_mock(app)
    client, mock_id = started.client, started.mock_id
    location = f"/practice/mock/{mock_id}"
    assert client.get(f"/practice/mock/{mock_id}/result").headers["Location"].endswith(f"/practice/mock/{mock_id}")
    with app.app_context():
        _expire(mock_id)
    response = client.get(location)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/result")
    page = text(client.get(response.headers["Location"]))
    assert "时间到自动交卷" in page
    assert "得分0分" in page
    with app.app_context():
        assert _db.session.execute(sa.select(MockExam.finish)).scalar_one() == MockFinish.TIMED_OUT


def test_a_new_mock_after_an_expired_one_grades_the_old_one_first(db, small_format) -> None:
    item = bank_item(true_false=6, single=4)
    user = trainee()
    now = utcnow()
    old = mock.start_mock(trainee_id=user.id, item_id=item.id, now=now)
    db.session.commit()
    new = mock.start_mock(trainee_id=user.id, item_id=item.id, now=now + dt.timedelta(minutes=10))
    db.session.commit()
    assert new.id != old.id
    assert old.finish == MockFinish.TIMED_OUT
    assert old.score == 0


def test_bad_answers_to_a_mock_are_refused_with_a_clear_message(app, small_format) -> None:
    started = start_mock(app)
    client, token, mock_id = started.client, started.token, started.mock_id
    with app.app_context():
        foreign_question = questions(bank_item(true_false=1))[0].id
    shown = shown_questions_in(app, mock_id)
    true_false = next(q for q in shown if q.question.kind == QuestionKind.TRUE_FALSE)
    single = next(q for q in shown if q.question.kind == QuestionKind.SINGLE)
    cases = [
        (foreign_question, "T", "这道题不在本次模拟考试的试卷中"),
        (true_false.question.id, "A", f"“A”不是第{true_false.number}题的选项"),
        (single.question.id, "E", f"“E”不是第{single.number}题的选项"),
        (single.question.id, "", f"请先选择第{single.number}题的答案"),
        (single.question.id, ["A", "B"], f"第{single.number}题只能选一个答案"),
    ]
    for question_id, choice, message in cases:
        response = client.post(
            f"/practice/mock/{mock_id}/answer",
            data={"csrf_token": token, "question_id": question_id, "choice": choice},
            follow_redirects=True,
        )
        assert response.status_code == 200
        assert message in text(response)
    with app.app_context():
        assert _db.session.execute(sa.select(sa.func.count(MockAnswer.id))).scalar_one() == 0


def test_someone_elses_mock_is_not_found(app, small_format) -> None:
    mock_id = start_mock(app).mock_id
    first = shown_questions_in(app, mock_id)[0]
    stranger, stranger_id = trainee_client(app, name="吴旁")
    other_token = csrf_token(stranger, "/practice/")
    assert stranger.get(f"/practice/mock/{mock_id}").status_code == 404
    assert stranger.get(f"/practice/mock/{mock_id}/result").status_code == 404
    form = {"csrf_token": other_token, "question_id": first.question.id, "choice": first.answer}
    assert stranger.post(f"/practice/mock/{mock_id}/answer", data=form).status_code == 404
    assert stranger.post(f"/practice/mock/{mock_id}/submit", data={"csrf_token": other_token}).status_code == 404
    with app.app_context():
        assert _db.session.execute(sa.select(sa.func.count(MockAnswer.id))).scalar_one() == 0
        assert _db.session.execute(sa.select(MockExam.finished_at)).scalar_one() is None
        with pytest.raises(NotFoundError):
            mock.submit_mock(trainee_id=stranger_id, mock_id=mock_id)


def test_simultaneous_hand_ins_from_several_tabs_grade_the_mock_once(app, small_format) -> None:
    started = start_mock(app)
    tabs = [started.client, *more_tabs(app, started.trainee_id, 3)]
    tokens = [csrf_token(tab, f"/practice/mock/{started.mock_id}") for tab in tabs]
    statuses: list[int] = []

    def hand_in(tab: FlaskClient, token: str) -> None:
        statuses.append(tab.post(f"/practice/mock/{started.mock_id}/submit", data={"csrf_token": token}).status_code)

    at_once(hand_in, list(zip(tabs, tokens, strict=True)))
    assert statuses == [302] * len(tabs)
    with app.app_context():
        assert _db.session.execute(sa.select(sa.func.count(PaperAnswer.id))).scalar_one() == 6
        graded = sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "practice.mock_graded")
        assert _db.session.execute(graded).scalar_one() == 1


def test_a_double_click_or_two_tabs_start_one_mock(app, small_format) -> None:
    with app.app_context():
        item_id = bank_item(true_false=6, single=4).id
    first, trainee_id = trainee_client(app)
    tabs = [first, *more_tabs(app, trainee_id, 3)]
    tokens = [csrf_token(tab, f"/practice/items/{item_id}") for tab in tabs]
    places: list[str] = []

    def start(tab: FlaskClient, token: str) -> None:
        response = tab.post(f"/practice/items/{item_id}/mock", data={"csrf_token": token})
        places.append(response.headers.get("Location", str(response.status_code)))

    at_once(start, list(zip(tabs, tokens, strict=True)))
    with app.app_context():
        mocks = _db.session.execute(sa.select(MockExam).where(MockExam.trainee_id == trainee_id)).scalars().all()
        assert len(mocks) == 1
        assert places == [f"/practice/mock/{mocks[0].id}"] * len(tabs)
        assert _db.session.execute(sa.select(sa.func.count(Paper.id))).scalar_one() == 1


def test_a_mock_handed_in_while_another_tab_practises_the_same_question_counts_both(app, small_format) -> None:
    with app.app_context():
        item_id = bank_item(true_false=4, single=2).id
        question = questions(_db.session.get(Item, item_id), point=POINTS[0])[0]  # type: ignore[arg-type]
        question_id, wrong = question.id, wrong_letter_for(question)
    jobs = []
    people = []
    for n in range(8):
        practising, trainee_id = trainee_client(app, name=f"陈{'一二三四五六七八'[n]}")
        [handing_in] = more_tabs(app, trainee_id, 1)
        with app.app_context():
            exam = mock.start_mock(trainee_id=trainee_id, item_id=item_id)
            mock.save_answer(trainee_id=trainee_id, mock_id=exam.id, question_id=question_id, choice=[wrong])
            services.answer_question(
                trainee_id=trainee_id,
                item_id=item_id,
                question_id=question_id,
                choice=[wrong],
                mode=PracticeMode.POINT,
                after=0,
            )
            _db.session.commit()
            after = services.last_answer_id(trainee_id=trainee_id, question_id=question_id)
            mock_id = exam.id
        answer = {"question_id": question_id, "after": after, "choice": wrong}
        answer["csrf_token"] = csrf_token(practising, f"/practice/items/{item_id}")
        jobs.append((practising, f"/practice/items/{item_id}/answer", answer))
        submit = {"csrf_token": csrf_token(handing_in, f"/practice/mock/{mock_id}")}
        jobs.append((handing_in, f"/practice/mock/{mock_id}/submit", submit))
        people.append(trainee_id)
    statuses: list[int] = []
    at_once(lambda client, url, data: statuses.append(client.post(url, data=data).status_code), jobs)
    assert statuses == [302] * len(jobs)
    with app.app_context():
        counts = [
            services.wrong_row(trainee_id=who, question_id=question_id).wrong_count  # type: ignore[union-attr]
            for who in people
        ]
    assert counts == [3] * len(people), "one wrong practice answer, one in practice at once, one in the mock"
