"""Practice by knowledge point with immediate feedback, and the wrong-answer book (错题本) with its review mode.

Only active (启用) questions of offered items are practised. Every wrong answer (in practice or in a mock exam)
puts the question on the trainee's list; PRACTICE_REVIEW_STREAK right answers in a row take it off again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Sequence

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from exams.bank.models import OPTION_LETTERS, Question, QuestionKind, QuestionStatus
from exams.bank.services import get_question, knowledge_points
from exams.practice.models import PracticeAnswer, PracticeMode, WrongAnswer
from exams.sessions.models import ExamApplication
from opcert.accounts.models import User
from opcert.catalogue.models import Item
from opcert.catalogue.services import get_item, offered_items
from opcert.db import flush_unique, utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.training.services import enrolled_item_ids

TRUE_FALSE_CHOICES = ("T", "F")


@dataclasses.dataclass(frozen=True)
class ItemChoice:
    """An offered item a trainee may practise, and whether they have applied to be examined in it."""

    item: Item
    applied: bool


@dataclasses.dataclass(frozen=True)
class PointSummary:
    """One knowledge point of an item: its active questions, how many the trainee has practised, open wrong ones."""

    point: str
    questions: int
    practised: int
    wrong: int


def practice_items(*, trainee_id: int) -> list[ItemChoice]:
    """Offered items, those the trainee applied for or is enrolled in (training) first."""
    applied = set(
        db.session.execute(sa.select(ExamApplication.item_id).where(ExamApplication.trainee_id == trainee_id)).scalars()
    ) | enrolled_item_ids(trainee_id)
    choices = [ItemChoice(item, item.id in applied) for item in offered_items()]
    return sorted(choices, key=lambda c: not c.applied)


def lock_trainee(trainee_id: int) -> None:
    """Lock the trainee's row until the commit: requests of the same trainee sent at once (two tabs, a double click)
    run one after the other, so the second sees what the first wrote (SQLite: BEGIN IMMEDIATE does the same)."""
    locked = sa.select(User.id).where(User.id == trainee_id).with_for_update()
    if db.session.execute(locked).scalar_one_or_none() is None:
        raise NotFoundError(_("用户不存在。"))


def practice_item(item_id: int) -> Item:
    """An offered item, or NotFoundError (items not examined here are not practised)."""
    item = get_item(item_id)
    if not item.offered:
        raise NotFoundError(_("该项目未开考。"))
    return item


def _active(item_id: int) -> sa.Select[tuple[Question]]:
    return sa.select(Question).where(Question.item_id == item_id, Question.status == QuestionStatus.ACTIVE)


def point_summaries(*, trainee_id: int, item_id: int) -> list[PointSummary]:
    """Each knowledge point with active questions: their number, how many the trainee practised, open wrong ones."""
    questions = db.session.execute(
        sa.select(Question.knowledge_point, sa.func.count(Question.id))
        .where(Question.item_id == item_id, Question.status == QuestionStatus.ACTIVE, Question.knowledge_point != "")
        .group_by(Question.knowledge_point)
    )
    counts = {point: int(n) for point, n in questions.tuples()}
    practised_rows = db.session.execute(
        sa.select(Question.knowledge_point, sa.func.count(sa.distinct(PracticeAnswer.question_id)))
        .join(Question, Question.id == PracticeAnswer.question_id)
        .where(PracticeAnswer.trainee_id == trainee_id, Question.item_id == item_id)
        .where(Question.status == QuestionStatus.ACTIVE)
        .group_by(Question.knowledge_point)
    ).tuples()
    practised = {point: int(n) for point, n in practised_rows}
    wrong = wrong_counts(trainee_id=trainee_id, item_id=item_id)
    return [
        PointSummary(point, int(counts[point]), int(practised.get(point, 0)), wrong.get(point, 0))
        for point in knowledge_points(item_id)
        if point in counts
    ]


def next_question(*, trainee_id: int, item_id: int, point: str = "") -> Question:
    """The active question of the item (and point) the trainee has practised least, at random among equals."""
    item = practice_item(item_id)
    answered = (
        sa.select(PracticeAnswer.question_id, sa.func.count(PracticeAnswer.id).label("times"))
        .where(PracticeAnswer.trainee_id == trainee_id)
        .group_by(PracticeAnswer.question_id)
        .subquery()
    )
    query = (
        sa.select(Question, sa.func.coalesce(answered.c.times, 0))
        .outerjoin(answered, answered.c.question_id == Question.id)
        .where(Question.item_id == item.id, Question.status == QuestionStatus.ACTIVE)
    )
    if point:
        query = query.where(Question.knowledge_point == point)
    rows = list(db.session.execute(query).tuples())
    if not rows:
        if point:
            message = _("知识点“%(point)s”没有可练习的题目。", point=point)
        else:
            message = _("“%(item)s”的题库还没有可练习的题目。", item=item.name)
        raise DomainError(message)
    fewest = min(times for _question, times in rows)
    least: list[Question] = [q for q, times in rows if times == fewest]
    # Which of the least-practised questions comes next is not a secret: plain random is enough.
    return random.choice(least)  # noqa: S311


def last_answer_id(*, trainee_id: int, question_id: int) -> int:
    """The id of the trainee's latest practice answer to the question (0: none yet)."""
    query = sa.select(sa.func.max(PracticeAnswer.id)).where(
        PracticeAnswer.trainee_id == trainee_id, PracticeAnswer.question_id == question_id
    )
    return int(db.session.execute(query).scalar_one() or 0)


