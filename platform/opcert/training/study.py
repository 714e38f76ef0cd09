"""Study hours on the server's clock only.

A lesson page takes the trainee's one study lease (a conditional UPDATE: one lesson, one page, one device at a
time), then sends numbered heartbeats. Each accepted heartbeat credits the server time since the previous one,
capped, and only while the page says it is visible and in use; for a video, only segments newly played at no
more than the playback-rate cap in that wall-clock time. Heartbeats are aggregated into intervals (one row per
stretch); time stays provisional until a face check passes or the stretch ends with no check due, and a failed
or missed check discards it. Durations and clocks from the browser are never used.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import secrets
from collections.abc import Sequence
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.db import UTCDateTime, core_execute, rowcount
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.timeutil import local_tz
from opcert.training.models import (
    COUNTING,
    CheckOutcome,
    Course,
    CourseStatus,
    Enrolment,
    FaceCheck,
    IntervalStatus,
    Lesson,
    LessonKind,
    StudyInterval,
    StudyLease,
)
from opcert.training.services import study_lesson
from photos.services import has_consent

Segment = tuple[float, float]
_random = secrets.SystemRandom()


class StudyRefusedError(DomainError):
    """A study request that credits nothing: `code` says why (for the log and the page)."""

    def __init__(self, message: str, code: str, seq: int | None = None) -> None:
        super().__init__(message, {"": message})
        self.code = code
        self.seq = seq  # a replayed heartbeat of the page holding the lease: the number the server holds


@dataclasses.dataclass(frozen=True)
class BeatResult:
    """What one heartbeat earned, and what the page must do next."""

    credited: int
    lesson_seconds: int
    reason: str = ""  # why nothing (or less) was credited, in Chinese; "" when the whole step counted
    check_due_by: dt.datetime | None = None
    blocked: bool = False
    recounted: bool = False  # time was discarded (a missed check): the lesson's total went down

    @property
    def total_changed(self) -> bool:
        """Whether the lesson's total differs from the previous beat's (the page's text needs renewing)."""
        return self.credited > 0 or self.recounted


def _setting(name: str) -> float:
    return float(current_app.config[name])


def _lease(trainee: User) -> StudyLease | None:
    return db.session.get(StudyLease, trainee.id, populate_existing=True)


def _held_lease(trainee: User) -> StudyLease:
    lease = _lease(trainee)
    if lease is None:
        raise StudyRefusedError(_("本页面未在计时学习，请重新进入课时。"), "not_lease")
    return lease


def needs_alternative(trainee: User) -> bool:
    """Whether the trainee's hours must wait for a staff-approved check (no face consent: no face checks)."""
    return not has_consent(trainee.id_number or "")


def face_checks_on() -> bool:
    """Whether face checks are asked for while studying (TRAINING_FACE_CHECKS_PER_HOUR > 0)."""
    return _setting("TRAINING_FACE_CHECKS_PER_HOUR") > 0


def next_check_at(now: dt.datetime) -> dt.datetime:
    """A random moment around 1/rate hours away (between half and one and a half times the mean gap)."""
    mean = 3600 / _setting("TRAINING_FACE_CHECKS_PER_HOUR")
    return now + dt.timedelta(seconds=_random.uniform(0.5 * mean, 1.5 * mean))


def _updated(statement: Any) -> int:
    return rowcount(statement, synchronize="auto")


# --- lease -------------------------------------------------------------------------------------------


def start_study(*, trainee: User, lesson_id: int, now: dt.datetime) -> StudyLease:
    """Take the trainee's study lease for a lesson; refused while another page or device holds a live one."""
    lesson = study_lesson(trainee=trainee, lesson_id=lesson_id)
    settle(trainee=trainee, now=now)
    if _lease(trainee) is None:
        try:
            with db.session.begin_nested():
                db.session.add(StudyLease(trainee_id=trainee.id))
                db.session.flush()
        except IntegrityError:
            pass  # another request made it first: the conditional UPDATE below decides
    stale = now - dt.timedelta(seconds=_setting("STUDY_HEARTBEAT_GAP_SECONDS"))
    checking = face_checks_on() and not needs_alternative(trainee)
    values: dict[str, Any] = {
        "token": secrets.token_hex(16),
        "lesson_id": lesson.id,
        "seq": 0,
        "started_at": now,
        "last_beat_at": now,
        "interval_id": None,
        "check_at": now if checking else None,  # every study session starts with a face check
        "check_due_by": None,
    }
    taken = _updated(
        sa.update(StudyLease)
        .where(
            StudyLease.trainee_id == trainee.id,
            sa.or_(StudyLease.token.is_(None), StudyLease.last_beat_at < stale),
        )
        .values(**values)
    )
    if not taken:
        current_app.logger.warning("study refused: trainee %s already studies elsewhere", trainee.id)
        raise StudyRefusedError(
            _(
                "您正在其他页面或设备上学习。同一时间只能学习一个课时：请先关闭那里的课时页面，或约%(n)d秒后再试。",
                n=int(_setting("STUDY_HEARTBEAT_GAP_SECONDS")),
            ),
            "busy",
        )
    return _held_lease(trainee)


def stop_study(*, trainee: User, token: str, now: dt.datetime) -> None:
    """The page closed: settle its time and free the lease (a token not holding the lease changes nothing)."""
    lease = _lease(trainee)
    if lease is not None and lease.token is not None and secrets.compare_digest(lease.token, token):
        _close(trainee, lease, now)


def settle(*, trainee: User, now: dt.datetime) -> None:
    """Close a lease whose heartbeats stopped: its time is credited, unless a face check it owed was not passed."""
    lease = _lease(trainee)
    stale = now - dt.timedelta(seconds=_setting("STUDY_HEARTBEAT_GAP_SECONDS"))
    if lease is not None and lease.token is not None and lease.last_beat_at is not None and lease.last_beat_at < stale:
        _close(trainee, lease, now)


def _close(trainee: User, lease: StudyLease, now: dt.datetime) -> None:
    if lease.check_due_by is not None or lease.blocked or (lease.check_at is not None and lease.check_at <= now):
        # A check was owed (asked, or due) and not passed: the time since the last good check does not count.
        _expire_pending_checks(trainee, now)
        discard_provisional(trainee=trainee, now=now, reason="check_owed")
    else:
        credit_provisional(trainee=trainee, now=now)
    lease.token = None
    lease.lesson_id = None
    lease.interval_id = None
    lease.check_at = None
    lease.check_due_by = None
    lease.blocked = False
    db.session.flush()


def _expire_pending_checks(trainee: User, now: dt.datetime) -> None:
    for check in db.session.execute(
        sa.select(FaceCheck).where(FaceCheck.trainee_id == trainee.id, FaceCheck.outcome == CheckOutcome.PENDING)
    ).scalars():
        check.outcome = CheckOutcome.MISSED
        check.answered_at = now
        record_event("training.face_check_missed", object_type="face_check", object_id=check.id)


# --- settling intervals --------------------------------------------------------------------------------


def _provisional(trainee: User) -> list[StudyInterval]:
    query = sa.select(StudyInterval).where(
        StudyInterval.trainee_id == trainee.id, StudyInterval.status == IntervalStatus.PROVISIONAL
    )
    return list(db.session.execute(query.order_by(StudyInterval.id)).scalars())


def _interval_details(interval: StudyInterval) -> dict[str, Any]:
    return {
        "lesson": interval.lesson_id,
        "seconds": interval.seconds,
        "started_at": interval.started_at.isoformat(),
        "ended_at": interval.ended_at.isoformat(),
    }


def settle_intervals(
    intervals: Sequence[StudyInterval], *, to: IntervalStatus, now: dt.datetime, reason: str = ""
) -> int:
    """Move intervals to credited or discarded, one audit row each (never one per heartbeat); their seconds."""
    action = "training.interval_credited" if to is IntervalStatus.CREDITED else "training.interval_discarded"
    total = 0
    for interval in intervals:
        interval.status = to
        interval.settled_at = now
        total += interval.seconds
        details = _interval_details(interval) | ({"reason": reason} if reason else {})
        record_event(
            action, object_type="study_interval", object_id=interval.id, details=details, actor_id=interval.trainee_id
        )
    db.session.flush()
    return total


def credit_provisional(*, trainee: User, now: dt.datetime) -> int:
    """Credit every provisional interval (a face check passed, or a stretch ended with none owed)."""
    return settle_intervals(_provisional(trainee), to=IntervalStatus.CREDITED, now=now)


def discard_provisional(*, trainee: User, now: dt.datetime, reason: str) -> int:
    """Discard the time since the last good check (a check failed or missed)."""
    lease = _lease(trainee)
    if lease is not None:
        lease.interval_id = None
    return settle_intervals(_provisional(trainee), to=IntervalStatus.DISCARDED, now=now, reason=reason)


# --- video segments ------------------------------------------------------------------------------------


def merge(segments: Sequence[Segment]) -> list[Segment]:
    """Overlapping or touching segments joined, in order."""
    merged: list[Segment] = []
    for start, end in sorted(segments):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def length(segments: Sequence[Segment]) -> float:
    """Total length of disjoint segments."""
    return sum(end - start for start, end in segments)


def subtract(segments: Sequence[Segment], covered: Sequence[Segment]) -> list[Segment]:
    """The parts of `segments` not in `covered` (both merged)."""
    left: list[Segment] = []
    for start, end in segments:
        pieces = [(start, end)]
        for c_start, c_end in covered:
            pieces = [
                part
                for p_start, p_end in pieces
                for part in ((p_start, min(p_end, c_start)), (max(p_start, c_end), p_end))
                if part[1] - part[0] > 1e-9
            ]
        left.extend(pieces)
    return left


def trim(segments: Sequence[Segment], seconds: float) -> list[Segment]:
    """The first `seconds` of the segments."""
    kept: list[Segment] = []
    for start, end in segments:
        if seconds <= 0:
            break
        take = min(end - start, seconds)
        kept.append((start, start + take))
        seconds -= take
    return kept


def parse_segments(text: str) -> list[Segment]:
    """Segments stored as "a-b,c-d"."""
    found: list[Segment] = []
    for part in filter(None, text.split(",")):
        start, _sep, end = part.partition("-")
        found.append((float(start), float(end)))
    return found


def format_segments(segments: Sequence[Segment]) -> str:
    """Segments as "a-b,c-d" (two decimals)."""
    return ",".join(f"{start:.2f}-{end:.2f}" for start, end in segments)


def covered_segments(trainee: User, lesson: _LessonFacts) -> list[Segment]:
    """The lesson video's segments already counted for the trainee in this round (discarded time excluded)."""
    rows = db.session.execute(
        sa.select(StudyInterval.played).where(
            StudyInterval.trainee_id == trainee.id,
            StudyInterval.lesson_id == lesson.id,
            StudyInterval.status.in_(COUNTING),
            _in_round(trainee.id),
        )
    ).scalars()
    return merge([segment for text in rows for segment in parse_segments(text)])


def check_segments(raw: Any, lesson: _LessonFacts) -> list[Segment]:
    """Reported played segments as numbers within the video; anything malformed is refused."""
    refused = StudyRefusedError(_("播放记录无效，本次不计学时。"), "bad_segments")
    if not isinstance(raw, list) or len(raw) > 50:
        raise refused
    segments: list[Segment] = []
    for item in raw:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(v, int | float) for v in item)):
            raise refused
        start, end = float(item[0]), float(item[1])
        if not (0 <= start < end <= lesson.video_seconds + 1):
            raise refused
        segments.append((start, min(end, float(lesson.video_seconds))))
    return merge(segments)


