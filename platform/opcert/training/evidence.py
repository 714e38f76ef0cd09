"""The training record staff see and export: every credited interval and face check of a trainee, as a page, CSV,
PDF and xAPI statements (durations computed by the server); staff decisions (alternative check, flag review)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from fpdf.enums import WrapMode, XPos, YPos

from opcert.access import Role
from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.db import utcnow
from opcert.documents import CJK, new_pdf
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.timeutil import show_datetime
from opcert.training.models import (
    CheckOutcome,
    Course,
    Enrolment,
    FaceCheck,
    IntervalStatus,
    StudyFlag,
    StudyInterval,
)
from opcert.training.study import settle_intervals
from photos.access import register_grant
from photos.models import FaceDecision, Photo
from photos.retention import register_keeper
from photos.services import subject_ref

PURPOSE = "training_evidence"
XAPI_VERB = "http://adlnet.gov/expapi/verbs/experienced"


def trainees_for(viewer: User) -> list[User]:
    """Trainees enrolled in courses the viewer oversees (a provider: its own courses; an administrator: all)."""
    query = sa.select(User).join(Enrolment, Enrolment.trainee_id == User.id).join(Course).distinct()
    if viewer.role is not Role.ADMIN:
        query = query.where(Course.provider_id == (viewer.organisation_id or -1))
    return list(db.session.execute(query.order_by(User.id)).scalars())


def flagged_count(viewer: User) -> int:
    """How many trainees the viewer oversees wait for a flag review (an open flag after repeated failed checks)."""
    query = sa.select(sa.func.count(sa.distinct(StudyFlag.trainee_id))).where(StudyFlag.cleared_at.is_(None))
    if viewer.role is not Role.ADMIN:
        overseen = (
            sa.select(Enrolment.trainee_id).join(Course).where(Course.provider_id == (viewer.organisation_id or -1))
        )
        query = query.where(StudyFlag.trainee_id.in_(overseen))
    return int(db.session.execute(query).scalar_one())


def flagged_ids(trainee_ids: list[int]) -> set[int]:
    """Which of these trainees have an open flag."""
    query = sa.select(StudyFlag.trainee_id).where(StudyFlag.cleared_at.is_(None), StudyFlag.trainee_id.in_(trainee_ids))
    return set(db.session.execute(query).scalars())


def trainee_for_staff(*, viewer: User, trainee_id: int) -> User:
    """A trainee whose record the viewer may see (else 404)."""
    found = db.session.get(User, trainee_id)
    if found is None or found.role is not Role.TRAINEE:
        raise NotFoundError(_("学员不存在。"))
    if viewer.role is Role.ADMIN or _provider_oversees(viewer, found.id):
        return found
    raise NotFoundError(_("学员不存在。"))


def _provider_oversees(viewer: User, trainee_id: int) -> bool:
    if viewer.role is not Role.PROVIDER or viewer.organisation_id is None:
        return False
    query = (
        sa.select(Enrolment.id)
        .join(Course)
        .where(Enrolment.trainee_id == trainee_id, Course.provider_id == viewer.organisation_id)
    )
    return db.session.execute(query).first() is not None


@dataclasses.dataclass(frozen=True)
class CheckRow:
    """A face check with the key of its capture (for viewers allowed to see photos)."""

    check: FaceCheck
    capture_key: str | None


@dataclasses.dataclass(frozen=True)
class Record:
    """A trainee's whole training record."""

    trainee: User
    intervals: list[StudyInterval]
    checks: list[CheckRow]
    flag: StudyFlag | None
    round_starts: dict[int, dt.datetime] = dataclasses.field(default_factory=dict)  # course id → counts_from

    @property
    def credited_seconds(self) -> int:
        """Seconds credited in all."""
        return sum(i.seconds for i in self.intervals if i.status is IntervalStatus.CREDITED)

    def in_round(self, interval: StudyInterval) -> bool:
        """Whether the interval belongs to the current round of its course (earlier rounds are kept, not counted)."""
        since = self.round_starts.get(interval.lesson.course_id)
        return since is None or interval.started_at >= since

    def round_label(self, interval: StudyInterval) -> str:
        """The interval's round for people: 本轮 (current) or 以往轮次 (earlier)."""
        return str(_("本轮") if self.in_round(interval) else _("以往轮次"))

    @property
    def has_earlier_rounds(self) -> bool:
        """Whether any interval belongs to an earlier round (the trainee started a new round of review training)."""
        return any(not self.in_round(i) for i in self.intervals)

    @property
    def round_seconds(self) -> int:
        """Seconds credited in the current rounds of the trainee's courses."""
        return sum(i.seconds for i in self.intervals if i.status is IntervalStatus.CREDITED and self.in_round(i))

    @property
    def awaiting_alternative(self) -> int:
        """Seconds waiting for a staff-approved alternative check."""
        return sum(i.seconds for i in self.intervals if i.status is IntervalStatus.AWAITING_ALTERNATIVE)


