"""Result rules: recording a part, makeup and retraining, 12-month validity, publication, the qualification.

Pass needs at least RESULT_PASS_MARK (and the item's own pass mark, when higher) in each part; theory comes before
practical; RESULT_MAKEUPS makeups per failed part, then retraining (a new round of attempts); a passed part is
valid RESULT_VALID_MONTHS; results are published within RESULT_PUBLISH_WORKING_DAYS working days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from exams.results.models import PartResult, Retraining
from exams.sessions.models import ExamPart, ExamSession
from opcert.accounts.models import Organisation
from opcert.advice import after_qualifying
from opcert.audit.services import record_event
from opcert.calendar import services as calendar
from opcert.catalogue.models import Item
from opcert.db import flush_unique, utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.notifications.kinds import register_kinds
from opcert.notifications.services import notify
from opcert.timeutil import local, local_today, show_date


class ResultError(DomainError):
    """A result that the rules do not allow to be recorded."""


class Standing(enum.StrEnum):
    """Where a person stands in one part of an item."""

    NOT_TAKEN = "not_taken"
    PASSED = "passed"
    EXPIRED = "expired"
    MAKEUP = "makeup"
    RETRAINING = "retraining"

    @property
    def label(self) -> LazyString:
        """The standing's name for people."""
        return STANDING_LABELS[self]


STANDING_LABELS = {
    Standing.NOT_TAKEN: _l("未考"),
    Standing.PASSED: _l("合格（有效期内）"),
    Standing.EXPIRED: _l("合格已过有效期"),
    Standing.MAKEUP: _l("不合格，可补考一次"),
    Standing.RETRAINING: _l("补考不合格，须重新培训"),
}


class ResultNotice(enum.StrEnum):
    """What the results tell candidates."""

    RESULT_PUBLISHED = "result_published"


register_kinds({ResultNotice.RESULT_PUBLISHED: _l("成绩发布")})


@dataclasses.dataclass(frozen=True)
class PartStanding:
    """A part's standing on a date, with the result that decides it and the attempts used in this round."""

    part: ExamPart
    standing: Standing
    result: PartResult | None
    training_round: int
    attempts: int
    valid_until: dt.date | None


@dataclasses.dataclass(frozen=True)
class Qualification:
    """Both parts passed and valid: what the certificates domain needs to issue a certificate."""

    theory_score: decimal.Decimal
    theory_date: dt.date
    practical_score: decimal.Decimal
    practical_date: dt.date
    theory_session_id: int
    practical_session_id: int


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in range(day.day, 27, -1):
        try:
            return dt.date(year, month, candidate)
        except ValueError:
            continue
    return dt.date(year, month, min(day.day, 28))


def add_working_days(day: dt.date, days: int) -> dt.date:
    """`days` working days after `day`, on the holiday calendar administrators keep (opcert.calendar)."""
    return calendar.add_working_days(day, days)


def valid_until(result: PartResult) -> dt.date:
    """The last day a passed part counts (RESULT_VALID_MONTHS after the exam date, exclusive)."""
    months = int(current_app.config["RESULT_VALID_MONTHS"])
    return add_months(result.exam_date, months) - dt.timedelta(days=1)


def pass_mark(item: Item, part: ExamPart) -> int:
    """The pass mark of a part: the setting, or the item's own when that is higher."""
    own = item.theory_pass if part is ExamPart.THEORY else item.practical_pass
    return max(int(current_app.config["RESULT_PASS_MARK"]), own)


def training_round(person_id: int, item_id: int) -> int:
    """How many retrainings the person completed in the item (the current round's number)."""
    query = sa.select(sa.func.count()).where(Retraining.person_id == person_id, Retraining.item_id == item_id)
    return int(db.session.execute(query).scalar_one())


def _results(
    person_id: int, item_id: int, part: ExamPart, on: dt.date, published_only: bool
) -> sa.Select[tuple[PartResult]]:
    query = sa.select(PartResult).where(
        PartResult.person_id == person_id,
        PartResult.item_id == item_id,
        PartResult.part == part,
        PartResult.exam_date <= on,
    )
    return query.where(PartResult.published_at.is_not(None)) if published_only else query


