"""Question bank rules: import/export, editing, images and status, blueprints, item statistics."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import TypedDict

import numpy as np
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from PIL import Image
from sqlalchemy.orm import selectinload

from exams.bank import importer
from exams.bank.models import (
    STATUS_TRANSITIONS,
    Blueprint,
    BlueprintRow,
    Question,
    QuestionKind,
    QuestionStatus,
)
from exams.papers.models import Paper, PaperAnswer
from opcert.access import Role
from opcert.accounts.models import Organisation, OrgKind
from opcert.audit.services import record_event
from opcert.catalogue.models import Item
from opcert.catalogue.services import get_item
from opcert.db import flush_unique, utcnow
from opcert.errors import DomainError, ForbiddenError, NotFoundError
from opcert.extensions import db
from opcert.files import FileStore
from photos.images import ImageRejectedError, decode_image, encode_jpeg

# Defaults for the settings QUESTION_FACILITY_MIN / _MAX and QUESTION_DISCRIMINATION_MIN.
FACILITY_MIN = 0.2
FACILITY_MAX = 0.95
DISCRIMINATION_MIN = 0.2
GROUP_SHARE = 0.27
# Question images: re-encoded JPEGs no longer than this on their longest side, kept under QUESTION_IMAGE_DIR.
IMAGE_MAX_SIDE = 1200
IMAGES = FileStore("QUESTION_IMAGE_DIR")


class QuestionImportError(DomainError):
    """An import file was refused; `problems` lists every error by row and column."""

    def __init__(self, problems: Sequence[importer.Problem], listed: int | None = None) -> None:
        super().__init__(
            _("导入失败：发现%(n)d处错误，没有导入任何题目。", n=len(problems)), {"file": str(problems[0])}
        )
        self.problems = list(problems[:listed] if listed is not None else problems)
        if len(self.problems) < len(problems):
            more = len(problems) - len(self.problems)
            self.problems.append(importer.Problem(None, None, _("另有%(n)d处错误未列出，请先改正以上错误。", n=more)))


class QuestionOwnedElsewhereError(ForbiddenError):
    """A provider tried to change a question another organisation (or the authority) owns."""


# --- ownership (decision 0002) ---------------------------------------------------------------------------------


class Caller(TypedDict):
    """Who asks for a change, as plain values: `**caller` fills the services' keyword arguments."""

    role: Role
    organisation_id: int | None


def can_manage(question: Question, *, role: Role, organisation_id: int | None) -> bool:
    """Whether the caller may edit the question, change its status or its image: administrators every question,
    providers only those their own organisation created or imported."""
    if role == Role.ADMIN:
        return True
    return role == Role.PROVIDER and organisation_id is not None and question.organisation_id == organisation_id


def check_can_manage(question: Question, *, role: Role, organisation_id: int | None) -> None:
    """Refuse (403) a change to a question the caller may only look at."""
    if not can_manage(question, role=role, organisation_id=organisation_id):
        raise QuestionOwnedElsewhereError(_("这道题由其他单位录入，您只能查看，不能修改。"))


def owner_for(role: Role, organisation_id: int | None) -> int | None:
    """The owner of what the caller adds: its provider organisation; None (the authority) for administrators."""
    return None if role == Role.ADMIN else organisation_id


def _check_owner(organisation_id: int | None) -> None:
    if organisation_id is None:
        return
    org = db.session.get(Organisation, organisation_id)
    if org is None or org.kind != OrgKind.TRAINING_PROVIDER:
        raise DomainError.on_field(_("题目只能归属于培训机构（编号%(id)d不是培训机构）。", id=organisation_id), "file")


# --- items and questions ---------------------------------------------------------------------------------------


def item_label(item: Item) -> str:
    """‘1.2 低压电工作业’."""
    return f"{item.code} {item.name}"


def count_questions() -> dict[int, dict[QuestionStatus, int]]:
    """Item id → status → number of questions."""
    rows = db.session.execute(
        sa.select(Question.item_id, Question.status, sa.func.count(Question.id)).group_by(
            Question.item_id, Question.status
        )
    )
    counts: dict[int, dict[QuestionStatus, int]] = {}
    for item_id, status, number in rows:
        counts.setdefault(item_id, {})[status] = number
    return counts


