"""Papers: drawing a candidate's paper from the bank by the item's blueprint, showing it, recording answers, scoring.

The home of the exam-taking code: a paper's questions in the candidate's order, options shuffled per paper, the
answers recorded in the questions' original letters.
"""

from __future__ import annotations

import dataclasses
import json
import random
import secrets
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from flask_babel import gettext as _

from exams.bank import importer
from exams.bank.models import OPTION_LETTERS, Question, QuestionKind, QuestionStatus
from exams.bank.services import BlueprintSpec, RowSpec, effective_blueprint, item_label
from exams.papers.models import Paper, PaperAnswer
from opcert.audit.services import record_event
from opcert.catalogue.models import Item
from opcert.catalogue.services import get_item
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db

KIND_ORDER = (QuestionKind.TRUE_FALSE, QuestionKind.SINGLE, QuestionKind.MULTIPLE)


class BankShortError(DomainError):
    """The bank cannot satisfy the blueprint."""


@dataclasses.dataclass(frozen=True)
class PaperQuestion:
    """A question as the candidate sees it: options in the paper's order, the key in the shown letters."""

    number: int
    question: Question
    points: int
    options: tuple[str, ...]
    answer: str


def generate_paper(
    *,
    item_id: int,
    candidate_id: int | None = None,
    purpose: str = "sample",
    seed: str | None = None,
    spec: BlueprintSpec | None = None,
) -> Paper:
    """Draw a paper from the item's active questions by its blueprint (or `spec`); refuse, listing every shortage."""
    item = get_item(item_id)
    spec = spec or effective_blueprint(item)
    seed = seed or secrets.token_hex(16)
    # A seeded generator so that the recorded seed reproduces the draw; the seed itself comes from `secrets`.
    rng = random.Random(seed)  # noqa: S311
    active = list(
        db.session.execute(
            sa.select(Question)
            .where(Question.item_id == item.id, Question.status == QuestionStatus.ACTIVE)
            .order_by(Question.id)
        ).scalars()
    )
    chosen: dict[QuestionKind, list[tuple[Question, int]]] = {kind: [] for kind in KIND_ORDER}
    taken: set[int] = set()
    shortages: list[str] = []
    # Rows for a named knowledge point draw first, so that "any" rows cannot use up their questions.
    for row in sorted(spec.rows, key=lambda r: r.knowledge_point == ""):
        pool = [
            q
            for q in active
            if q.kind == row.kind
            and q.id not in taken
            and (not row.knowledge_point or q.knowledge_point == row.knowledge_point)
        ]
        if len(pool) < row.count:
            shortages.append(_shortage(item, spec, row, active))
            continue
        for question in rng.sample(pool, row.count):
            taken.add(question.id)
            chosen[row.kind].append((question, row.points))
    if shortages:
        message = "；".join(shortages)
        raise BankShortError(message, {"": message})
    entries: list[dict[str, object]] = []
    for kind in KIND_ORDER:
        group = chosen[kind]
        rng.shuffle(group)
        for question, points in group:
            count = len(question.option_list)
            order = rng.sample(range(count), count) if kind != QuestionKind.TRUE_FALSE else []
            entries.append({"id": question.id, "order": order, "points": points})
    paper = Paper(
        item_id=item.id,
        candidate_id=candidate_id,
        purpose=purpose[:40],
        seed=seed,
        questions=json.dumps(entries, separators=(",", ":")),
        duration_minutes=spec.duration_minutes,
        pass_mark=spec.pass_mark,
        total_points=spec.total_points,
    )
    db.session.add(paper)
    db.session.flush()
    record_event(
        "paper.generated",
        object_type="paper",
        object_id=paper.id,
        details={"item": item.code, "candidate": candidate_id, "purpose": paper.purpose, "seed": seed},
    )
    return paper


