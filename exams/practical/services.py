"""Practical scoring rules: examiners per session, the random draw, double blind marking, the third examiner,
veto items, sign-off locks, the own-employer refusal, and agreement between examiners (Cohen's kappa)."""

from __future__ import annotations

import dataclasses
import decimal
import random
import secrets
from collections.abc import Collection, Mapping

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from exams.practical.models import (
    ExaminerAssignment,
    Mark,
    MarkerRole,
    Marking,
    PracticalTask,
    ScoreSheet,
    SheetStatus,
    Subject,
    TaskDraw,
)
from exams.results.services import ResultError, record_part_result
from exams.sessions.eligibility import current_commitment
from exams.sessions.models import Booking, BookingStatus, ExamPart, ExamSession
from opcert.access import Role
from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.db import flush_unique, utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.notifications.kinds import register_kinds
from opcert.notifications.services import notify

TENTH = decimal.Decimal("0.1")
THIRD_CALLED_KIND = "practical_third_called"
register_kinds({THIRD_CALLED_KIND: _l("请第三位考评员评分")})


class PracticalError(DomainError):
    """A practical-exam action the rules refuse; `reason` is its code in the audit log."""

    reason = "refused"


@dataclasses.dataclass(frozen=True)
class SubjectMark:
    """One marking's result in one subject: percent of the task's points, and whether a veto line was hit."""

    subject: Subject
    percent: decimal.Decimal
    vetoed: bool


@dataclasses.dataclass(frozen=True)
class Agreement:
    """Agreement of one examiner with the others marking the same candidates (pass/fail per subject)."""

    examiner: User
    pairs: int
    agreed: int
    kappa: float | None


def _refuse(message: str, *, reason: str, field: str = "", reasons: Mapping[str, str] | None = None) -> PracticalError:
    error = PracticalError(message, reasons or {field: message})
    error.reason = reason
    return error


def record_refusal(*, examiner: User, sheet_id: int, error: PracticalError) -> None:
    """Log a refused marking; the boundary rolls the refused work back first and commits only this row."""
    record_event(
        "practical.refused",
        object_type="practical_sheet",
        object_id=sheet_id,
        details={"reason": error.reason, "examiner": examiner.id},
    )


# --- examiners and the draw --------------------------------------------------------------------------


def practical_session(session: ExamSession) -> ExamSession:
    """The session, refused unless it holds a practical exam."""
    if session.part is not ExamPart.PRACTICAL:
        raise PracticalError.on_field(_("该场次不是实际操作考试场次。"), "session_id")
    return session


def assignments(*, session_id: int) -> list[ExaminerAssignment]:
    """The examiners assigned to a session."""
    query = sa.select(ExaminerAssignment).where(ExaminerAssignment.session_id == session_id)
    return list(db.session.execute(query.order_by(ExaminerAssignment.id)).scalars())


def examiner_choices() -> list[User]:
    """Active examiners who can be assigned."""
    query = sa.select(User).where(User.role == Role.EXAMINER, User.is_active.is_(True)).order_by(User.real_name)
    return list(db.session.execute(query).scalars())


def assign_examiner(*, session: ExamSession, examiner_id: int, by: User) -> ExaminerAssignment:
    """Assign an examiner to a practical session; sheets waiting for a third examiner are offered to them."""
    practical_session(session)
    examiner = db.session.get(User, examiner_id)
    if examiner is None or examiner.role is not Role.EXAMINER or not examiner.is_active:
        raise PracticalError.on_field(_("请选择在职的考评员。"), "examiner_id")
    row = ExaminerAssignment(session_id=session.id, examiner_id=examiner.id, assigned_by_id=by.id)
    db.session.add(row)
    flush_unique(_("该考评员已在本场次中。"), "examiner_id", error=PracticalError)
    record_event(
        "practical.examiner_assigned",
        object_type="exam_session",
        object_id=session.id,
        details={"examiner": examiner.id},
    )
    waiting = db.session.execute(
        sa.select(ScoreSheet).where(ScoreSheet.session_id == session.id, ScoreSheet.status == SheetStatus.THIRD_CALLED)
    ).scalars()
    for sheet in waiting:
        if not any(m.role is MarkerRole.THIRD for m in sheet.markings):
            _call_third(sheet)
    return row


