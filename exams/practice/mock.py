"""Timed mock exams in the real format: a Paper of purpose "mock" drawn by the settings' make-up, answers saved one
question at a time, the clock on server time only, graded at submission or at the first request after time is up.

Scoring follows the theory exam (DOMAIN.md): PRACTICE_MOCK_TRUE_FALSE true/false and PRACTICE_MOCK_SINGLE single
choice questions, PRACTICE_MOCK_POINTS each (70 + 30 at 1 point: 100 points), PRACTICE_MOCK_MINUTES minutes,
passed at PRACTICE_MOCK_PASS_MARK points.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from collections.abc import Sequence

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from exams.bank.models import Question, QuestionKind
from exams.bank.services import BlueprintSpec, RowSpec
from exams.papers import services as papers
from exams.papers.models import PaperAnswer
from exams.practice.models import MockAnswer, MockExam, MockFinish
from exams.practice.services import clean_choice, lock_trainee, note_answer, practice_item
from opcert.audit.services import record_event
from opcert.db import flush_unique, utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db

MOCK_PURPOSE = "mock"


class MockFinishedError(DomainError):
    """The mock exam is over: nothing more can be answered or submitted."""


class SaveOutcome(enum.Enum):
    """What became of an answer sent to a mock exam."""

    SAVED = "saved"
    TIME_UP = "time_up"


@dataclasses.dataclass(frozen=True)
class MockQuestion:
    """One question of a running mock as shown: its number, options in the paper's order, the saved answer."""

    shown: papers.PaperQuestion
    saved: str


@dataclasses.dataclass(frozen=True)
class PointResult:
    """A knowledge point's share of a graded mock."""

    point: str
    questions: int
    correct: int
    points: int
    possible: int


@dataclasses.dataclass(frozen=True)
class ReviewedQuestion:
    """A graded question: what the trainee chose and the key, both in the letters shown on the paper."""

    shown: papers.PaperQuestion
    chosen: str
    correct: bool


def mock_spec() -> BlueprintSpec:
    """The mock exam's make-up from the settings (the national theory format by default)."""
    config = current_app.config
    points = int(config["PRACTICE_MOCK_POINTS"])
    rows = (
        RowSpec(kind=QuestionKind.TRUE_FALSE, count=int(config["PRACTICE_MOCK_TRUE_FALSE"]), points=points),
        RowSpec(kind=QuestionKind.SINGLE, count=int(config["PRACTICE_MOCK_SINGLE"]), points=points),
    )
    return BlueprintSpec(
        rows=tuple(row for row in rows if row.count > 0),
        duration_minutes=int(config["PRACTICE_MOCK_MINUTES"]),
        pass_mark=int(config["PRACTICE_MOCK_PASS_MARK"]),
        stored=False,
    )


def running_mock(*, trainee_id: int, item_id: int) -> MockExam | None:
    """The trainee's unfinished mock of an item, if any."""
    query = sa.select(MockExam).where(
        MockExam.trainee_id == trainee_id, MockExam.item_id == item_id, MockExam.finished_at.is_(None)
    )
    return db.session.execute(query.order_by(MockExam.id.desc()).limit(1)).scalar_one_or_none()


def start_mock(*, trainee_id: int, item_id: int, now: dt.datetime | None = None) -> MockExam:
    """Start a mock exam of an item, or return the one still running; refuse, naming what the bank lacks."""
    now = now or utcnow()
    item = practice_item(item_id)
    lock_trainee(trainee_id)  # two tabs (or a double click) start one mock: the second resumes the first's
    running = running_mock(trainee_id=trainee_id, item_id=item.id)
    if running is not None:
        if now < running.deadline_at:
            return running
        _grade(running, MockFinish.TIMED_OUT, now)
    spec = mock_spec()
    paper = papers.generate_paper(item_id=item.id, candidate_id=trainee_id, purpose=MOCK_PURPOSE, spec=spec)
    mock = MockExam(
        paper_id=paper.id,
        trainee_id=trainee_id,
        item_id=item.id,
        started_at=now,
        deadline_at=now + dt.timedelta(minutes=spec.duration_minutes),
    )
    db.session.add(mock)
    db.session.flush()
    return mock