# --- heartbeats ------------------------------------------------------------------------------------------


def _in_round(trainee_id: Any) -> Any:
    """Intervals that started in the current round of the trainee's enrolment in their lesson's course."""
    course_lesson = aliased(Lesson)
    since = (
        sa.select(Enrolment.counts_from)
        .join(course_lesson, course_lesson.course_id == Enrolment.course_id)
        .where(Enrolment.trainee_id == trainee_id, course_lesson.id == StudyInterval.lesson_id)
        .correlate(StudyInterval)
        .scalar_subquery()
    )
    return StudyInterval.started_at >= since


def _used_columns(trainee_id: Any, lesson_id: Any, since: Any) -> tuple[Any, Any]:
    """Seconds that count (or may) on the lesson in this round, and since the day's start in all: two scalar
    subqueries for the caps."""
    counting = sa.and_(StudyInterval.trainee_id == trainee_id, StudyInterval.status.in_(COUNTING))
    seconds = sa.func.coalesce(sa.func.sum(StudyInterval.seconds), 0)
    on_lesson = (
        sa.select(seconds)
        .where(counting, StudyInterval.lesson_id == lesson_id, _in_round(trainee_id))
        .scalar_subquery()
    )
    today = sa.select(seconds).where(counting, StudyInterval.ended_at > since).scalar_subquery()
    return on_lesson, today