def draw_tasks(*, session: ExamSession) -> list[ScoreSheet]:
    """Draw one active task per subject for every seated candidate without a sheet yet; the seed is recorded."""
    practical_session(session)
    bookings = db.session.execute(
        sa.select(Booking)
        .where(Booking.session_id == session.id, Booking.status == BookingStatus.CONFIRMED)
        .order_by(Booking.seat)
    ).scalars()
    have = set(
        db.session.execute(sa.select(ScoreSheet.candidate_id).where(ScoreSheet.session_id == session.id)).scalars()
    )
    made: list[ScoreSheet] = []
    banks: dict[int, dict[Subject, list[PracticalTask]]] = {}
    for booking in bookings:
        if booking.trainee_id in have:
            continue
        bank = banks.get(booking.item_id) or banks.setdefault(booking.item_id, task_bank(item_id=booking.item_id))
        missing = [s.value for s in Subject if not bank.get(s)]
        if missing:
            raise PracticalError.on_field(
                _("“%(item)s”的实操题库缺少科目：%(subjects)s。", item=booking.item.name, subjects="、".join(missing)),
                "session_id",
            )
        seed = secrets.token_hex(16)
        rng = random.Random(seed)  # noqa: S311 (the draw must be reproducible from its recorded seed)
        sheet = ScoreSheet(
            session_id=session.id, candidate_id=booking.trainee_id, item_id=booking.item_id, draw_seed=seed
        )
        sheet.draws = [TaskDraw(subject=s, task_id=rng.choice(bank[s]).id) for s in Subject]
        db.session.add(sheet)
        made.append(sheet)
    flush_unique(_("考题已抽取，请刷新页面。"), "session_id", error=PracticalError)
    for sheet in made:
        record_event(
            "practical.tasks_drawn",
            object_type="practical_sheet",
            object_id=sheet.id,
            details={
                "candidate": sheet.candidate_id,
                "seed": sheet.draw_seed,
                "tasks": [d.task_id for d in sheet.draws],
            },
        )
    return made


def task_bank(*, item_id: int) -> dict[Subject, list[PracticalTask]]:
    """The item's active tasks by subject, in a stable order."""
    query = (
        sa.select(PracticalTask)
        .where(PracticalTask.item_id == item_id, PracticalTask.is_active.is_(True))
        .order_by(PracticalTask.id)
    )
    bank: dict[Subject, list[PracticalTask]] = {s: [] for s in Subject}
    for task in db.session.execute(query).scalars():
        bank[task.subject].append(task)
    return bank


def session_sheets(*, session_id: int) -> list[ScoreSheet]:
    """The sheets of a session."""
    query = sa.select(ScoreSheet).where(ScoreSheet.session_id == session_id).order_by(ScoreSheet.id)
    return list(db.session.execute(query).scalars())


def examiner_sessions(*, examiner: User) -> list[ExamSession]:
    """The sessions an examiner is assigned to, soonest first."""
    query = (
        sa.select(ExamSession)
        .join(ExaminerAssignment, ExaminerAssignment.session_id == ExamSession.id)
        .where(ExaminerAssignment.examiner_id == examiner.id)
        .order_by(ExamSession.starts_at)
    )
    return list(db.session.execute(query).scalars())


def assigned_session(*, examiner: User, session_id: int) -> ExamSession:
    """A session the examiner is assigned to (else not found)."""
    for session in examiner_sessions(examiner=examiner):
        if session.id == session_id:
            return session
    raise NotFoundError(_("考试场次不存在。"))


# --- marking -------------------------------------------------------------------------------------------


def _normal(name: str) -> str:
    return "".join(name.split()).replace("（", "(").replace("）", ")").casefold()


def employer_conflict(examiner: User, candidate: User) -> bool:
    """Whether the candidate declared the examiner's own organisation as their employer."""
    commitment = current_commitment(candidate)
    employer = _normal(commitment.employer) if commitment is not None else ""
    return bool(employer) and examiner.organisation is not None and employer == _normal(examiner.organisation.name)


def _is_assigned(examiner_id: int, session_id: int) -> bool:
    query = sa.select(ExaminerAssignment.id).where(
        ExaminerAssignment.session_id == session_id, ExaminerAssignment.examiner_id == examiner_id
    )
    return db.session.execute(query).first() is not None