def get_mock(*, trainee_id: int, mock_id: int, now: dt.datetime | None = None) -> MockExam:
    """The trainee's own mock (others' are 404), locked for the request; graded first when its time is up."""
    mock = _own_mock(trainee_id, mock_id)
    now = now or utcnow()
    if not mock.finished and now >= mock.deadline_at:
        _grade(mock, MockFinish.TIMED_OUT, now)
    return mock


def _own_mock(trainee_id: int, mock_id: int) -> MockExam:
    """The trainee's mock, its row locked until the commit (two tabs grade it once); others' are NotFoundError.

    The trainee's row is locked first, as when practising or starting a mock: grading writes the wrong-answer book,
    which a practice answer in another tab may be writing at the same moment (and one lock order: no deadlock)."""
    lock_trainee(trainee_id)
    query = sa.select(MockExam).where(MockExam.id == mock_id).with_for_update()
    mock = db.session.execute(query).scalar_one_or_none()
    if mock is None or mock.trainee_id != trainee_id:
        raise NotFoundError(_("模拟考试不存在。"))
    return mock


def remaining_seconds(mock: MockExam, now: dt.datetime | None = None) -> int:
    """Whole seconds left on the server's clock (0 once over)."""
    if mock.finished:
        return 0
    return max(0, math.ceil((mock.deadline_at - (now or utcnow())).total_seconds()))


def saved_answers(mock: MockExam) -> dict[int, str]:
    """Question id → the answer saved so far, in the letters shown."""
    rows = db.session.execute(
        sa.select(MockAnswer.question_id, MockAnswer.shown).where(MockAnswer.mock_id == mock.id)
    ).tuples()
    return {question_id: shown for question_id, shown in rows}


def mock_questions(mock: MockExam) -> list[MockQuestion]:
    """The paper's questions in order with the answers saved so far."""
    saved = saved_answers(mock)
    return [MockQuestion(shown, saved.get(shown.question.id, "")) for shown in papers.paper_questions(mock.paper)]


def save_answer(
    *, trainee_id: int, mock_id: int, question_id: int, choice: Sequence[str], now: dt.datetime | None = None
) -> tuple[SaveOutcome, int]:
    """Save (or change) the answer to one question of the paper; return the outcome and the question's number.

    After the time is up nothing is saved: the mock is graded (TIME_UP). A finished mock refuses the answer.
    """
    now = now or utcnow()
    mock = _own_mock(trainee_id, mock_id)
    if mock.finished:
        raise MockFinishedError(_("这次模拟考试已经交卷，不能再作答。"))
    if now >= mock.deadline_at:
        _grade(mock, MockFinish.TIMED_OUT, now)
        return SaveOutcome.TIME_UP, 0
    shown = next((q for q in papers.paper_questions(mock.paper) if q.question.id == question_id), None)
    if shown is None:
        raise DomainError(_("这道题不在本次模拟考试的试卷中。"))
    letters = clean_choice(shown.question, choice, number=shown.number)
    row = db.session.execute(
        sa.select(MockAnswer).where(MockAnswer.mock_id == mock.id, MockAnswer.question_id == question_id)
    ).scalar_one_or_none()
    if row is None:
        db.session.add(MockAnswer(mock_id=mock.id, question_id=question_id, shown=letters, saved_at=now))
        flush_unique(_("答案正在保存，请稍后再试。"), "choice")
    else:
        row.shown = letters
        row.saved_at = now
        db.session.flush()
    return SaveOutcome.SAVED, shown.number