def list_questions(
    *,
    item_id: int,
    kind: QuestionKind | None = None,
    status: QuestionStatus | None = None,
    knowledge_point: str = "",
    search: str = "",
) -> list[Question]:
    """An item's questions (with their owners), filtered, in the order they were added."""
    query = sa.select(Question).where(Question.item_id == item_id).options(selectinload(Question.organisation))
    if kind is not None:
        query = query.where(Question.kind == kind)
    if status is not None:
        query = query.where(Question.status == status)
    if knowledge_point:
        query = query.where(Question.knowledge_point == knowledge_point)
    if search.strip():
        query = query.where(Question.stem.contains(search.strip(), autoescape=True))
    return list(db.session.execute(query.order_by(Question.id)).scalars())


def knowledge_points(item_id: int) -> list[str]:
    """The distinct knowledge points of an item's questions."""
    query = sa.select(Question.knowledge_point).where(Question.item_id == item_id, Question.knowledge_point != "")
    return sorted(set(db.session.execute(query.distinct()).scalars()))


def get_question(question_id: int) -> Question:
    """A question by id, or NotFoundError."""
    question = db.session.get(Question, question_id)
    if question is None:
        raise NotFoundError(_("题目不存在。"))
    return question


def _existing_hashes(item_id: int) -> dict[str, int]:
    rows = db.session.execute(sa.select(Question.content_hash, Question.id).where(Question.item_id == item_id))
    return {digest: question_id for digest, question_id in rows}


def import_questions(*, item_id: int, filename: str, data: bytes, organisation_id: int | None = None) -> list[Question]:
    """Check the whole file, then add every question or none; raise QuestionImportError listing all problems.

    The new questions belong to `organisation_id` (the importing provider), or to the authority when None.
    """
    item = get_item(item_id)
    _check_owner(organisation_id)
    listed = current_app.config["QUESTION_IMPORT_MAX_LISTED_PROBLEMS"]
    try:
        rows = importer.read_file(filename, data)
    except importer.FileProblemsError as exc:
        raise QuestionImportError(exc.problems, listed) from None
    good, problems = importer.check_rows(rows)
    existing = _existing_hashes(item.id)
    for row, question_data in good:
        if question_data.content_hash in existing:
            problems.append(
                importer.Problem(
                    row.number, None, _("题库中已有相同的题目（编号%(id)d）。", id=existing[question_data.content_hash])
                )
            )
    if problems:
        raise QuestionImportError(sorted(problems, key=lambda p: (p.row or 0, p.column or "")), listed)
    questions = [_new_question(item.id, question_data, organisation_id) for _row, question_data in good]
    db.session.add_all(questions)
    flush_unique(_("题库中已有相同的题目。"), "file")
    record_event(
        "questions.imported",
        object_type="catalogue_item",
        object_id=item.id,
        details={"file": filename[:200], "count": len(questions), "organisation": organisation_id},
    )
    return questions


def _new_question(item_id: int, data: importer.QuestionData, organisation_id: int | None) -> Question:
    return Question(
        item_id=item_id,
        organisation_id=organisation_id,
        kind=data.kind,
        stem=data.stem,
        options=json.dumps(list(data.options), ensure_ascii=False),
        answer=data.answer,
        knowledge_point=data.knowledge_point,
        difficulty=data.difficulty,
        explanation=data.explanation,
        status=data.status,
        content_hash=data.content_hash,
    )


def export_questions(*, item_id: int, file_format: str) -> tuple[str, bytes]:
    """The item's questions as (file name, bytes) in the import format; file_format is "csv" or "xlsx"."""
    item = get_item(item_id)
    rows = importer.export_rows(list_questions(item_id=item.id))
    stamp = utcnow().strftime("%Y%m%d")
    if file_format == "xlsx":
        return f"questions-{item.code}-{stamp}.xlsx", importer.write_xlsx(rows)
    if file_format == "csv":
        return f"questions-{item.code}-{stamp}.csv", importer.write_csv(rows)
    raise DomainError(_("导出格式只能是CSV或XLSX。"), {"format": _("导出格式只能是CSV或XLSX。")})