def sheet_for_examiner(*, examiner: User, sheet_id: int, lock: bool = False) -> tuple[ScoreSheet, Marking | None]:
    """A sheet the examiner may mark, with their marking if they have one; refused when the examiner is not
    assigned to the session, works for the candidate's employer, or two others already mark it.

    With `lock` the sheet row is locked for the transaction and read afresh: two examiners signing at the same
    moment are serialised, so the second sees the first's signature and the sheet is decided (or a third called).
    """
    query = sa.select(ScoreSheet).where(ScoreSheet.id == sheet_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    sheet = db.session.execute(query).scalar_one_or_none()
    if sheet is not None and lock:
        db.session.refresh(sheet, attribute_names=["markings"])
    if sheet is None or not _is_assigned(examiner.id, sheet.session_id):
        raise _refuse(_("您未被安排在该考生的场次评分。"), reason="not_assigned")
    if employer_conflict(examiner, sheet.candidate):
        raise _refuse(_("该考生的工作单位是您所在单位，须回避，不能为其评分。"), reason="own_employer")
    own = next((m for m in sheet.markings if m.examiner_id == examiner.id), None)
    if own is None and (sheet.status is not SheetStatus.SCORING or len(sheet.markings) >= 2):
        raise _refuse(_("该考生已由其他考评员评分。"), reason="already_marked")
    return sheet, own


def marking_for(*, examiner: User, sheet_id: int) -> Marking:
    """The examiner's marking of a sheet, taking the first or second place when it has none (see sheet_for_examiner)."""
    sheet, own = sheet_for_examiner(examiner=examiner, sheet_id=sheet_id, lock=True)
    if own is not None:
        return own
    taken = {m.role for m in sheet.markings}
    role = MarkerRole.FIRST if MarkerRole.FIRST not in taken else MarkerRole.SECOND
    marking = Marking(examiner_id=examiner.id, role=role)
    sheet.markings.append(marking)
    flush_unique(_("另一位考评员刚刚开始为该考生评分，请刷新页面。"), error=PracticalError)
    return marking


def subject_marks(marking: Marking) -> list[SubjectMark]:
    """A marking's percent and veto per subject (lines without a mark count 0)."""
    by_line = {mark.line_id: mark for mark in marking.marks}
    found: list[SubjectMark] = []
    for draw in marking.sheet.draws:
        task = draw.task
        got = sum(by_line[line.id].points for line in task.lines if not line.is_veto and line.id in by_line)
        vetoed = any(by_line[line.id].vetoed for line in task.lines if line.is_veto and line.id in by_line)
        percent = (decimal.Decimal(got * 100) / task.max_points) if task.max_points else decimal.Decimal(0)
        found.append(SubjectMark(draw.subject, percent.quantize(TENTH, rounding=decimal.ROUND_HALF_UP), vetoed))
    return found


def marking_total(marking: Marking) -> decimal.Decimal:
    """The weighted total (0–100) of a marking; a vetoed subject counts 0."""
    item = marking.sheet.item
    total = sum(
        (
            decimal.Decimal(0) if sm.vetoed else sm.percent * sm.subject.weight(item) / 100
            for sm in subject_marks(marking)
        ),
        decimal.Decimal(0),
    )
    return total.quantize(TENTH, rounding=decimal.ROUND_HALF_UP)


def save_marking(
    *,
    examiner: User,
    sheet_id: int,
    points: Mapping[int, int | None],
    vetoes: Collection[int],
    sign: bool,
) -> Marking:
    """Save the examiner's marks (every point within its line's range); signing locks them and may decide."""
    marking = marking_for(examiner=examiner, sheet_id=sheet_id)
    if marking.signed_at is not None:
        raise _refuse(_("评分已签字确认，不能再修改。"), reason="locked")
    lines = {line.id: line for draw in marking.sheet.draws for line in draw.task.lines}
    unknown = (set(points) | set(vetoes)) - set(lines)
    if unknown:
        raise _refuse(_("评分项不属于该考生的考题。"), reason="unknown_line")
    reasons: dict[str, str] = {}
    for line_id, value in points.items():
        line = lines[line_id]
        if line.is_veto:
            continue
        if value is None:
            if sign:
                reasons[f"line_{line_id}"] = _("签字确认前须为每一评分项打分。")
        elif not 0 <= value <= line.max_points:
            reasons[f"line_{line_id}"] = _("分数须在0至%(max)d分之间。", max=line.max_points)
    missing = [i for i, line in lines.items() if not line.is_veto and i not in points]
    if sign and missing:
        reasons.update({f"line_{i}": _("签字确认前须为每一评分项打分。") for i in missing})
    if reasons:
        raise _refuse(next(iter(reasons.values())), reason="out_of_range", reasons=reasons)
    existing = {mark.line_id: mark for mark in marking.marks}
    for line_id, line in lines.items():
        mark = existing.get(line_id) or Mark(line_id=line_id)
        if mark.id is None:
            marking.marks.append(mark)
        mark.points = 0 if line.is_veto else int(points.get(line_id) or 0)
        mark.vetoed = line.is_veto and line_id in vetoes
    db.session.flush()
    marking.total = marking_total(marking)
    if sign:
        marking.signed_at = utcnow()
        record_event(
            "practical.marking_signed",
            object_type="practical_sheet",
            object_id=sheet_id,
            details={"role": marking.role.value, "total": str(marking.total)},
        )
        _after_signing(marking.sheet)
    db.session.flush()
    return marking


def _disagree(a: Marking, b: Marking) -> bool:
    margin = decimal.Decimal(str(current_app.config["PRACTICAL_MARGIN"]))
    if a.total is None or b.total is None:  # signed markings always carry their total
        return True
    vetoes_a = [sm.vetoed for sm in subject_marks(a)]
    vetoes_b = [sm.vetoed for sm in subject_marks(b)]
    return abs(a.total - b.total) > margin or vetoes_a != vetoes_b


def _after_signing(sheet: ScoreSheet) -> None:
    signed = [m for m in sheet.markings if m.signed_at is not None]
    if sheet.status is SheetStatus.SCORING and len(signed) == 2:
        if _disagree(*signed):
            sheet.status = SheetStatus.THIRD_CALLED
            _call_third(sheet)
        else:
            _decide(sheet, signed)
    elif sheet.status is SheetStatus.THIRD_CALLED and len(signed) == 3:
        _decide(sheet, signed)


def _call_third(sheet: ScoreSheet) -> Marking | None:
    """Give the sheet to the assigned examiner with the fewest markings who has none on it and no conflict."""
    busy = {m.examiner_id for m in sheet.markings}
    counts = db.session.execute(
        sa.select(Marking.examiner_id, sa.func.count())
        .join(ScoreSheet, ScoreSheet.id == Marking.sheet_id)
        .where(ScoreSheet.session_id == sheet.session_id)
        .group_by(Marking.examiner_id)
    )
    load = {int(examiner_id): int(count) for examiner_id, count in counts}
    free = [
        a.examiner
        for a in assignments(session_id=sheet.session_id)
        if a.examiner_id not in busy and a.examiner.is_active and not employer_conflict(a.examiner, sheet.candidate)
    ]
    if not free:
        record_event("practical.third_missing", object_type="practical_sheet", object_id=sheet.id)
        return None
    examiner = min(free, key=lambda user: (load.get(user.id, 0), user.id))
    marking = Marking(examiner_id=examiner.id, role=MarkerRole.THIRD)
    sheet.markings.append(marking)
    db.session.flush()
    record_event(
        "practical.third_called", object_type="practical_sheet", object_id=sheet.id, details={"examiner": examiner.id}
    )
    notify(
        user_id=examiner.id,
        kind=THIRD_CALLED_KIND,
        subject=_("请为考生进行第三评分"),
        body=_(
            "两位考评员对%(candidate)s的实际操作评分相差超过规定分差，请您进行第三评分（场次%(session)d）。",
            candidate=sheet.candidate.real_name,
            session=sheet.session_id,
        ),
    )
    return marking


def _decide(sheet: ScoreSheet, signed: list[Marking]) -> None:
    """The final score: the mean of the two (or of the two closest of three); a veto by the majority fails."""
    totals = sorted(m.total or decimal.Decimal(0) for m in signed)
    if len(totals) == 3:
        pair = min(((totals[0], totals[1]), (totals[1], totals[2])), key=lambda p: (p[1] - p[0], -p[1]))
    else:
        pair = (totals[0], totals[1])
    score = ((pair[0] + pair[1]) / 2).quantize(TENTH, rounding=decimal.ROUND_HALF_UP)
    per_marking = [subject_marks(m) for m in signed]
    vetoed = any(sum(marks[i].vetoed for marks in per_marking) * 2 > len(signed) for i in range(len(Subject)))
    sheet.status = SheetStatus.DECIDED
    sheet.score = score
    sheet.vetoed = vetoed
    sheet.decided_at = utcnow()
    db.session.flush()
    record_event(
        "practical.decided",
        object_type="practical_sheet",
        object_id=sheet.id,
        details={"score": str(score), "vetoed": vetoed, "candidate": sheet.candidate_id},
    )
    try:
        record_part_result(
            person_id=sheet.candidate_id,
            item_id=sheet.item_id,
            part=ExamPart.PRACTICAL,
            score=score,
            session_id=sheet.session_id,
            vetoed=vetoed,
            decided_at=sheet.decided_at,
        )
    except ResultError as exc:
        # A practical refusal: the boundary rolls the signature back and audits it (practical.refused).
        raise _refuse(_("该考生的实操成绩无法记录：%(reason)s", reason=exc.message), reason="result_refused") from exc


def visible_markings(*, viewer: Marking) -> list[Marking]:
    """The other markings of the sheet the viewer may see: all when not blind; when blind, only once the viewer's
    own and every other existing marking are signed."""
    others = [m for m in viewer.sheet.markings if m.id != viewer.id]
    if not current_app.config["PRACTICAL_BLIND"]:
        return others
    if viewer.signed_at is None or any(m.signed_at is None for m in others):
        return []
    return others


# --- agreement -----------------------------------------------------------------------------------------


def cohen_kappa(pairs: list[tuple[bool, bool]]) -> float | None:
    """Cohen's kappa of two raters' pass/fail decisions; None when it is undefined (no pairs, or chance = 1)."""
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    a_yes = sum(a for a, _ in pairs) / n
    b_yes = sum(b for _, b in pairs) / n
    chance = a_yes * b_yes + (1 - a_yes) * (1 - b_yes)
    if chance == 1:
        return None
    return (observed - chance) / (1 - chance)


def _subject_passes(marking: Marking) -> list[bool]:
    share = decimal.Decimal(str(current_app.config["PRACTICAL_SUBJECT_PASS"]))
    return [not sm.vetoed and sm.percent >= share for sm in subject_marks(marking)]


def agreement_for(*, viewer: User) -> list[Agreement]:
    """The agreement report a manager may see: administrators every centre's, centre staff their own centre's."""
    if viewer.role is Role.ADMIN:
        return agreement()
    if viewer.role is not Role.CENTRE_STAFF or viewer.organisation_id is None:
        return []
    return agreement(centre_id=viewer.organisation_id)


def agreement(*, centre_id: int | None = None) -> list[Agreement]:
    """Per examiner: kappa of their subject pass/fail against every other signed marking of the same candidates."""
    query = sa.select(Marking).where(Marking.signed_at.is_not(None))
    if centre_id is not None:
        query = query.join(ScoreSheet).join(ExamSession).where(ExamSession.centre_id == centre_id)
    by_sheet: dict[int, list[Marking]] = {}
    for marking in db.session.execute(query.order_by(Marking.id)).scalars():
        by_sheet.setdefault(marking.sheet_id, []).append(marking)
    pairs: dict[int, list[tuple[bool, bool]]] = {}
    examiners: dict[int, User] = {}
    for markings in by_sheet.values():
        passes = {m.id: _subject_passes(m) for m in markings}
        for mine in markings:
            examiners[mine.examiner_id] = mine.examiner
            for other in markings:
                if other.id != mine.id:
                    pairs.setdefault(mine.examiner_id, []).extend(zip(passes[mine.id], passes[other.id], strict=True))
    return [
        Agreement(
            examiner=examiners[examiner_id],
            pairs=len(found),
            agreed=sum(a == b for a, b in found),
            kappa=cohen_kappa(found),
        )
        for examiner_id, found in sorted(pairs.items(), key=lambda kv: examiners[kv[0]].real_name)
    ]