def part_standing(
    *, person_id: int, item_id: int, part: ExamPart, on: dt.date, published_only: bool = False
) -> PartStanding:
    """The person's standing in one part on a date, from the results of the current round (with `published_only`,
    as the candidate may know it: unpublished results left out)."""
    current_round = training_round(person_id, item_id)
    results = _results(person_id, item_id, part, on, published_only)
    rows = list(
        db.session.execute(
            results.where(PartResult.training_round == current_round).order_by(PartResult.attempt)
        ).scalars()
    )
    if not rows:
        # Retraining starts a new round for the part that needed it; a pass of an earlier round still counts
        # (until it expires), so a valid theory pass is kept when the practical is retrained.
        earlier = db.session.execute(
            results.where(PartResult.training_round < current_round)
            .order_by(PartResult.training_round.desc(), PartResult.attempt.desc())
            .limit(1)
        ).scalar_one_or_none()
        if earlier is not None and earlier.passed:
            until = valid_until(earlier)
            standing = Standing.PASSED if on <= until else Standing.EXPIRED
            return PartStanding(part, standing, earlier, current_round, 0, until)
        return PartStanding(part, Standing.NOT_TAKEN, None, current_round, 0, None)
    last = rows[-1]
    if last.passed:
        until = valid_until(last)
        standing = Standing.PASSED if on <= until else Standing.EXPIRED
        return PartStanding(part, standing, last, current_round, len(rows), until)
    fails = 0
    for row in reversed(rows):
        if row.passed:
            break
        fails += 1
    makeups = int(current_app.config["RESULT_MAKEUPS"])
    standing = Standing.MAKEUP if fails <= makeups else Standing.RETRAINING
    return PartStanding(part, standing, last, current_round, len(rows), None)


def booking_problem(*, person_id: int, item: Item, part: ExamPart, on: dt.date) -> str | None:
    """Why the person may not sit this part on this date (None: they may): retraining due, theory not passed."""
    own = part_standing(person_id=person_id, item_id=item.id, part=part, on=on)
    if own.standing is Standing.RETRAINING:
        return str(
            _(
                "您的“%(item)s”%(part)s补考仍不合格，须重新参加培训后方可再次预约考试。",
                item=item.name,
                part=str(part.label),
            )
        )
    if own.standing is Standing.PASSED:
        return str(_("该部分已合格且在有效期内，无需再考。"))
    if part is ExamPart.PRACTICAL:
        theory = part_standing(person_id=person_id, item_id=item.id, part=ExamPart.THEORY, on=on)
        if theory.standing is not Standing.PASSED:
            return str(_("须先通过“%(item)s”理论考试（有效期内），才能预约实际操作考试。", item=item.name))
    return None


def record_part_result(
    *,
    person_id: int,
    item_id: int,
    part: ExamPart,
    score: decimal.Decimal | float | int,
    session_id: int,
    vetoed: bool = False,
    decided_at: dt.datetime | None = None,
) -> PartResult:
    """Record a decided part (the CBT module for theory, practical scoring for practical); refused when not allowed."""
    decided_at = decided_at or utcnow()
    item = db.session.get(Item, item_id)
    session = db.session.get(ExamSession, session_id)
    if item is None or session is None:
        raise NotFoundError(_("考试场次或操作项目不存在。"))
    if session.part is not part:
        raise ResultError.on_field(_("该场次不是%(part)s场次。", part=str(part.label)), "session_id")
    value = decimal.Decimal(str(score)).quantize(decimal.Decimal("0.1"), rounding=decimal.ROUND_HALF_UP)
    if not decimal.Decimal(0) <= value <= decimal.Decimal(100):
        raise ResultError.on_field(_("成绩须在0至100分之间。"), "score")
    exam_date = local(session.starts_at).date()
    standing = part_standing(person_id=person_id, item_id=item_id, part=part, on=exam_date)
    if standing.standing is Standing.RETRAINING:
        raise ResultError.on_field(_("补考仍不合格，须重新参加培训后方可再次考试。"), "person_id")
    if standing.standing is Standing.PASSED:
        raise ResultError.on_field(_("该部分已合格且在有效期内，无需再考。"), "person_id")
    passed = not vetoed and value >= pass_mark(item, part)
    days = int(current_app.config["RESULT_PUBLISH_WORKING_DAYS"])
    row = PartResult(
        person_id=person_id,
        item_id=item_id,
        part=part,
        score=value,
        passed=passed,
        vetoed=vetoed,
        session_id=session_id,
        training_round=standing.training_round,
        attempt=standing.attempts + 1,
        exam_date=exam_date,
        decided_at=decided_at,
        publish_by=add_working_days(local(decided_at).date(), days),
    )
    db.session.add(row)
    flush_unique(_("该考生本场次的成绩已经记录。"), "session_id", error=ResultError)
    record_event(
        "exam.result_recorded",
        object_type="exam_part_result",
        object_id=row.id,
        details={
            "candidate": person_id,
            "item": item.code,
            "part": part.value,
            "score": str(value),
            "passed": passed,
            "attempt": row.attempt,
            "session": session_id,
        },
    )
    return row