def _shortage(item: Item, spec: BlueprintSpec, row: RowSpec, active: Sequence[Question]) -> str:
    if row.knowledge_point:
        have = sum(1 for q in active if q.kind == row.kind and q.knowledge_point == row.knowledge_point)
        return str(
            _(
                "题库中‘%(item)s’知识点‘%(point)s’的有效%(kind)s只有%(have)d道，试卷需要%(need)d道",
                item=item_label(item),
                point=row.knowledge_point,
                kind=row.kind.label,
                have=have,
                need=row.count,
            )
        )
    have = sum(1 for q in active if q.kind == row.kind)
    return str(
        _(
            "题库中‘%(item)s’的有效%(kind)s只有%(have)d道，试卷需要%(need)d道",
            item=item_label(item),
            kind=row.kind.label,
            have=have,
            need=spec.count(row.kind),
        )
    )


def get_paper(paper_id: int) -> Paper:
    """A paper by id, or NotFoundError."""
    paper = db.session.get(Paper, paper_id)
    if paper is None:
        raise NotFoundError(_("试卷不存在。"))
    return paper


def paper_questions(paper: Paper) -> list[PaperQuestion]:
    """The paper's questions in order, with options as shown and the answer key in the shown letters."""
    entries = paper.entries
    ids = [int(e["id"]) for e in entries]
    found = {q.id: q for q in db.session.execute(sa.select(Question).where(Question.id.in_(ids))).scalars()}
    shown: list[PaperQuestion] = []
    for number, entry in enumerate(entries, start=1):
        question = found[int(entry["id"])]
        order: list[int] = list(entry["order"])
        options = question.option_list
        if order:
            options = [options[i] for i in order]
            answer = "".join(sorted(OPTION_LETTERS[order.index(OPTION_LETTERS.index(ch))] for ch in question.answer))
        else:
            answer = question.answer
        shown.append(PaperQuestion(number, question, int(entry["points"]), tuple(options), answer))
    return shown


def record_answers(*, paper_id: int, answers: Mapping[int, str]) -> list[PaperAnswer]:
    """Record a candidate's answers (question id → letters as shown on the paper, or T/F); blanks count as wrong."""
    paper = get_paper(paper_id)
    already = sa.select(PaperAnswer.id).where(PaperAnswer.paper_id == paper.id).limit(1)
    if db.session.execute(already).first() is not None:
        raise DomainError(_("这份试卷的作答已经记录，不能重复记录。"))
    entries = {int(e["id"]): e for e in paper.entries}
    unknown = sorted(set(answers) - set(entries))
    if unknown:
        raise DomainError(_("题目%(ids)s不在这份试卷中。", ids="、".join(str(i) for i in unknown)))
    rows: list[PaperAnswer] = []
    for shown in paper_questions(paper):
        question = shown.question
        given = "".join(sorted(_clean_letters(answers.get(question.id, ""))))
        order: list[int] = list(entries[question.id]["order"])
        if question.kind == QuestionKind.TRUE_FALSE:
            if given not in {"", "T", "F"}:
                raise DomainError(_("第%(n)d题（判断题）的答案只能是T或F。", n=shown.number))
            chosen = given
        else:
            if any(ch not in OPTION_LETTERS[: len(order)] for ch in given):
                raise DomainError(_("第%(n)d题的答案“%(value)s”不是本题的选项。", n=shown.number, value=given))
            chosen = "".join(sorted(OPTION_LETTERS[order[OPTION_LETTERS.index(ch)]] for ch in given))
        correct = chosen == question.answer
        rows.append(
            PaperAnswer(
                paper_id=paper.id,
                question_id=question.id,
                chosen=chosen,
                correct=correct,
                points=shown.points if correct else 0,
            )
        )
    db.session.add_all(rows)
    db.session.flush()
    return rows


def _clean_letters(raw: str) -> str:
    """Upper-case letters of an answer, separators removed."""
    return importer.ANSWER_SEPARATORS.sub("", raw).upper()


def paper_score(paper_id: int) -> int:
    """Points scored on a paper from its recorded answers."""
    query = sa.select(sa.func.coalesce(sa.func.sum(PaperAnswer.points), 0)).where(PaperAnswer.paper_id == paper_id)
    return int(db.session.execute(query).scalar_one())