def choice_letters(question: Question, option_count: int | None = None) -> tuple[str, ...]:
    """The letters a question can be answered with: T/F, or one per option."""
    if question.kind == QuestionKind.TRUE_FALSE:
        return TRUE_FALSE_CHOICES
    return tuple(OPTION_LETTERS[: option_count if option_count is not None else len(question.option_list)])


def clean_choice(question: Question, choice: Sequence[str], *, number: int | None = None) -> str:
    """The choice as sorted letters, checked against the question's kind and options (messages in Chinese)."""
    allowed = choice_letters(question)
    letters = sorted({part.strip().upper() for part in choice if part.strip()})
    which = _("第%(n)d题", n=number) if number is not None else _("本题")
    if not letters:
        raise DomainError.on_field(_("请先选择%(which)s的答案。", which=which), "choice")
    strange = [letter for letter in letters if letter not in allowed]
    if strange:
        shown = "、".join(s[:6] for s in strange[:3])
        raise DomainError.on_field(_("“%(value)s”不是%(which)s的选项。", value=shown, which=which), "choice")
    if question.kind != QuestionKind.MULTIPLE and len(letters) > 1:
        raise DomainError.on_field(_("%(which)s只能选一个答案。", which=which), "choice")
    return "".join(letters)


def answer_question(
    *,
    trainee_id: int,
    item_id: int,
    question_id: int,
    choice: Sequence[str],
    mode: PracticeMode,
    after: int,
    now: dt.datetime | None = None,
) -> PracticeAnswer:
    """Record a practice answer and keep the wrong-answer book; `after` is the latest answer id the page was shown
    with, so that a form sent twice (or an old page) does not count again."""
    now = now or utcnow()
    item = practice_item(item_id)
    question = practice_question(item_id=item.id, question_id=question_id)
    lock_trainee(trainee_id)  # the same form sent from two tabs at once counts once
    if last_answer_id(trainee_id=trainee_id, question_id=question.id) != after:
        raise DomainError(_("这道题已经作答过了（页面已过期），请继续下一题。"))
    if mode == PracticeMode.REVIEW and open_wrong_answer(trainee_id=trainee_id, question_id=question.id) is None:
        raise DomainError(_("这道题已不在您的错题本中。"))
    chosen = clean_choice(question, choice)
    answer = PracticeAnswer(
        trainee_id=trainee_id,
        question_id=question.id,
        mode=mode,
        chosen=chosen,
        correct=chosen == question.answer,
        answered_at=now,
    )
    db.session.add(answer)
    note_answer(trainee_id=trainee_id, question_id=question.id, chosen=chosen, correct=answer.correct, now=now)
    db.session.flush()
    return answer


def practice_question(*, item_id: int, question_id: int) -> Question:
    """An active question of the item, shown again (after a refused answer), or NotFoundError."""
    question = get_question(question_id)
    if question.item_id != item_id or question.status != QuestionStatus.ACTIVE:
        raise NotFoundError(_("题目不存在。"))
    return question


def review_streak() -> int:
    """Right answers in a row that take a question off the wrong-answer book (setting PRACTICE_REVIEW_STREAK)."""
    return int(current_app.config["PRACTICE_REVIEW_STREAK"])


def wrong_row(*, trainee_id: int, question_id: int) -> WrongAnswer | None:
    """The trainee's wrong-answer row for the question (open or cleared), if it was ever answered wrongly."""
    query = sa.select(WrongAnswer).where(WrongAnswer.trainee_id == trainee_id, WrongAnswer.question_id == question_id)
    return db.session.execute(query).scalar_one_or_none()