def record_retraining(
    *,
    person_id: int,
    item_id: int,
    completed_on: dt.date,
    recorded_by_id: int | None = None,
    note: str = "",
    today: dt.date | None = None,
) -> Retraining:
    """Record completed retraining: refused unless a part of the item needs it, and dated between the failed
    makeup and today; the next attempts start a new round."""
    on = today or local_today()
    standings = [part_standing(person_id=person_id, item_id=item_id, part=part, on=on) for part in ExamPart]
    due = [s for s in standings if s.standing is Standing.RETRAINING]
    if not due:
        raise ResultError.on_field(_("该学员在此项目上无需重新培训。"), "person_id")
    if completed_on > on:
        raise ResultError.on_field(_("重新培训的完成日期不能晚于今天。"), "completed_on")
    failed_on = max(s.result.exam_date for s in due if s.result is not None)
    if completed_on <= failed_on:
        raise ResultError.on_field(
            _("重新培训须在补考之后完成：补考日期为%(date)s。", date=show_date(failed_on)), "completed_on"
        )
    row = Retraining(
        person_id=person_id, item_id=item_id, completed_on=completed_on, recorded_by_id=recorded_by_id, note=note[:200]
    )
    db.session.add(row)
    db.session.flush()
    record_event(
        "exam.retraining_recorded",
        object_type="exam_retraining",
        object_id=row.id,
        details={"candidate": person_id, "item_id": item_id, "parts": [s.part.value for s in due]},
    )
    return row


def qualification(user_id: int, item_id: int, on: dt.date, *, published_only: bool = False) -> Qualification | None:
    """Both parts passed and valid on `on` (the theory before the practical), else None; with `published_only`,
    from the results the candidate has been told (what a certificate application may rest on)."""
    theory = part_standing(
        person_id=user_id, item_id=item_id, part=ExamPart.THEORY, on=on, published_only=published_only
    )
    practical = part_standing(
        person_id=user_id, item_id=item_id, part=ExamPart.PRACTICAL, on=on, published_only=published_only
    )
    if theory.result is None or practical.result is None:
        return None
    if theory.standing is not Standing.PASSED or practical.standing is not Standing.PASSED:
        return None
    if theory.result.exam_date > practical.result.exam_date:
        return None
    return Qualification(
        theory_score=theory.result.score,
        theory_date=theory.result.exam_date,
        practical_score=practical.result.score,
        practical_date=practical.result.exam_date,
        theory_session_id=theory.result.session_id,
        practical_session_id=practical.result.session_id,
    )


def next_step(*, person_id: int, item: Item, on: dt.date, published_only: bool = False) -> str:
    """What the person does next in the item: book theory, a makeup, the practical, retrain or apply (with
    `published_only`, from the results the candidate has been told)."""
    theory, practical = (
        part_standing(person_id=person_id, item_id=item.id, part=part, on=on, published_only=published_only)
        for part in (ExamPart.THEORY, ExamPart.PRACTICAL)
    )
    for standing in (theory, practical):
        if standing.standing is Standing.RETRAINING:
            return str(_("%(part)s补考不合格：请重新参加培训，培训完成后再预约考试。", part=str(standing.part.label)))
        if standing.standing is Standing.MAKEUP:
            return str(_("%(part)s不合格：请预约补考（仅一次）。", part=str(standing.part.label)))
    if theory.standing is not Standing.PASSED:
        return str(_("请预约理论考试。"))
    if practical.standing is not Standing.PASSED and theory.valid_until is not None:
        return str(
            _("理论考试已合格：请在有效期（至%(date)s）内预约实际操作考试。", date=show_date(theory.valid_until))
        )
    if practical.standing is not Standing.PASSED:
        return str(_("请预约实际操作考试。"))
    return after_qualifying(person_id, item.id) or str(_("理论和实际操作考试均已合格：请申请特种作业操作证。"))