def record_of(trainee: User) -> Record:
    """Every interval and face check of the trainee, oldest first."""
    intervals = list(
        db.session.execute(
            sa.select(StudyInterval).where(StudyInterval.trainee_id == trainee.id).order_by(StudyInterval.started_at)
        ).scalars()
    )
    rows = db.session.execute(
        sa.select(FaceCheck, Photo.view_key)
        .outerjoin(FaceDecision, FaceDecision.id == FaceCheck.decision_id)
        .outerjoin(Photo, Photo.id == FaceDecision.probe_photo_id)
        .where(FaceCheck.trainee_id == trainee.id)
        .order_by(FaceCheck.requested_at)
    ).all()
    flag = db.session.execute(
        sa.select(StudyFlag).where(StudyFlag.trainee_id == trainee.id, StudyFlag.cleared_at.is_(None))
    ).scalar_one_or_none()
    starts = db.session.execute(
        sa.select(Enrolment.course_id, Enrolment.counts_from).where(Enrolment.trainee_id == trainee.id)
    ).all()
    return Record(
        trainee=trainee,
        intervals=intervals,
        checks=[CheckRow(c, k) for c, k in rows],
        flag=flag,
        round_starts={course_id: since for course_id, since in starts},
    )


def approve_alternative(*, staff: User, trainee: User, note: str) -> int:
    """Staff checked the person without a face check (ID seen in person or on video): the waiting hours count."""
    note = " ".join(note.split())
    if len(note) < 4:
        raise DomainError.on_field(_("请写明人工核验的方式（如：现场核对居民身份证）。"), "note")
    waiting = list(
        db.session.execute(
            sa.select(StudyInterval).where(
                StudyInterval.trainee_id == trainee.id, StudyInterval.status == IntervalStatus.AWAITING_ALTERNATIVE
            )
        ).scalars()
    )
    if not waiting:
        raise DomainError.on_field(_("该学员没有待人工核验的学时。"))
    now = utcnow()
    check = FaceCheck(
        trainee_id=trainee.id,
        lesson_id=waiting[-1].lesson_id,
        requested_at=now,
        due_by=now,
        answered_at=now,
        outcome=CheckOutcome.ALTERNATIVE,
        reviewed_by_id=staff.id,
        note=note[:300],
    )
    db.session.add(check)
    db.session.flush()
    seconds = settle_intervals(waiting, to=IntervalStatus.CREDITED, now=now)
    record_event(
        "training.alternative_approved",
        object_type="face_check",
        object_id=check.id,
        details={"seconds": seconds, "note": check.note},
    )
    return seconds


def clear_flag(*, staff: User, trainee: User) -> None:
    """Staff reviewed a flagged account: booking is possible again (the discarded time stays discarded)."""
    flag = db.session.execute(
        sa.select(StudyFlag).where(StudyFlag.trainee_id == trainee.id, StudyFlag.cleared_at.is_(None))
    ).scalar_one_or_none()
    if flag is None:
        raise DomainError.on_field(_("该学员没有待复核的标记。"))
    flag.cleared_at = utcnow()
    flag.cleared_by_id = staff.id
    record_event("training.flag_cleared", object_type="user", object_id=trainee.id)


# --- exports ---------------------------------------------------------------------------------------


def _audit_export(trainee: User, form: str) -> None:
    record_event("training.evidence_exported", object_type="user", object_id=trainee.id, details={"format": form})


def _safe_cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def evidence_csv(trainee: User) -> str:
    """Every interval and face check as CSV rows (UTF-8 with BOM, for spreadsheets)."""
    record = record_of(trainee)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["type", "lesson", "started_at", "ended_at", "seconds", "status", "beats", "played", "round"])
    for i in record.intervals:
        writer.writerow(
            [
                "interval",
                i.lesson_id,
                i.started_at.isoformat(),
                i.ended_at.isoformat(),
                i.seconds,
                i.status.value,
                i.beats,
                i.played,
                "current" if record.in_round(i) else "earlier",
            ]
        )
    for row in record.checks:
        c = row.check
        answered = c.answered_at.isoformat() if c.answered_at else ""
        writer.writerow(
            [
                "face_check",
                c.lesson_id or "",
                c.requested_at.isoformat(),
                answered,
                "",
                c.outcome.value,
                c.attempts,
                _safe_cell(c.note),
            ]
        )
    _audit_export(trainee, "csv")
    return out.getvalue()


