"""Practice by knowledge point with immediate feedback, and the wrong-answer book (错题本) with its review mode."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from exams.bank.models import Question
from exams.practice import services
from exams.practice.models import PracticeAnswer, PracticeMode, WrongAnswer
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db as _db
from tests.exams.practice.practice_data import (
    POINTS,
    at_once,
    bank_item,
    more_tabs,
    questions,
    trainee_client,
    wrong_answer,
)
from tests.factories import trainee
from tests.fixtures.web import csrf_token, text

QUESTION_ID_RE = re.compile(r'name="question_id"[^>]*value="(\d+)"')
AFTER_RE = re.compile(r'name="after"[^>]*value="(\d+)"')


def shown_question(page: str) -> tuple[int, int]:
    """The question id and `after` value of a practice question page."""
    question, after = QUESTION_ID_RE.search(page), AFTER_RE.search(page)
    assert question, "no practice form on the page"
    assert after, "no practice form on the page"
    return int(question.group(1)), int(after.group(1))


def answers_of(trainee_id: int) -> int:
    return int(
        _db.session.execute(
            sa.select(sa.func.count(PracticeAnswer.id)).where(PracticeAnswer.trainee_id == trainee_id)
        ).scalar_one()
    )


def test_points_count_active_questions_only_and_next_question_stays_in_the_point(db) -> None:
    item = bank_item(true_false=6, single=2, drafts=3)
    user = trainee()
    summaries = services.point_summaries(trainee_id=user.id, item_id=item.id)
    by_point = {s.point: (s.questions, s.practised, s.wrong) for s in summaries}
    assert by_point == {POINTS[0]: (4, 0, 0), POINTS[1]: (4, 0, 0)}, "drafts are not practised"
    seen = set()
    for _n in range(4):
        question = services.next_question(trainee_id=user.id, item_id=item.id, point=POINTS[0])
        assert question.knowledge_point == POINTS[0]
        assert question.status.value == "active"
        services.answer_question(
            trainee_id=user.id,
            item_id=item.id,
            question_id=question.id,
            choice=[question.answer],
            mode=PracticeMode.POINT,
            after=services.last_answer_id(trainee_id=user.id, question_id=question.id),
        )
        seen.add(question.id)
    assert len(seen) == 4, "the least practised question comes next: four answers cover the point's four questions"
    practised = {s.point: s.practised for s in services.point_summaries(trainee_id=user.id, item_id=item.id)}
    assert practised == {POINTS[0]: 4, POINTS[1]: 0}


def test_an_item_not_offered_or_a_point_without_questions_is_refused(db) -> None:
    closed = bank_item(true_false=2, offered=False)
    open_item = bank_item(true_false=2)
    user = trainee()
    with pytest.raises(NotFoundError):
        services.next_question(trainee_id=user.id, item_id=closed.id)
    with pytest.raises(DomainError) as refused:
        services.next_question(trainee_id=user.id, item_id=open_item.id, point="没有的知识点")
    assert "知识点“没有的知识点”没有可练习的题目" in refused.value.message
    empty = bank_item()
    with pytest.raises(DomainError) as refused:
        services.next_question(trainee_id=user.id, item_id=empty.id)
    assert "还没有可练习的题目" in refused.value.message


def test_a_wrong_answer_shows_the_key_and_explanation_and_joins_the_wrong_book(app) -> None:
    with app.app_context():
        item = bank_item(true_false=4, single=4)
        item_id = item.id
    client, user_id = trainee_client(app)
    index = text(client.get("/practice/"))
    assert item.name in index
    page = client.get(f"/practice/items/{item_id}")
    assert POINTS[0] in text(page)
    assert POINTS[1] in text(page)
    page = client.get(f"/practice/items/{item_id}/question", query_string={"point": POINTS[1]})
    assert page.status_code == 200
    question_id, after = shown_question(text(page))
    with app.app_context():
        question = _db.session.get(services.Question, question_id)
        assert question is not None
        assert question.knowledge_point == POINTS[1]
        chosen, key, stem = wrong_answer(question), question.answer, question.stem
    token = csrf_token(client, f"/practice/items/{item_id}")
    response = client.post(
        f"/practice/items/{item_id}/answer",
        data={"csrf_token": token, "question_id": question_id, "after": after, "choice": chosen, "point": POINTS[1]},
    )
    assert response.status_code == 302
    feedback = text(client.get(response.headers["Location"]))
    assert "回答错误" in feedback
    assert f"{stem}的解析" in feedback, "the explanation is shown at once"
    assert ("正确答案是对" if key == "T" else "正确答案是错" if key == "F" else f"正确答案是{key}") in feedback
    wrong_page = text(client.get(f"/practice/items/{item_id}/wrong"))
    assert stem in wrong_page
    assert f"{POINTS[1]}（1）" in wrong_page, "the wrong book counts per knowledge point"
    with app.app_context():
        assert services.wrong_counts(trainee_id=user_id, item_id=item_id) == {POINTS[1]: 1}


def test_review_takes_a_question_off_after_two_right_answers_in_a_row(db) -> None:
    item = bank_item(true_false=2)
    user = trainee()
    question = questions(item)[0]

    def answer(letter: str, mode: PracticeMode = PracticeMode.REVIEW) -> None:
        services.answer_question(
            trainee_id=user.id,
            item_id=item.id,
            question_id=question.id,
            choice=[letter],
            mode=mode,
            after=services.last_answer_id(trainee_id=user.id, question_id=question.id),
        )

    answer(wrong_answer(question), PracticeMode.POINT)
    assert services.next_review(trainee_id=user.id, item_id=item.id).id == question.id
    answer(question.answer)
    answer(wrong_answer(question))  # a wrong answer breaks the run
    answer(question.answer)
    row = services.open_wrong_answer(trainee_id=user.id, question_id=question.id)
    assert row is not None
    assert (row.wrong_count, row.right_streak) == (2, 1)
    answer(question.answer)
    assert services.open_wrong_answer(trainee_id=user.id, question_id=question.id) is None
    with pytest.raises(DomainError) as refused:
        services.next_review(trainee_id=user.id, item_id=item.id)
    assert "错题本里没有需要复习的题目" in refused.value.message
    with pytest.raises(DomainError) as refused:
        answer(question.answer)
    assert "已不在您的错题本中" in refused.value.message
    kept = db.session.execute(sa.select(WrongAnswer)).scalar_one()
    assert kept.cleared_at is not None, "the row is kept with its history"
    assert kept.wrong_count == 2
    answer(wrong_answer(question), PracticeMode.POINT)
    assert services.open_wrong_answer(trainee_id=user.id, question_id=question.id) is not None, "wrong again: back"


def test_a_form_sent_twice_counts_once(app) -> None:
    with app.app_context():
        item_id = bank_item(true_false=2).id
    client, user_id = trainee_client(app)
    page = text(client.get(f"/practice/items/{item_id}/question"))
    question_id, after = shown_question(page)
    token = csrf_token(client, f"/practice/items/{item_id}")
    form = {"csrf_token": token, "question_id": question_id, "after": after, "choice": "T"}
    assert client.post(f"/practice/items/{item_id}/answer", data=form).status_code == 302
    again = client.post(f"/practice/items/{item_id}/answer", data=form, follow_redirects=True)
    assert "这道题已经作答过了" in text(again)
    with app.app_context():
        assert answers_of(user_id) == 1


@pytest.mark.parametrize(
    ("kind", "choice", "message"),
    [
        ("single", ["E"], "“E”不是本题的选项"),
        ("single", ["A", "B"], "本题只能选一个答案"),
        ("single", [], "请先选择本题的答案"),
        ("true_false", ["A"], "“A”不是本题的选项"),
        ("true_false", ["x" * 5000], "不是本题的选项"),
    ],
)
def test_choices_out_of_range_are_refused_and_nothing_is_saved(app, kind, choice, message) -> None:
    with app.app_context():
        item = bank_item(true_false=1, single=1)
        question = next(q for q in questions(item) if q.kind.value == kind)
        item_id, question_id = item.id, question.id
    client, user_id = trainee_client(app)
    token = csrf_token(client, f"/practice/items/{item_id}")
    response = client.post(
        f"/practice/items/{item_id}/answer",
        data={"csrf_token": token, "question_id": question_id, "after": 0, "choice": choice},
        follow_redirects=True,
    )
    assert response.status_code == 200
    page = text(response)
    assert message in page
    assert shown_question(page)[0] == question_id, "the same question is asked again"
    with app.app_context():
        assert answers_of(user_id) == 0
        assert _db.session.execute(sa.select(sa.func.count(WrongAnswer.id))).scalar_one() == 0


def test_questions_of_other_items_drafts_and_others_answers_are_not_found(app) -> None:
    with app.app_context():
        item = bank_item(true_false=1, drafts=1)
        other = bank_item(true_false=1)
        draft = next(q for q in questions(item) if q.status.value == "draft")
        foreign = questions(other)[0]
        item_id, draft_id, foreign_id = item.id, draft.id, foreign.id
    client, _user = trainee_client(app)
    token = csrf_token(client, f"/practice/items/{item_id}")
    for question_id in (draft_id, foreign_id):
        response = client.post(
            f"/practice/items/{item_id}/answer",
            data={"csrf_token": token, "question_id": question_id, "after": 0, "choice": "T"},
        )
        assert response.status_code == 404
    assert client.get(f"/practice/items/{item_id}/question", query_string={"question_id": draft_id}).status_code == 404
    page = text(client.get(f"/practice/items/{item_id}/question"))
    question_id, after = shown_question(page)
    response = client.post(
        f"/practice/items/{item_id}/answer",
        data={"csrf_token": token, "question_id": question_id, "after": after, "choice": "T"},
    )
    feedback_url = response.headers["Location"]
    assert client.get(feedback_url).status_code == 200
    stranger, _other_user = trainee_client(app, name="周看")
    assert stranger.get(feedback_url).status_code == 404, "someone else's answer"


def test_the_demo_bank_gives_1_2_questions_with_points_and_explanations_once(db) -> None:
    from exams.practice.demo_bank import load_demo_bank
    from tests.exams.bank.bank_data import catalogue_item

    item = catalogue_item("1.2")
    assert "16 demo questions imported" in load_demo_bank("1.2")
    db.session.commit()
    assert "already has questions" in load_demo_bank("1.2")
    bank = questions(item)
    assert len(bank) == 16
    assert all(q.knowledge_point and q.explanation and q.status.value == "active" for q in bank)
    user = trainee()
    points = services.point_summaries(trainee_id=user.id, item_id=item.id)
    assert {p.point for p in points} == {"法律法规", "安全用电基础", "触电急救", "电气防火", "低压电器"}
    assert services.next_question(trainee_id=user.id, item_id=item.id, point="触电急救").knowledge_point == "触电急救"


def test_the_same_answer_sent_from_several_tabs_at_once_counts_once(app) -> None:
    with app.app_context():
        item_id = bank_item(true_false=2).id
    client, user_id = trainee_client(app)
    tabs = [client, *more_tabs(app, user_id, 7)]
    token = csrf_token(client, f"/practice/items/{item_id}")
    question_id, after = shown_question(text(client.get(f"/practice/items/{item_id}/question")))
    with app.app_context():
        wrong = wrong_answer(_db.session.get(Question, question_id))  # type: ignore[arg-type]
    form = {"csrf_token": token, "question_id": question_id, "after": after, "choice": wrong}
    assert client.post(f"/practice/items/{item_id}/answer", data=form).status_code == 302
    with app.app_context():
        after = services.last_answer_id(trainee_id=user_id, question_id=question_id)
    tokens = [csrf_token(tab, f"/practice/items/{item_id}") for tab in tabs]
    statuses: list[int] = []

    def send(tab: FlaskClient, token: str) -> None:
        sent = {**form, "csrf_token": token, "after": after}
        statuses.append(tab.post(f"/practice/items/{item_id}/answer", data=sent).status_code)

    at_once(send, list(zip(tabs, tokens, strict=True)))
    assert statuses == [302] * len(tabs)
    with app.app_context():
        assert answers_of(user_id) == 2
        row = services.open_wrong_answer(trainee_id=user_id, question_id=question_id)
        assert row is not None
        assert row.wrong_count == 2


def test_the_total_of_open_wrong_answers_counts_only_items_that_can_be_practised(app) -> None:
    with app.app_context():
        kept, dropped = bank_item(true_false=2), bank_item(true_false=2)
        user = trainee()
        for item in (kept, dropped):
            question = questions(item)[0]
            services.answer_question(
                trainee_id=user.id,
                item_id=item.id,
                question_id=question.id,
                choice=[wrong_answer(question)],
                mode=PracticeMode.POINT,
                after=0,
            )
        dropped.offered = False
        _db.session.commit()
        assert services.total_wrong(trainee_id=user.id) == 1
        assert services.total_wrong(trainee_id=user.id) == sum(
            sum(services.wrong_counts(trainee_id=user.id, item_id=c.item.id).values())
            for c in services.practice_items(trainee_id=user.id)
        )