# --- publication -------------------------------------------------------------------------------------


def _tell_published(row: PartResult) -> None:
    on = local_today()
    verdict = _("合格") if row.passed else (_("不合格（否决项）") if row.vetoed else _("不合格"))
    notify(
        user_id=row.person_id,
        kind=ResultNotice.RESULT_PUBLISHED,
        subject=_("考试成绩发布"),
        body=_(
            "您的“%(item)s”%(part)s成绩：%(score)s分，%(verdict)s。下一步：%(next)s",
            item=row.item.name,
            part=str(row.part.label),
            score=row.score,
            verdict=verdict,
            next=next_step(person_id=row.person_id, item=row.item, on=on, published_only=True),
        ),
    )


def publish_results(*, session_id: int | None = None, due_by: dt.date | None = None) -> list[PartResult]:
    """Publish unpublished results (of a session, or due by a date) and tell each candidate their next step."""
    query = sa.select(PartResult).where(PartResult.published_at.is_(None)).order_by(PartResult.id)
    if session_id is not None:
        query = query.where(PartResult.session_id == session_id)
    if due_by is not None:
        query = query.where(PartResult.publish_by <= due_by)
    rows = list(db.session.execute(query.with_for_update()).scalars())
    now = utcnow()
    for row in rows:
        row.published_at = now
    db.session.flush()
    for row in rows:
        _tell_published(row)
    if rows:
        record_event(
            "exam.results_published",
            object_type="exam_session",
            object_id=session_id or "",
            details={"count": len(rows)},
        )
    return rows


def my_results(*, person_id: int) -> list[PartResult]:
    """A candidate's published results, newest first."""
    query = (
        sa.select(PartResult)
        .where(PartResult.person_id == person_id, PartResult.published_at.is_not(None))
        .order_by(PartResult.exam_date.desc(), PartResult.id.desc())
    )
    return list(db.session.execute(query).scalars())


def my_items(*, person_id: int) -> list[Item]:
    """The items in which the candidate has a published result."""
    seen: dict[int, Item] = {}
    for row in my_results(person_id=person_id):
        seen.setdefault(row.item_id, row.item)
    return list(seen.values())


def my_next_steps(*, person_id: int, on: dt.date) -> list[tuple[Item, str]]:
    """The candidate's next step in each item with a published result, from published results only: a result
    not yet published is not given away by the advice."""
    return [
        (item, next_step(person_id=person_id, item=item, on=on, published_only=True))
        for item in my_items(person_id=person_id)
    ]


def session_results(*, session_id: int) -> list[PartResult]:
    """Every result of a session (published or not), by candidate."""
    query = sa.select(PartResult).where(PartResult.session_id == session_id).order_by(PartResult.person_id)
    return list(db.session.execute(query).scalars())


@dataclasses.dataclass(frozen=True)
class PassCount:
    """Decided results of one part of one item at one exam centre: how many were taken and passed."""

    item_code: str
    item_name: str
    centre_id: int
    centre_name: str
    part: ExamPart
    taken: int
    passed: int


def pass_counts(*, start: dt.date, end: dt.date) -> list[PassCount]:
    """Every decided part result with an exam date from `start` to `end` (inclusive), counted by item, centre, part."""
    passed = sa.func.sum(sa.case((PartResult.passed, 1), else_=0))
    query = (
        sa.select(
            Item.code,
            Item.name,
            ExamSession.centre_id,
            Organisation.name,
            PartResult.part,
            sa.func.count(PartResult.id),
            passed,
        )
        .join(Item, Item.id == PartResult.item_id)
        .join(ExamSession, ExamSession.id == PartResult.session_id)
        .join(Organisation, Organisation.id == ExamSession.centre_id)
        .where(PartResult.exam_date >= start, PartResult.exam_date <= end)
        .group_by(Item.code, Item.name, ExamSession.centre_id, Organisation.name, PartResult.part)
        .order_by(Item.code, Organisation.name, PartResult.part)
    )
    return [
        PassCount(code, name, centre_id, centre, part, int(taken), int(ok or 0))
        for code, name, centre_id, centre, part, taken, ok in db.session.execute(query)
    ]