def open_wrong_answer(*, trainee_id: int, question_id: int) -> WrongAnswer | None:
    """The trainee's wrong-answer row for the question while it is on the list."""
    row = wrong_row(trainee_id=trainee_id, question_id=question_id)
    return row if row is not None and row.cleared_at is None else None


def note_answer(*, trainee_id: int, question_id: int, chosen: str, correct: bool, now: dt.datetime) -> None:
    """Keep the wrong-answer book: a wrong answer puts the question on the list (again), right ones in a row take it
    off. Every answer counts, in practice, review or a mock exam."""
    row = wrong_row(trainee_id=trainee_id, question_id=question_id)
    if not correct:
        if row is None:
            db.session.add(
                WrongAnswer(
                    trainee_id=trainee_id,
                    question_id=question_id,
                    last_chosen=chosen,
                    first_wrong_at=now,
                    last_wrong_at=now,
                    last_seen_at=now,
                )
            )
            flush_unique(_("这道题已经作答过了，请继续下一题。"))
            return
        row.wrong_count += 1
        row.right_streak = 0
        row.cleared_at = None
        row.last_chosen = chosen
        row.last_wrong_at = now
        row.last_seen_at = now
        return
    if row is None or row.cleared_at is not None:
        return
    row.right_streak += 1
    row.last_seen_at = now
    if row.right_streak >= review_streak():
        row.cleared_at = now


def get_answer(*, trainee_id: int, answer_id: int) -> PracticeAnswer:
    """The trainee's own practice answer, or NotFoundError."""
    answer = db.session.get(PracticeAnswer, answer_id)
    if answer is None or answer.trainee_id != trainee_id:
        raise NotFoundError(_("作答记录不存在。"))
    return answer


def _open_wrong(trainee_id: int, item_id: int) -> sa.Select[tuple[WrongAnswer]]:
    return (
        sa.select(WrongAnswer)
        .join(Question, Question.id == WrongAnswer.question_id)
        .where(WrongAnswer.trainee_id == trainee_id, WrongAnswer.cleared_at.is_(None))
        .where(Question.item_id == item_id, Question.status == QuestionStatus.ACTIVE)
    )


def wrong_answers(*, trainee_id: int, item_id: int, point: str = "") -> list[WrongAnswer]:
    """The trainee's open wrong answers for an item (active questions), longest unseen first."""
    query = _open_wrong(trainee_id, item_id)
    if point:
        query = query.where(Question.knowledge_point == point)
    return list(db.session.execute(query.order_by(WrongAnswer.last_seen_at, WrongAnswer.id)).scalars())


def wrong_counts(*, trainee_id: int, item_id: int) -> dict[str, int]:
    """Open wrong answers per knowledge point ("" for questions without one)."""
    query = (
        sa.select(Question.knowledge_point, sa.func.count(WrongAnswer.id))
        .join(Question, Question.id == WrongAnswer.question_id)
        .where(WrongAnswer.trainee_id == trainee_id, WrongAnswer.cleared_at.is_(None))
        .where(Question.item_id == item_id, Question.status == QuestionStatus.ACTIVE)
        .group_by(Question.knowledge_point)
    )
    return {point: int(n) for point, n in db.session.execute(query).tuples()}


def total_wrong(*, trainee_id: int) -> int:
    """Open wrong answers over every offered item (active questions): the sum of the items' wrong-answer books."""
    query = (
        sa.select(sa.func.count(WrongAnswer.id))
        .join(Question, Question.id == WrongAnswer.question_id)
        .join(Item, Item.id == Question.item_id)
        .where(WrongAnswer.trainee_id == trainee_id, WrongAnswer.cleared_at.is_(None))
        .where(Question.status == QuestionStatus.ACTIVE, Item.offered.is_(True))
    )
    return int(db.session.execute(query).scalar_one())


def next_review(*, trainee_id: int, item_id: int, point: str = "") -> Question:
    """The open wrong answer's question seen longest ago; DomainError when the list is empty."""
    practice_item(item_id)
    rows = wrong_answers(trainee_id=trainee_id, item_id=item_id, point=point)
    if not rows:
        raise DomainError(_("错题本里没有需要复习的题目。"))
    return rows[0].question


def question_for_image(question_id: int) -> Question:
    """An active question of an offered item, whose image a trainee may see while practising."""
    question = get_question(question_id)
    if question.status != QuestionStatus.ACTIVE or not question.item.offered:
        raise NotFoundError(_("题目不存在。"))
    return question