def question_template(file_format: str) -> tuple[str, bytes]:
    """An import template as (file name, bytes): the header and two example rows; file_format is "csv" or "xlsx"."""
    rows = importer.template_rows()
    if file_format == "xlsx":
        return "question-template.xlsx", importer.write_xlsx(rows)
    if file_format == "csv":
        return "question-template.csv", importer.write_csv(rows)
    raise DomainError(_("导出格式只能是CSV或XLSX。"), {"format": _("导出格式只能是CSV或XLSX。")})


def _has_answers(question_id: int) -> bool:
    query = sa.select(PaperAnswer.id).where(PaperAnswer.question_id == question_id).limit(1)
    return db.session.execute(query).first() is not None


def save_question(
    *, question: Question | None, item_id: int, values: Mapping[str, str], role: Role, organisation_id: int | None
) -> Question:
    """Create or edit a question from raw texts (keys as in the file format); the rules are the import's.

    A new question belongs to the caller's organisation (an administrator's to the authority); an existing one may
    only be changed by those `can_manage` admits.
    """
    if question is not None:
        check_can_manage(question, role=role, organisation_id=organisation_id)
    item = get_item(item_id)
    data, errors = importer.check_question(values)
    if data is None:
        raise DomainError(_("题目有误，请修改后重新提交。"), errors)
    existing = _existing_hashes(item.id)
    other = existing.get(data.content_hash)
    if other is not None and (question is None or other != question.id):
        raise DomainError(_("题库中已有相同的题目。"), {"stem": _("题库中已有相同的题目（编号%(id)d）。", id=other)})
    if question is None:
        question = _new_question(item.id, data, owner_for(role, organisation_id))
        db.session.add(question)
        action = "question.created"
    else:
        changes_key = (data.kind, list(data.options), data.answer) != (
            question.kind,
            question.option_list,
            question.answer,
        )
        if changes_key and _has_answers(question.id):
            message = _("该题已有考生作答记录，不能修改题型、选项或答案；请停用此题后新建。")
            raise DomainError(message, {"answer": message})
        if question.status != data.status:
            _check_transition(question.status, data.status)
        question.kind, question.stem, question.answer = data.kind, data.stem, data.answer
        question.options = json.dumps(list(data.options), ensure_ascii=False)
        question.knowledge_point, question.difficulty = data.knowledge_point, data.difficulty
        question.explanation, question.status, question.content_hash = data.explanation, data.status, data.content_hash
        action = "question.updated"
    flush_unique(_("题库中已有相同的题目。"), "stem")
    record_event(
        action,
        object_type="question",
        object_id=question.id,
        details={"item": item.code, "organisation": question.organisation_id},
    )
    return question


def _check_transition(old: QuestionStatus, new: QuestionStatus) -> None:
    if new not in STATUS_TRANSITIONS[old]:
        message = _("题目状态不能从“%(old)s”改为“%(new)s”。", old=old.label, new=new.label)
        raise DomainError(message, {"status": message})


def change_status(*, question: Question, status: QuestionStatus, role: Role, organisation_id: int | None) -> Question:
    """Move a question to another status along the allowed transitions (if the caller may manage it)."""
    check_can_manage(question, role=role, organisation_id=organisation_id)
    if question.status == status:
        return question
    _check_transition(question.status, status)
    old = question.status
    question.status = status
    db.session.flush()
    record_event(
        "question.status_changed",
        object_type="question",
        object_id=question.id,
        details={"from": old.value, "to": status.value},
    )
    return question


# --- question images -------------------------------------------------------------------------------------------


def set_question_image(*, question: Question, data: bytes, role: Role, organisation_id: int | None) -> str | None:
    """Attach (or replace) the question's image from an uploaded JPEG/PNG; return the replaced file's key.

    The upload is sniffed and decoded under the photo limits, shrunk to IMAGE_MAX_SIDE and stored as a fresh JPEG.
    The replaced file stays on disk until the caller has committed and calls `discard_image_file`.
    """
    check_can_manage(question, role=role, organisation_id=organisation_id)
    config = current_app.config
    try:
        decoded = decode_image(data, max_bytes=config["PHOTO_MAX_BYTES"], max_pixels=config["PHOTO_MAX_PIXELS"])
    except ImageRejectedError as exc:
        raise DomainError(exc.message, {"image": exc.message}) from None
    image = Image.fromarray(decoded.rgb, mode="RGB")
    image.thumbnail((IMAGE_MAX_SIDE, IMAGE_MAX_SIDE), Image.Resampling.LANCZOS)
    key = IMAGES.save(encode_jpeg(np.asarray(image, dtype=np.uint8)))
    old = question.image_key
    question.image_key = key
    db.session.flush()
    record_event(
        "question.image_set",
        object_type="question",
        object_id=question.id,
        details={"width": image.width, "height": image.height, "replaced": old is not None},
    )
    return old