def _duration(seconds: int) -> str:
    return f"PT{seconds}S"


def xapi_statements(trainee: User) -> list[dict[str, Any]]:
    """One xAPI statement per credited interval; `result.duration` is the server's count of seconds."""
    base = url_for("training.my_training", _external=True).rstrip("/")
    statements = []
    for interval in record_of(trainee).intervals:
        if interval.status is not IntervalStatus.CREDITED:
            continue
        statements.append(
            {
                "id": f"{base}/intervals/{interval.id}",
                "actor": {"objectType": "Agent", "account": {"homePage": base, "name": str(trainee.id)}},
                "verb": {"id": XAPI_VERB, "display": {"zh-CN": "学习", "en-US": "experienced"}},
                "object": {
                    "objectType": "Activity",
                    "id": f"{base}/lessons/{interval.lesson_id}",
                    "definition": {"name": {"zh-CN": interval.lesson.title}},
                },
                "result": {"duration": _duration(interval.seconds), "completion": False},
                "context": {
                    "extensions": {f"{base}/xapi/beats": interval.beats, f"{base}/xapi/played": interval.played}
                },
                "timestamp": interval.started_at.isoformat(),
                "stored": (interval.settled_at or interval.ended_at).isoformat(),
            }
        )
    _audit_export(trainee, "xapi")
    return statements


def evidence_pdf(trainee: User) -> bytes:
    """The training record as a PDF page (or pages) with the CJK font."""
    record = record_of(trainee)
    pdf = new_pdf(title=_("培训学时记录"))
    pdf.add_page()
    pdf.set_font(CJK, size=16)
    pdf.cell(0, 10, _("培训学时记录"), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(CJK, size=10)
    lines = [
        _("学员：%(name)s", name=trainee.real_name),
        _("已计入：%(n)d秒", n=record.credited_seconds),
        _("本轮已计入：%(n)d秒", n=record.round_seconds),
        _("生成时间：%(at)s", at=show_datetime(utcnow())),
        "",
        _("学时段（服务器计时）"),
        *[
            f"{show_datetime(i.started_at)} – {show_datetime(i.ended_at)}  {i.lesson.title}  {i.seconds}s  "
            f"{i.status.label}  {record.round_label(i)}"
            for i in record.intervals
        ],
        "",
        _("学习中人脸核验"),
        *[f"{show_datetime(r.check.requested_at)}  {r.check.outcome.label}  {r.check.note}" for r in record.checks],
    ]
    for line in lines:
        pdf.multi_cell(0, 6, str(line), wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _audit_export(trainee, "pdf")
    return bytes(pdf.output())


# --- registries in photos --------------------------------------------------------------------------


def retained_decisions(now: dt.datetime) -> sa.Select[tuple[int | None]]:
    """The face decisions behind study face checks still within TRAINING_RECORD_RETENTION_YEARS on `now`."""
    years = int(current_app.config["TRAINING_RECORD_RETENTION_YEARS"])
    since = now - dt.timedelta(days=365 * years + years // 4 + 1)
    return sa.select(FaceCheck.decision_id).where(FaceCheck.decision_id.is_not(None), FaceCheck.requested_at >= since)


def provider_sees_capture(viewer: User, ref: str) -> bool:
    """A provider sees study captures of trainees enrolled in its courses."""
    if viewer.role is not Role.PROVIDER or viewer.organisation_id is None:
        return False
    numbers = db.session.execute(
        sa.select(User.id_number)
        .join(Enrolment, Enrolment.trainee_id == User.id)
        .join(Course)
        .where(Course.provider_id == viewer.organisation_id, User.id_number.is_not(None))
        .distinct()
    ).scalars()
    return any(subject_ref(number) == ref for number in numbers if number)


def register(state: BlueprintSetupState) -> None:
    """Training's grant (providers see their trainees' study captures) and keeper (purge keeps the evidence)."""
    register_grant(state.app, PURPOSE, provider_sees_capture)
    register_keeper(state.app, "training", retained_decisions)