def submit_mock(*, trainee_id: int, mock_id: int, now: dt.datetime | None = None) -> MockExam:
    """Hand the mock in and grade it (after the time is up it counts as timed out); refuse a finished one."""
    now = now or utcnow()
    mock = _own_mock(trainee_id, mock_id)
    if mock.finished:
        raise MockFinishedError(_("这次模拟考试已经交卷。"))
    _grade(mock, MockFinish.SUBMITTED if now < mock.deadline_at else MockFinish.TIMED_OUT, now)
    return mock


def _grade(mock: MockExam, finish: MockFinish, now: dt.datetime) -> None:
    """Record the saved answers on the paper (blanks count as wrong), score it, add wrong answers to the book."""
    if mock.finished:
        raise MockFinishedError(_("这次模拟考试已经交卷。"))
    rows = papers.record_answers(paper_id=mock.paper_id, answers=saved_answers(mock))
    score = papers.paper_score(mock.paper_id)
    # Set together: the row's check constraint wants a result complete or absent at every flush.
    mock.score, mock.passed, mock.finished_at, mock.finish = score, score >= mock.paper.pass_mark, now, finish
    for row in rows:
        if row.chosen:
            note_answer(
                trainee_id=mock.trainee_id, question_id=row.question_id, chosen=row.chosen, correct=row.correct, now=now
            )
    db.session.flush()
    record_event(
        "practice.mock_graded",
        object_type="mock_exam",
        object_id=mock.id,
        details={
            "paper": mock.paper_id,
            "item": mock.item.code,
            "score": mock.score,
            "pass_mark": mock.paper.pass_mark,
            "passed": mock.passed,
            "finish": finish.value,
            "answered": sum(1 for row in rows if row.chosen),
        },
    )


def graded_mock(*, trainee_id: int, mock_id: int, now: dt.datetime | None = None) -> MockExam:
    """The trainee's mock once graded (time up counts), or DomainError while it is still running."""
    mock = get_mock(trainee_id=trainee_id, mock_id=mock_id, now=now)
    if not mock.finished:
        raise DomainError(_("模拟考试还没有交卷。"))
    return mock


def point_results(mock: MockExam) -> list[PointResult]:
    """The graded mock's questions, right answers and points per knowledge point ("" for none), by point."""
    query = (
        sa.select(
            Question.knowledge_point,
            sa.func.count(PaperAnswer.id),
            sa.func.sum(sa.case((PaperAnswer.correct, 1), else_=0)),
            sa.func.sum(PaperAnswer.points),
        )
        .join(Question, Question.id == PaperAnswer.question_id)
        .where(PaperAnswer.paper_id == mock.paper_id)
        .group_by(Question.knowledge_point)
    )
    possible: dict[str, int] = {}
    for shown in papers.paper_questions(mock.paper):
        point = shown.question.knowledge_point
        possible[point] = possible.get(point, 0) + shown.points
    results = [
        PointResult(point, int(n), int(right or 0), int(points or 0), possible.get(point, 0))
        for point, n, right, points in db.session.execute(query).tuples()
    ]
    return sorted(results, key=lambda r: (r.point == "", r.point))


def reviewed_questions(mock: MockExam) -> list[ReviewedQuestion]:
    """Every question of the graded paper with the trainee's choice as shown and whether it was right."""
    saved = saved_answers(mock)
    graded = db.session.execute(
        sa.select(PaperAnswer.question_id, PaperAnswer.correct).where(PaperAnswer.paper_id == mock.paper_id)
    ).tuples()
    correct = {question_id: right for question_id, right in graded}
    return [
        ReviewedQuestion(shown, saved.get(shown.question.id, ""), bool(correct.get(shown.question.id)))
        for shown in papers.paper_questions(mock.paper)
    ]


def list_mocks(*, trainee_id: int, item_id: int | None = None, limit: int = 10) -> list[MockExam]:
    """The trainee's latest mocks (of one item), newest first."""
    query = sa.select(MockExam).where(MockExam.trainee_id == trainee_id)
    if item_id is not None:
        query = query.where(MockExam.item_id == item_id)
    return list(db.session.execute(query.order_by(MockExam.id.desc()).limit(limit)).scalars())