def remove_question_image(*, question: Question, role: Role, organisation_id: int | None) -> str | None:
    """Detach the question's image; return its key so the caller removes the file after committing."""
    check_can_manage(question, role=role, organisation_id=organisation_id)
    old = question.image_key
    if old is None:
        return None
    question.image_key = None
    db.session.flush()
    record_event("question.image_removed", object_type="question", object_id=question.id)
    return old


def discard_image_file(key: str | None) -> None:
    """Remove a question image file no longer referenced (after the commit that dropped its reference)."""
    if key is not None:
        IMAGES.delete(key)


def question_image(question: Question) -> bytes:
    """The JPEG bytes of the question's image, or NotFoundError when it has none (or its file is gone)."""
    if question.image_key is None:
        raise NotFoundError(_("该题没有图片。"))
    try:
        return IMAGES.load(question.image_key)
    except FileNotFoundError:
        raise NotFoundError(_("该题没有图片。")) from None


# --- blueprints ------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RowSpec:
    """One blueprint row: `count` questions of `kind` (and knowledge point, "" for any), `points` each."""

    kind: QuestionKind
    count: int
    points: int = 1
    knowledge_point: str = ""


@dataclasses.dataclass(frozen=True)
class BlueprintSpec:
    """The paper make-up in force for an item."""

    rows: tuple[RowSpec, ...]
    duration_minutes: int
    pass_mark: int
    stored: bool

    @property
    def total_points(self) -> int:
        """Points of a full paper."""
        return sum(row.count * row.points for row in self.rows)

    def count(self, kind: QuestionKind) -> int:
        """Questions of one kind on a paper."""
        return sum(row.count for row in self.rows if row.kind == kind)


def default_blueprint(item: Item) -> BlueprintSpec:
    """The catalogue item's counts, one point each, its duration and pass mark (usually 70 + 30, 120 min, 80)."""
    counts = {
        QuestionKind.TRUE_FALSE: item.theory_true_false,
        QuestionKind.SINGLE: item.theory_single,
        QuestionKind.MULTIPLE: item.theory_multiple,
    }
    rows = tuple(RowSpec(kind=kind, count=n) for kind, n in counts.items() if n > 0)
    return BlueprintSpec(rows=rows, duration_minutes=item.theory_minutes, pass_mark=item.theory_pass, stored=False)


def effective_blueprint(item: Item) -> BlueprintSpec:
    """The item's stored blueprint, or the default from the catalogue."""
    stored = db.session.execute(sa.select(Blueprint).where(Blueprint.item_id == item.id)).scalar_one_or_none()
    if stored is None:
        return default_blueprint(item)
    rows = tuple(
        RowSpec(kind=r.kind, count=r.count, points=r.points, knowledge_point=r.knowledge_point) for r in stored.rows
    )
    return BlueprintSpec(rows=rows, duration_minutes=stored.duration_minutes, pass_mark=stored.pass_mark, stored=True)