def _used_seconds(trainee: User, lesson: _LessonFacts, now: dt.datetime) -> tuple[int, int]:
    """Seconds that count (or may) on this lesson, and today in all: one query for both caps."""
    columns = _used_columns(trainee.id, lesson.id, _day_start(now))
    lesson_total, day_total = db.session.execute(sa.select(*columns)).one()
    return int(lesson_total), int(day_total)


def _day_start(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(local_tz())
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


# The heartbeat's statements, built once: heartbeats are many, and building a statement (and its cache key) costs
# more than running it. The values are bound on each call (named b_*: SQLAlchemy keeps a table's column names for
# an UPDATE's SET clause). The writes are Core statements on the tables: no ORM bookkeeping per beat.
_LEASES, _INTERVALS = cast(sa.Table, StudyLease.__table__), cast(sa.Table, StudyInterval.__table__)
_OPEN = (IntervalStatus.PROVISIONAL, IntervalStatus.AWAITING_ALTERNATIVE)


@functools.cache
def _advance_statement() -> sa.Update:
    """The lease's conditional advance to the next sequence number at the server's time of the beat: only for the
    page's token, on its lesson, and not too soon after the previous beat (the rules `heartbeat` explains)."""
    seq, now = sa.bindparam("b_seq", type_=sa.Integer()), sa.bindparam("b_now", type_=UTCDateTime())
    return (
        sa.update(_LEASES)
        .where(
            _LEASES.c.trainee_id == sa.bindparam("b_trainee_id", type_=sa.Integer()),
            _LEASES.c.token == sa.bindparam("b_token", type_=sa.String()),
            _LEASES.c.seq == seq - 1,
            _LEASES.c.lesson_id == sa.bindparam("b_lesson_id", type_=sa.Integer()),
            sa.func.coalesce(_LEASES.c.last_beat_at, now) <= sa.bindparam("b_earliest", type_=UTCDateTime()),
        )
        .values(seq=seq, last_beat_at=now)
    )


@functools.cache
def _extend_statement() -> sa.Update:
    """The open interval grows by the step's credit (no SELECT of it first)."""
    return (
        sa.update(_INTERVALS)
        .where(_INTERVALS.c.id == sa.bindparam("b_interval_id", type_=sa.Integer()), _INTERVALS.c.status.in_(_OPEN))
        .values(
            seconds=_INTERVALS.c.seconds + sa.bindparam("b_credit", type_=sa.Integer()),
            beats=_INTERVALS.c.beats + 1,
            ended_at=sa.bindparam("b_now", type_=UTCDateTime()),
        )
    )


_BEAT_STATE_QUERIES: dict[str, Any] = {}


def _beat_state_query(dialect: str) -> Any:
    """The heartbeat's read, per dialect; on PostgreSQL with the lease's advance in the same statement. It reads
    plain columns, not entities: loading two ORM objects cost more than running the statement."""
    query = _BEAT_STATE_QUERIES.get(dialect)
    if query is not None:
        return query
    trainee_id = sa.bindparam("b_trainee_id", type_=sa.Integer())
    enrolled = sa.exists().where(Enrolment.trainee_id == trainee_id, Enrolment.course_id == Lesson.course_id)
    since = sa.bindparam("b_since", type_=UTCDateTime())
    lease = [_LEASES.c[name] for name in _LeaseFacts.COLUMNS]
    columns: list[Any] = [Lesson.id, Lesson.kind, Lesson.minutes, Lesson.video_seconds, *lease]
    columns += _used_columns(trainee_id, Lesson.id, since)
    if dialect == "postgresql":
        # The advance is a CTE: the statement's read does not see its UPDATE, so the lease read is the one before
        # the beat (the refusals explain from it); whether it advanced is a column. It advances only where nothing
        # after it can refuse: a lesson the read will find, and not a video (its reported segments are checked
        # first). A refusal thus never leaves an advance behind. SQLite has no UPDATE in WITH.
        lesson_id = sa.bindparam("b_lesson_id", type_=sa.Integer())
        studied = (
            sa.exists()
            .where(Lesson.id == lesson_id, Lesson.kind != LessonKind.VIDEO, Course.id == Lesson.course_id)
            .where(Course.status == CourseStatus.PUBLISHED, enrolled)
        )
        advanced = _advance_statement().where(studied).returning(_LEASES.c.trainee_id).cte("advanced")
        columns.append(sa.select(sa.func.count()).select_from(advanced).scalar_subquery())
        # This transaction's COMMIT does not wait for the WAL flush (the database stays consistent; a crash
        # within a fraction of a second may lose the last heartbeats, which then simply credit nothing).
        columns.append(sa.func.set_config("synchronous_commit", "off", True))
    query = (
        sa.select(*columns)
        .select_from(Lesson)
        .join(Course, Course.id == Lesson.course_id)
        .outerjoin(_LEASES, _LEASES.c.trainee_id == trainee_id)
        .where(Lesson.id == sa.bindparam("b_lesson_id", type_=sa.Integer()), Course.status == CourseStatus.PUBLISHED)
        .where(enrolled)
    )
    _BEAT_STATE_QUERIES[dialect] = query
    return query


@dataclasses.dataclass(frozen=True)
class _Beat:
    """What one heartbeat asks for: the page's lease token and sequence number, at the server's time."""

    trainee: User
    lesson_id: int
    token: str
    seq: int
    now: dt.datetime
    earliest: dt.datetime  # the previous beat must be no later than this (STUDY_HEARTBEAT_MIN_SECONDS)

    def params(self) -> dict[str, Any]:
        return {
            "b_trainee_id": self.trainee.id, "b_lesson_id": self.lesson_id, "b_token": self.token,
            "b_seq": self.seq, "b_now": self.now, "b_earliest": self.earliest,
        }  # fmt: skip


@dataclasses.dataclass(frozen=True)
class _LessonFacts:
    """What a heartbeat needs of its lesson."""

    id: int
    kind: LessonKind
    minutes: int
    video_seconds: int


@dataclasses.dataclass(frozen=True)
class _LeaseFacts:
    """The trainee's lease as the heartbeat's read found it (before the beat's advance)."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "token", "lesson_id", "seq", "last_beat_at", "interval_id", "check_at", "check_due_by", "blocked",
    )  # fmt: skip

    token: str | None
    lesson_id: int | None
    seq: int
    last_beat_at: dt.datetime | None
    interval_id: int | None
    check_at: dt.datetime | None
    check_due_by: dt.datetime | None
    blocked: bool


def _beat_state(beat: _Beat) -> tuple[_LessonFacts, _LeaseFacts | None, tuple[int, int], bool | None]:
    """In one query: the lesson (of a published course the trainee is enrolled in, else 404), the trainee's lease
    as it was before the beat, and the seconds used on the lesson and today (the same rules as `study_lesson`,
    `_lease`, `_used_seconds`); on PostgreSQL also whether the lease advanced (None where it was not tried: on
    SQLite, and for a video). Plain rows on the session's connection: no ORM objects are loaded or told."""
    dialect = db.session.get_bind().dialect.name
    params = beat.params() | {"b_since": _day_start(beat.now)}
    row = core_execute(_beat_state_query(dialect), params).first()
    if row is None:
        raise NotFoundError(_("课时不存在。"))
    lesson = _LessonFacts(*row[:4])
    lease = _LeaseFacts(*row[4:12]) if row[6] is not None else None  # seq is never NULL in a lease row
    lesson_total, day_total = row[12:14]
    advanced = bool(row[14]) if dialect == "postgresql" and lesson.kind is not LessonKind.VIDEO else None
    return lesson, lease, (int(lesson_total), int(day_total)), advanced


def heartbeat(
    *,
    trainee: User,
    lesson_id: int,
    token: str,
    seq: int,
    visible: bool,
    active: bool,
    played: Any,
    now: dt.datetime,
) -> BeatResult:
    """Credit the server time since the previous heartbeat of this page's lease (see the module's rules).

    Heartbeats are many: the usual one is one statement (the lesson, lease and used seconds read, with the lease's
    conditional advance on PostgreSQL; on SQLite and for a video the advance follows) and, when it credits, one
    UPDATE of the open interval; no audit row (the settled interval is audited). A refusal has written nothing.
    The lease is loaded as an ORM object only on the rarer steps that change more of it (a face check falls due or
    is missed, an interval starts)."""
    earliest = now - dt.timedelta(seconds=_setting("STUDY_HEARTBEAT_MIN_SECONDS"))
    beat = _Beat(trainee=trainee, lesson_id=lesson_id, token=token, seq=seq, now=now, earliest=earliest)
    lesson, lease, used, advanced = _beat_state(beat)
    if lease is None or lease.token is None or not secrets.compare_digest(lease.token, token):
        raise StudyRefusedError(_("本页面的学习已在其他页面或设备上接续，或已结束：请重新进入课时。"), "not_lease")
    if lease.lesson_id != lesson.id:
        raise StudyRefusedError(_("心跳与正在学习的课时不符，不计学时。"), "other_lesson")
    if seq != lease.seq + 1:
        raise StudyRefusedError(_("心跳序号无效（重复或过期），不计学时。"), "replayed", seq=lease.seq)
    previous = lease.last_beat_at or now
    if previous > earliest:
        raise StudyRefusedError(_("心跳过于频繁，不计学时。"), "too_frequent")
    segments = check_segments(played, lesson) if lesson.kind is LessonKind.VIDEO else []
    if advanced is None:
        advanced = core_execute(_advance_statement(), beat.params()).rowcount > 0
    if not advanced:  # the read saw the step as due, but a concurrent heartbeat took it first
        raise StudyRefusedError(_("心跳序号无效（重复或过期），不计学时。"), "replayed")
    _forget_loaded_lease(trainee)  # the row changed under an object loaded earlier in this session, if any
    state = _advance_checks(trainee, lease, lesson, now)
    if state.discarded:
        used = _used_seconds(trainee, lesson, now)  # time was discarded: the caps count without it
    elapsed = (now - previous).total_seconds()
    credit, reason, segments = _credit_for(trainee, state.blocked, lesson, elapsed, visible, active, segments, used)
    if credit > 0:
        _add_to_interval(trainee, state.interval_id, lesson, previous, now, credit, segments)
    elif state.interval_id is not None:
        # The next credited step starts a new interval: the record shows the gap.
        core_execute(_unlink_statement(), {"b_trainee_id": trainee.id})
    db.session.flush()
    return BeatResult(
        credited=credit,
        lesson_seconds=used[0] + credit,
        reason=reason,
        check_due_by=state.check_due_by,
        blocked=state.blocked,
        recounted=state.discarded,
    )


@functools.cache
def _unlink_statement() -> sa.Update:
    """The lease no longer extends an interval."""
    trainee_id = sa.bindparam("b_trainee_id", type_=sa.Integer())
    return sa.update(_LEASES).where(_LEASES.c.trainee_id == trainee_id).values(interval_id=None)


def _loaded(model: type[Any], key: int) -> Any:
    """The object of `model` with primary key `key` if this session has it loaded, else None (no query). The key is
    SQLAlchemy's documented identity key, (class, primary key tuple, identity token), built directly: the
    `identity_key()` helper's mapper lookups cost more, once per heartbeat."""
    return db.session.identity_map.get((model, (key,), None))


def _forget_loaded_lease(trainee: User) -> None:
    loaded = _loaded(StudyLease, trainee.id)
    if loaded is not None:
        db.session.expire(loaded)


@dataclasses.dataclass(frozen=True)
class _CheckState:
    """The lease's face-check state after a beat's step, and whether time was discarded."""

    discarded: bool
    blocked: bool
    check_due_by: dt.datetime | None
    interval_id: int | None


def _advance_checks(trainee: User, lease: _LeaseFacts, lesson: _LessonFacts, now: dt.datetime) -> _CheckState:
    """A check whose window passed is missed (time discarded, crediting stops); a due one is asked for."""
    missed = lease.check_due_by is not None and now > lease.check_due_by
    due = lease.check_at is not None and now >= lease.check_at and (lease.check_due_by is None or missed)
    if not (missed or due):
        return _CheckState(False, lease.blocked, lease.check_due_by, lease.interval_id)
    held = _held_lease(trainee)  # the rarer step: the lease as an object, with the beat's advance in it
    if missed:
        _expire_pending_checks(trainee, now)
        discard_provisional(trainee=trainee, now=now, reason="check_missed")
        held.check_due_by = None
        held.blocked = True
    if held.check_at is not None and now >= held.check_at and held.check_due_by is None:
        due_by = now + dt.timedelta(seconds=_setting("TRAINING_FACE_WINDOW_SECONDS"))
        db.session.add(FaceCheck(trainee_id=trainee.id, lesson_id=lesson.id, requested_at=now, due_by=due_by))
        held.check_due_by = due_by
        held.check_at = None
    return _CheckState(missed, held.blocked, held.check_due_by, held.interval_id)


def _credit_for(
    trainee: User,
    blocked: bool,
    lesson: _LessonFacts,
    elapsed: float,
    visible: bool,
    active: bool,
    segments: list[Segment],
    used: tuple[int, int],
) -> tuple[int, str, list[Segment]]:
    """The seconds this heartbeat earns, why not more, and the video segments they stand for."""
    if elapsed > _setting("STUDY_HEARTBEAT_GAP_SECONDS"):
        return 0, str(_("心跳中断过久，中断期间不计学时。")), []
    if blocked:
        return 0, str(_("请先完成人脸核验，通过后继续计时。")), []
    if not visible:
        return 0, str(_("页面不在前台，暂停计时。")), []
    step = min(elapsed, _setting("STUDY_HEARTBEAT_CAP_SECONDS"))
    new: list[Segment] = []
    if lesson.kind is LessonKind.VIDEO:
        if length(segments) > elapsed * _setting("STUDY_PLAYBACK_RATE_MAX") + 1:
            current_app.logger.warning("study: trainee %s reported more video than time allows", trainee.id)
            return 0, str(_("播放速度超过允许的倍速，本段不计学时。")), []
        new = subtract(segments, covered_segments(trainee, lesson))
        step = min(step, length(new))
        if step <= 0:
            return 0, str(_("未播放新的视频内容，不计学时（拖动进度或重复观看不计）。")), []
    elif not active:
        return 0, str(_("长时间无操作，暂停计时。")), []
    lesson_left = lesson.minutes * 60 + _setting("STUDY_LESSON_MARGIN_SECONDS") - used[0]
    day_left = _setting("STUDY_DAILY_CAP_MINUTES") * 60 - used[1]
    credit = int(max(min(step, lesson_left, day_left), 0))
    reason = ""
    if credit < int(step):
        reason = str(_("本课时学时已满。")) if lesson_left <= day_left else str(_("今日学时已达上限，明日再学。"))
    return credit, reason, trim(new, credit)


def _add_to_interval(
    trainee: User,
    interval_id: int | None,
    lesson: _LessonFacts,
    previous: dt.datetime,
    now: dt.datetime,
    credit: int,
    segments: list[Segment],
) -> None:
    extend = {"b_interval_id": interval_id, "b_credit": credit, "b_now": now}
    # The usual step: the open interval grows by one compact UPDATE (no SELECT of it first).
    if interval_id and not segments and core_execute(_extend_statement(), extend).rowcount:
        loaded = _loaded(StudyInterval, interval_id)
        if loaded is not None:
            db.session.expire(loaded, ["seconds", "beats", "ended_at"])  # the row changed under it
        return
    interval = db.session.get(StudyInterval, interval_id) if interval_id else None
    if interval is None or interval.status not in (IntervalStatus.PROVISIONAL, IntervalStatus.AWAITING_ALTERNATIVE):
        status = IntervalStatus.AWAITING_ALTERNATIVE if needs_alternative(trainee) else IntervalStatus.PROVISIONAL
        interval = StudyInterval(
            trainee_id=trainee.id, lesson_id=lesson.id, started_at=previous, ended_at=now, status=status
        )
        db.session.add(interval)
        db.session.flush()
        _held_lease(trainee).interval_id = interval.id
    interval.seconds += credit
    interval.beats += 1
    interval.ended_at = now
    if segments:
        interval.played = format_segments(merge([*parse_segments(interval.played), *segments]))


def page_settings() -> dict[str, float]:
    """The numbers the lesson page's script needs (it decides nothing: the server counts)."""
    return {
        "beat": int(_setting("STUDY_HEARTBEAT_SECONDS")),
        "idle": int(_setting("STUDY_IDLE_SECONDS")),
        "rate": _setting("STUDY_PLAYBACK_RATE_MAX"),
    }