def save_blueprint(*, item_id: int, rows: Sequence[RowSpec], duration_minutes: int, pass_mark: int) -> Blueprint:
    """Store an item's blueprint after checking counts, points, duration and pass mark."""
    item = get_item(item_id)
    errors: dict[str, str] = {}
    kept = [row for row in rows if row.count > 0]
    seen: set[tuple[QuestionKind, str]] = set()
    for row in kept:
        key = (row.kind, row.knowledge_point.strip())
        if key in seen:
            errors["rows"] = _("同一题型和知识点只能设置一行。")
        seen.add(key)
        if row.points < 1 or row.points > 100:
            errors["rows"] = _("每题分值应在1至100之间。")
        if row.count > 500:
            errors["rows"] = _("每行题数不能超过500。")
        if len(row.knowledge_point.strip()) > importer.MAX_KNOWLEDGE_POINT:
            errors["rows"] = _("知识点不能超过%(n)d个字。", n=importer.MAX_KNOWLEDGE_POINT)
    if not kept:
        errors["rows"] = _("试卷至少需要一道题。")
    if not 10 <= duration_minutes <= 600:
        errors["duration_minutes"] = _("考试时长应在10至600分钟之间。")
    total = sum(row.count * row.points for row in kept)
    if not 1 <= pass_mark <= max(total, 1):
        errors["pass_mark"] = _("合格分应在1至试卷总分（%(total)d分）之间。", total=total)
    if errors:
        raise DomainError(_("组卷规则有误，请修改后重新提交。"), errors)
    blueprint = db.session.execute(sa.select(Blueprint).where(Blueprint.item_id == item.id)).scalar_one_or_none()
    if blueprint is None:
        blueprint = Blueprint(item_id=item.id, duration_minutes=duration_minutes, pass_mark=pass_mark)
        db.session.add(blueprint)
    blueprint.duration_minutes, blueprint.pass_mark = duration_minutes, pass_mark
    blueprint.rows.clear()
    db.session.flush()
    for position, row in enumerate(kept):
        blueprint.rows.append(
            BlueprintRow(
                position=position,
                kind=row.kind,
                knowledge_point=row.knowledge_point.strip(),
                count=row.count,
                points=row.points,
            )
        )
    db.session.flush()
    record_event(
        "blueprint.saved",
        object_type="catalogue_item",
        object_id=item.id,
        details={
            "rows": [[r.kind.value, r.knowledge_point, r.count, r.points] for r in kept],
            "duration": duration_minutes,
            "pass_mark": pass_mark,
        },
    )
    return blueprint


# --- statistics ------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class QuestionStatistics:
    """Classical item analysis of one question: facility (share correct) and discrimination (upper − lower)."""

    question: Question
    answered: int
    facility: float
    discrimination: float | None
    flags: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        """Whether the question should be checked."""
        return bool(self.flags)


def item_statistics(item_id: int) -> list[QuestionStatistics]:
    """Facility and discrimination (upper vs lower 27% of papers by score) of every answered question of an item."""
    item = get_item(item_id)
    config = current_app.config
    facility_min = float(config.get("QUESTION_FACILITY_MIN", FACILITY_MIN))
    facility_max = float(config.get("QUESTION_FACILITY_MAX", FACILITY_MAX))
    discrimination_min = float(config.get("QUESTION_DISCRIMINATION_MIN", DISCRIMINATION_MIN))
    rows = db.session.execute(
        sa.select(PaperAnswer.paper_id, PaperAnswer.question_id, PaperAnswer.correct, PaperAnswer.points)
        .join(Paper, Paper.id == PaperAnswer.paper_id)
        .where(Paper.item_id == item.id)
    ).all()
    scores: dict[int, int] = {}
    results: dict[int, dict[int, bool]] = {}
    for paper_id, question_id, correct, points in rows:
        scores[paper_id] = scores.get(paper_id, 0) + points
        results.setdefault(question_id, {})[paper_id] = correct
    ranked = sorted(scores, key=lambda p: (-scores[p], p))
    group = max(1, round(len(ranked) * GROUP_SHARE)) if len(ranked) >= 2 else 0
    upper, lower = set(ranked[:group]), set(ranked[len(ranked) - group :][:group])
    questions = {q.id: q for q in db.session.execute(sa.select(Question).where(Question.id.in_(results))).scalars()}
    report: list[QuestionStatistics] = []
    for question_id in sorted(results):
        by_paper = results[question_id]
        facility = sum(by_paper.values()) / len(by_paper)
        discrimination = _share(by_paper, upper) - _share(by_paper, lower) if group else None
        if discrimination is not None and (not upper & by_paper.keys() or not lower & by_paper.keys()):
            discrimination = None
        flags: list[str] = []
        if facility < facility_min:
            flags.append(_("过难（通过率%(value).2f）", value=facility))
        if facility > facility_max:
            flags.append(_("过易（通过率%(value).2f）", value=facility))
        if discrimination is not None and discrimination < discrimination_min:
            flags.append(_("区分度低（%(value).2f）", value=discrimination))
        report.append(QuestionStatistics(questions[question_id], len(by_paper), facility, discrimination, tuple(flags)))
    return report


def _share(by_paper: Mapping[int, bool], group: set[int]) -> float:
    members = [by_paper[p] for p in group if p in by_paper]
    return sum(members) / len(members) if members else 0.0
