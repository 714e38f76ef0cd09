"""The computer-based theory exam: sign-in at the seat, the clock on server time, acknowledged saves, submission.

- One device at a time: signing in binds the seat's random cookie token to the attempt; another device signing in as
  the same candidate is refused until an invigilator moves the candidate (which releases the binding).
- Saves are numbered 1, 2, ... per attempt by the browser. The next number is applied (a conditional UPDATE on the
  attempt row takes it, so two requests can never both take it); a number already applied with the same content is
  acknowledged again (a resend after a lost answer); anything else is refused with the number expected.
- Time credited back: the page calls in every CBT_HEARTBEAT_SECONDS; a server-side gap between two contacts longer
  than CBT_OFFLINE_GRACE_SECONDS counts as time the server was unreachable, credited up to
  CBT_OFFLINE_CREDIT_MAX_SECONDS per attempt. The client's clock is never read.
- The saves form a hash chain; submission grades the latest answer per question and seals the chain's head with the
  score; `verify_attempt` recomputes everything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets
import threading
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from exams.bank.models import OPTION_LETTERS, Question, QuestionKind
from exams.cbt.models import AnswerSave, Attempt, AttemptStatus, ExamRun
from exams.checkin.services import admission, booking_for_ticket_number
from exams.papers.models import PaperAnswer
from exams.papers.services import generate_paper, paper_questions, paper_score, record_answers
from exams.results.services import record_part_result
from exams.sessions.bookings import exam_day
from exams.sessions.models import Booking, ExamPart, ExamSession
from exams.sessions.scoping import managed_session
from opcert.accounts import throttle
from opcert.accounts.idnumber import normalise
from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.db import UTCDateTime, rowcount, utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.timeutil import local

GENESIS = "0" * 64
REASON_MIN = 2


class ExamError(DomainError):
    """A theory-exam step refused; `code` tells the page what to do."""

    def __init__(self, message: str, code: str = "refused", **extra: Any) -> None:
        super().__init__(message, {"": message})
        self.code = code
        self.extra = extra


@dataclasses.dataclass(frozen=True)
class SaveAck:
    """A save's answer to the browser: applied now or before (duplicate), and the attempt's state."""

    seq: int
    number: int
    duplicate: bool
    state: dict[str, Any]


def device_hash(token: str) -> str:
    """What is stored of a seat's cookie token."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- sign-in ------------------------------------------------------------------------------------------------------


def _allowed_from(centre_id: int, ip: str) -> bool:
    networks = current_app.config["CBT_ALLOWED_NETWORKS"].get(str(centre_id))
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


def _run_of(session_id: int) -> ExamRun | None:
    return db.session.execute(sa.select(ExamRun).where(ExamRun.session_id == session_id)).scalar_one_or_none()


def _attempt_of(booking_id: int) -> Attempt | None:
    return db.session.execute(sa.select(Attempt).where(Attempt.booking_id == booking_id)).scalar_one_or_none()


def _signin_booking(ticket: str, id_number: str, ip: str, now: dt.datetime) -> Booking:
    """The booking a ticket number and ID number name; wrong pairs are counted per ticket and per address.

    The seat's form is public and ticket numbers follow a pattern: without the count, ID numbers could be guessed
    (the login throttle's store and policies: a short delay per ticket, a long one per address).
    """
    text = "".join(ticket.split()).upper()
    store = throttle.get_store()
    keys = (("cbt-ticket:" + text[:40], throttle.account_policy()), ("cbt-ip:" + ip[:64], throttle.ip_policy()))
    wait = max(store.get(key, now).wait_seconds(now) for key, _policy in keys)
    if wait:
        store.record_failure(keys[1][0], now, keys[1][1])  # knocking counts against the address, as for logins
        record_event("cbt.signin_refused", object_type="address", object_id=ip[:64], details={"code": "throttled"})
        raise ExamError(_("登录尝试次数过多，请在%(n)d秒后再试，或请监考员协助。", n=wait), "throttled")
    booking = booking_for_ticket_number(text)
    number = normalise(id_number).upper()
    if booking is None or not hmac.compare_digest((booking.trainee.id_number or "").encode(), number.encode()):
        for key, policy in keys:
            store.record_failure(key, now, policy)
        record_event("cbt.signin_refused", object_type="address", object_id=ip[:64], details={"code": "wrong"})
        raise ExamError(_("准考证号或身份证号码不正确，请核对准考证后重新输入。"), "wrong")
    store.reset(keys[0][0])
    session = booking.session
    if session.part is not ExamPart.THEORY or exam_day(session) != local(now).date():
        raise ExamError(_("这张准考证不是今天的理论考试。"), "not_today")
    return booking


def sign_in(
    *, ticket: str, id_number: str, ip: str, terminal: str, device_token: str | None, now: dt.datetime | None = None
) -> tuple[Attempt, str]:
    """Sign a checked-in candidate in at a seat; returns the attempt and the seat's device token (new or kept).

    The first sign-in draws the candidate's own paper. The same device signs in again freely (reload, crash);
    another device is refused while the attempt is bound (an invigilator's move releases it).
    """
    now = now or utcnow()
    booking = _signin_booking(ticket, id_number, ip, now)
    if not _allowed_from(booking.session.centre_id, ip):
        record_event(
            "cbt.signin_refused", object_type="exam_booking", object_id=booking.id, details={"code": "network"}
        )
        raise ExamError(_("请在考点指定的考试终端上登录。"), "network")
    if admission(booking.id) is None:
        raise ExamError(_("您还没有办理入场核验，请先到入场核验处。"), "not_admitted")
    attempt = _attempt_of(booking.id)
    if attempt is not None and attempt.status is AttemptStatus.SUBMITTED:
        raise ExamError(_("您已经交卷，不能再次登录。"), "submitted")
    run = _run_of(booking.session_id)
    if run is not None and run.ended_at is not None:
        # Ending submitted every open paper; one begun now would wait for a start that never comes.
        raise ExamError(_("本场考试已经结束，不能再登录。如有疑问，请联系监考员。"), "ended")
    if attempt is not None and attempt.device_hash is not None:
        if device_token is None or not hmac.compare_digest(attempt.device_hash, device_hash(device_token)):
            record_event(
                "cbt.signin_refused", object_type="cbt_attempt", object_id=attempt.id, details={"code": "second_device"}
            )
            raise ExamError(_("该考生已在另一台终端登录。如需换座，请联系监考员。"), "second_device")
        token = device_token
    else:
        token = secrets.token_urlsafe(32)
    if attempt is None:
        paper = generate_paper(item_id=booking.item_id, candidate_id=booking.trainee_id, purpose="theory_exam")
        minutes = min(paper.duration_minutes, booking.session.duration_minutes)
        attempt = Attempt(
            booking_id=booking.id,
            session_id=booking.session_id,
            paper_id=paper.id,
            status=AttemptStatus.SEATED,
            duration_seconds=minutes * 60,
            signed_in_at=now,
            extra_seconds=0,
            credited_seconds=0,
            paused_seconds=0,
            last_seq=0,
            head_hash="",
        )
        db.session.add(attempt)
    attempt.device_hash, attempt.ip, attempt.terminal = device_hash(token), ip[:45], terminal[:60]
    _credit_gap(attempt, now)  # a move to another seat is time the candidate could not answer
    _start_if_running(attempt, run, now)
    db.session.flush()
    record_event("cbt.signed_in", object_type="cbt_attempt", object_id=attempt.id, details={"terminal": terminal[:60]})
    return attempt, token


def attempt_for_device(token: str | None, *, lock: bool = False) -> Attempt:
    """The attempt bound to a seat's cookie token (locked FOR UPDATE when asked), or NotFoundError."""
    if not token:
        raise NotFoundError(_("请先登录考试。"))
    query = sa.select(Attempt).where(Attempt.device_hash == device_hash(token))
    attempt = db.session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if attempt is None:
        raise NotFoundError(_("请先登录考试。"))
    return attempt


# --- the clock ------------------------------------------------------------------------------------------------------


def _start_if_running(attempt: Attempt, run: ExamRun | None, now: dt.datetime) -> None:
    if attempt.status is AttemptStatus.SEATED and run is not None and run.started_at and run.ended_at is None:
        attempt.status, attempt.started_at = AttemptStatus.ANSWERING, now
        attempt.last_contact_at = now


def remaining_seconds(attempt: Attempt, now: dt.datetime) -> int | None:
    """Seconds left on server time (None before the start; a running pause stops the clock)."""
    deadline = attempt.deadline
    if deadline is None:
        return None
    if attempt.status is AttemptStatus.SUBMITTED:
        return 0
    if attempt.paused_at is not None:
        deadline += now - attempt.paused_at
    return _seconds_until(deadline, now)


def _seconds_until(deadline: dt.datetime, now: dt.datetime) -> int:
    return max(0, int((deadline - now).total_seconds()))


def _credit_gap(attempt: Attempt, now: dt.datetime, *, write: bool = True) -> int:
    """Credit back time the server did not hear from the seat (its own records: last contact → now).

    With write=False the new values are only set on the loaded row: the caller writes them in its own UPDATE.
    """
    cfg = current_app.config
    credit = 0
    if attempt.status is AttemptStatus.ANSWERING and attempt.last_contact_at is not None:
        gap = (now - attempt.last_contact_at).total_seconds()
        if gap > float(cfg["CBT_OFFLINE_GRACE_SECONDS"]):
            owed = int(gap - float(cfg["CBT_HEARTBEAT_SECONDS"]))
            room = int(cfg["CBT_OFFLINE_CREDIT_MAX_SECONDS"]) - attempt.credited_seconds
            # Only up to when time ran out without the gap: time after that was not lost to the outage.
            before = attempt.deadline
            lost_before_end = int((before - attempt.last_contact_at).total_seconds()) if before else owed
            credit = max(0, min(owed, room, lost_before_end))
            if credit:
                record_event(
                    "cbt.time_credited",
                    object_type="cbt_attempt",
                    object_id=attempt.id,
                    details={"seconds": credit, "gap": int(gap)},
                )
    if write:
        attempt.credited_seconds += credit
        attempt.last_contact_at = now
    else:
        set_committed_value(attempt, "credited_seconds", attempt.credited_seconds + credit)
        set_committed_value(attempt, "last_contact_at", now)
    return credit


def _answers(attempt_id: int) -> dict[int, str]:
    """The latest saved answer per question number."""
    rows = db.session.execute(
        sa.select(AnswerSave.number, AnswerSave.answer)
        .where(AnswerSave.attempt_id == attempt_id)
        .order_by(AnswerSave.seq)
    ).all()
    return {number: answer for number, answer in rows}


def state(attempt: Attempt, now: dt.datetime | None = None, *, with_answers: bool = False) -> dict[str, Any]:
    """What the exam page needs: status, seconds left, the last applied save, and the answers when asked."""
    now = now or utcnow()
    data: dict[str, Any] = {
        "status": attempt.status.value,
        "remaining": remaining_seconds(attempt, now),
        "last_seq": attempt.last_seq,
        "credited": attempt.credited_seconds,
    }
    if with_answers:
        data["answers"] = {str(k): v for k, v in _answers(attempt.id).items()}
    if attempt.status is AttemptStatus.SUBMITTED and _shows_score(attempt):
        data["score"], data["passed"] = attempt.score, attempt.passed
    return data


def _shows_score(attempt: Attempt) -> bool:
    run = _run_of(attempt.session_id)
    return bool(run.show_score) if run is not None else bool(current_app.config["CBT_SHOW_SCORE"])


def _lock(attempt: Attempt) -> Attempt:
    """The attempt row again, locked against concurrent changes (PostgreSQL; SQLite writes are serialised)."""
    db.session.refresh(attempt, with_for_update=True)
    return attempt


def contact(attempt: Attempt, now: dt.datetime | None = None) -> dict[str, Any]:
    """A heartbeat: credit any gap, start when the run has started, submit when time is up; the state."""
    now = now or utcnow()
    attempt = _lock(attempt)
    _credit_gap(attempt, now)
    _start_if_running(attempt, _run_of(attempt.session_id), now)
    if attempt.status is AttemptStatus.ANSWERING and remaining_seconds(attempt, now) == 0:
        submit(attempt, how="time", now=now)
    db.session.flush()
    return state(attempt, now)


# --- saves ----------------------------------------------------------------------------------------------------------


def chain_hash(
    prev: str, attempt_id: int, seq: int, number: int, question_id: int, answer: str, at: dt.datetime
) -> str:
    """The hash of one save: its fields and the previous save's hash."""
    return hashlib.sha256((prev + _chain_tail(attempt_id, seq, number, question_id, answer, at)).encode()).hexdigest()


def _chain_tail(attempt_id: int, seq: int, number: int, question_id: int, answer: str, at: dt.datetime) -> str:
    """What a save's hash covers after the previous hash (the one-statement save hashes it in the database)."""
    stamp = at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    return f"|{attempt_id}|{seq}|{number}|{question_id}|{answer}|{stamp}"


@dataclasses.dataclass(frozen=True)
class _Slot:
    """A paper question as the save path needs it: its id, the options it shows, whether several may be chosen."""

    question_id: int
    options: int
    multiple: bool


# Papers never change once drawn, so their layout is read once per process (bounded: the oldest are dropped).
_LAYOUTS: dict[int, tuple[_Slot, ...]] = {}
_LAYOUTS_MAX = 20_000
_LAYOUTS_LOCK = threading.Lock()


def _known_layout(paper_id: int) -> tuple[_Slot, ...] | None:
    with _LAYOUTS_LOCK:
        return _LAYOUTS.get(paper_id)


def _layout(attempt: Attempt) -> tuple[_Slot, ...]:
    found = _known_layout(attempt.paper_id)
    if found is not None:
        return found
    entries = attempt.paper.entries
    ids = [int(e["id"]) for e in entries]
    kinds = dict(db.session.execute(sa.select(Question.id, Question.kind).where(Question.id.in_(ids))).tuples().all())
    layout = tuple(_Slot(int(e["id"]), len(e["order"]), kinds[int(e["id"])] is QuestionKind.MULTIPLE) for e in entries)
    with _LAYOUTS_LOCK:
        if len(_LAYOUTS) >= _LAYOUTS_MAX:
            _LAYOUTS.pop(next(iter(_LAYOUTS)))
        _LAYOUTS[attempt.paper_id] = layout
    return layout


def _clean_answer(attempt: Attempt, number: int, raw: str) -> tuple[int, str]:
    """The question id and the answer's letters (sorted) for question `number` of the attempt's paper."""
    return _letters(_layout(attempt), number, raw)


def _letters(layout: tuple[_Slot, ...], number: int, raw: str) -> tuple[int, str]:
    if not 1 <= number <= len(layout):
        raise ExamError(_("第%(n)d题不在您的试卷中。", n=number), "not_in_paper")
    slot = layout[number - 1]
    letters = "".join(sorted(set("".join(ch for ch in raw.upper() if not ch.isspace()))))
    if not slot.options:
        if letters not in {"", "T", "F"}:
            raise ExamError(_("第%(n)d题（判断题）的答案只能是“对”或“错”。", n=number), "bad_answer")
        return slot.question_id, letters
    if any(ch not in OPTION_LETTERS[: slot.options] for ch in letters):
        raise ExamError(_("第%(n)d题的答案不是本题的选项。", n=number), "bad_answer")
    if not slot.multiple and len(letters) > 1:
        raise ExamError(_("第%(n)d题是单选题，只能选一个答案。", n=number), "bad_answer")
    return slot.question_id, letters


def _refuse(attempt: Attempt, code: str, message: str, **extra: Any) -> ExamError:
    record_event("cbt.save_refused", object_type="cbt_attempt", object_id=attempt.id, details={"code": code, **extra})
    return ExamError(message, code, **extra)


@dataclasses.dataclass(frozen=True)
class _AnswerRow:
    """The values of one save's row in the chain."""

    seq: int
    number: int
    question_id: int
    answer: str
    saved_at: dt.datetime
    prev_hash: str
    hash: str


def _take_and_record(attempt: Attempt, save: _AnswerRow) -> int:
    """Take sequence number `save.seq` on the attempt row and insert the save's row; 1 if taken, else 0 (nothing).

    The conditional UPDATE takes the number (never twice, whatever runs at the same time) and records the contact.
    On PostgreSQL the UPDATE is a data-modifying CTE feeding the INSERT: one round trip, the same transaction, and
    the row is inserted only when the number was taken. SQLite (no DML in a WITH) runs the two statements.
    """
    attempts, saves = cast(sa.Table, Attempt.__table__), cast(sa.Table, AnswerSave.__table__)
    take = (
        sa.update(attempts)
        .where(attempts.c.id == attempt.id, attempts.c.last_seq == save.seq - 1)
        .values(
            last_seq=save.seq,
            head_hash=save.hash,
            last_save_at=save.saved_at,
            last_contact_at=save.saved_at,
            credited_seconds=attempt.credited_seconds,
        )
    )
    row = {
        "seq": save.seq,
        "number": save.number,
        "question_id": save.question_id,
        "answer": save.answer,
        "saved_at": save.saved_at,
        "prev_hash": save.prev_hash,
        "hash": save.hash,
    }
    if db.session.get_bind().dialect.name == "postgresql":
        taken = take.returning(attempts.c.id).cte("taken")
        values = [sa.literal(value, saves.c[name].type) for name, value in row.items()]
        insert = sa.insert(saves).from_select(["attempt_id", *row], sa.select(taken.c.id, *values)).add_cte(taken)
        # Counted by its RETURNING rows (an INSERT ... SELECT's rowcount is not reported through the driver here).
        return len(db.session.execute(insert.returning(saves.c.id)).all())
    if rowcount(take) != 1:
        return 0
    db.session.execute(sa.insert(saves).values(attempt_id=attempt.id, **row))
    return 1


def _write_contact(attempt: Attempt) -> None:
    db.session.execute(
        sa.update(Attempt)
        .where(Attempt.id == attempt.id)
        .values(credited_seconds=attempt.credited_seconds, last_contact_at=attempt.last_contact_at),
        execution_options={"synchronize_session": False},
    )


def save_answer(
    *, attempt: Attempt, seq: int, number: int, answer: str, now: dt.datetime | None = None, locked: bool = False
) -> SaveAck:
    """Apply save `seq` (question `number` answered `answer`, letters as shown) or acknowledge it again.

    `locked`: the caller loaded the attempt FOR UPDATE in this transaction (attempt_for_device(lock=True)).
    Refusals raise ExamError after writing their audit row (the boundary commits both, and any submission).
    """
    now = now or utcnow()
    if not locked:
        attempt = _lock(attempt)
    _credit_gap(attempt, now, write=False)
    applied = False
    try:
        if seq <= attempt.last_seq:
            done = db.session.execute(
                sa.select(AnswerSave).where(AnswerSave.attempt_id == attempt.id, AnswerSave.seq == seq)
            ).scalar_one_or_none()
            if done is not None and done.number == number and done.answer == _clean_answer(attempt, number, answer)[1]:
                return SaveAck(seq, number, True, state(attempt, now))
            raise _refuse(
                attempt, "replayed", _("这次保存的序号已使用，内容不同，已拒绝。"), expected=attempt.last_seq + 1
            )
        if attempt.status is AttemptStatus.SUBMITTED:
            raise _refuse(attempt, "submitted", _("已经交卷，不能再修改答案。"))
        if attempt.status is AttemptStatus.SEATED:
            raise _refuse(attempt, "not_started", _("考试尚未开始。"))
        if attempt.status is AttemptStatus.PAUSED:
            raise _refuse(attempt, "paused", _("监考员已暂停您的考试，暂不能作答。"))
        if remaining_seconds(attempt, now) == 0:
            submit(attempt, how="time", now=now)
            raise _refuse(attempt, "time_up", _("考试时间已到，试卷已自动提交。"))
        if seq != attempt.last_seq + 1:
            raise _refuse(
                attempt, "out_of_order", _("保存的顺序不对，请按顺序重新发送。"), expected=attempt.last_seq + 1
            )
        question_id, letters = _clean_answer(attempt, number, answer)
        prev = attempt.head_hash or GENESIS
        digest = chain_hash(prev, attempt.id, seq, number, question_id, letters, now)
        save = _AnswerRow(seq, number, question_id, letters, now, prev, digest)
        if _take_and_record(attempt, save) != 1:
            raise _refuse(
                attempt, "out_of_order", _("保存的顺序不对，请按顺序重新发送。"), expected=attempt.last_seq + 1
            )
        applied = True
    finally:
        if not applied:
            _write_contact(attempt)
    for name, value in (("last_seq", seq), ("head_hash", digest), ("last_save_at", now)):
        set_committed_value(attempt, name, value)
    return SaveAck(seq, number, False, state(attempt, now))


# The usual save on PostgreSQL is one statement: a conditional UPDATE of the attempt that takes the number only
# while nothing else is owed (answering, not paused, no gap to credit, time left: every other case goes the locked
# way of save_answer and gets its refusal, credit or submission there), hashing the chain's link in the database
# (the same text as chain_hash), and the INSERT of the save's row fed by it. The device hash is in the condition:
# a moved or rebound seat matches nothing. The attempt and paper a seat's token named are remembered per process.
_ONE_STATEMENT_SAVE = (
    sa.text(
        """
WITH before AS (
    SELECT id, head_hash FROM cbt_attempts WHERE id = :attempt_id AND device_hash = :device_hash
), taken AS (
    UPDATE cbt_attempts AS a
    SET last_seq = :seq, last_save_at = :now, last_contact_at = :now,
        head_hash = encode(sha256(convert_to(COALESCE(NULLIF(before.head_hash, ''), :genesis) || :tail, 'UTF8')),
                           'hex')
    FROM before
    WHERE a.id = before.id AND a.head_hash = before.head_hash AND a.device_hash = :device_hash
      AND a.last_seq = :seq - 1 AND a.status = :answering AND a.paused_at IS NULL
      AND a.last_contact_at >= :contact_after
      AND a.started_at + (a.duration_seconds + a.extra_seconds + a.credited_seconds + a.paused_seconds)
          * interval '1 second' >= :time_left_after
    RETURNING a.id, COALESCE(NULLIF(before.head_hash, ''), :genesis) AS prev_hash, a.head_hash AS hash,
        a.credited_seconds, a.started_at + (a.duration_seconds + a.extra_seconds + a.credited_seconds
        + a.paused_seconds) * interval '1 second' AS deadline
), saved AS (
    INSERT INTO cbt_answer_saves (attempt_id, seq, number, question_id, answer, saved_at, prev_hash, hash)
    SELECT id, :seq, :number, :question_id, :answer, :now, prev_hash, hash FROM taken
    RETURNING attempt_id
)
SELECT taken.credited_seconds, taken.deadline FROM taken JOIN saved ON saved.attempt_id = taken.id
"""
    )
    .bindparams(
        sa.bindparam("now", type_=UTCDateTime()),
        sa.bindparam("contact_after", type_=UTCDateTime()),
        sa.bindparam("time_left_after", type_=UTCDateTime()),
    )
    .columns(credited_seconds=sa.Integer(), deadline=UTCDateTime())
)
_SEATS: dict[str, tuple[int, int]] = {}  # device hash → (attempt id, paper id)
_SEATS_MAX = 20_000
_SEATS_LOCK = threading.Lock()


def save_for_device(
    *, token: str | None, seq: int, number: int, answer: str, now: dt.datetime | None = None
) -> SaveAck:
    """Save `seq` for the attempt bound to a seat's token: in one statement when it is a usual save (PostgreSQL),
    else locked by save_answer with all its refusals. NotFoundError without a seat."""
    now = now or utcnow()
    hashed = device_hash(token) if token else ""
    with _SEATS_LOCK:
        known = _SEATS.get(hashed)
    if known is not None:
        ack = _save_in_one_statement(known, hashed, seq, number, answer, now)
        if ack is not None:
            return ack
    attempt = attempt_for_device(token, lock=True)
    if db.session.get_bind().dialect.name == "postgresql":
        with _SEATS_LOCK:
            if len(_SEATS) >= _SEATS_MAX:
                _SEATS.pop(next(iter(_SEATS)))
            _SEATS[hashed] = (attempt.id, attempt.paper_id)
    return save_answer(attempt=attempt, seq=seq, number=number, answer=answer, now=now, locked=True)


def _save_in_one_statement(
    seat: tuple[int, int], hashed: str, seq: int, number: int, answer: str, now: dt.datetime
) -> SaveAck | None:
    """The save applied by _ONE_STATEMENT_SAVE, or None when it is not a usual one (nothing written then)."""
    attempt_id, paper_id = seat
    layout = _known_layout(paper_id)
    if layout is None:
        return None
    try:
        question_id, letters = _letters(layout, number, answer)
    except ExamError:
        return None
    cfg = current_app.config
    row = db.session.execute(
        _ONE_STATEMENT_SAVE,
        {
            "attempt_id": attempt_id,
            "device_hash": hashed,
            "seq": seq,
            "number": number,
            "question_id": question_id,
            "answer": letters,
            "now": now,
            "genesis": GENESIS,
            "tail": _chain_tail(attempt_id, seq, number, question_id, letters, now),
            "answering": AttemptStatus.ANSWERING.value,
            "contact_after": now - dt.timedelta(seconds=float(cfg["CBT_OFFLINE_GRACE_SECONDS"])),
            # remaining_seconds counts whole seconds: under one left is time up (save_answer submits then).
            "time_left_after": now + dt.timedelta(seconds=1),
        },
    ).first()
    if row is None:
        return None
    remaining = _seconds_until(row.deadline, now)
    state = {"status": AttemptStatus.ANSWERING.value, "remaining": remaining, "last_seq": seq}
    return SaveAck(seq, number, False, {**state, "credited": row.credited_seconds})


# --- submission, grading, the seal ------------------------------------------------------------------------------------


def _seal(attempt: Attempt) -> str:
    stamp = attempt.submitted_at.isoformat(timespec="seconds") if attempt.submitted_at else ""
    text = f"{attempt.id}|{attempt.head_hash or GENESIS}|{attempt.last_seq}|{attempt.score}|{stamp}"
    return hashlib.sha256(text.encode()).hexdigest()


def _by_question(attempt: Attempt) -> dict[int, str]:
    entries = attempt.paper.entries
    return {int(entries[n - 1]["id"]): a for n, a in _answers(attempt.id).items()}


def submit(attempt: Attempt, *, how: str, now: dt.datetime | None = None) -> Attempt:
    """Grade the latest answer per question, store the score and seal the chain (nothing happens twice)."""
    now = now or utcnow()
    if attempt.status is AttemptStatus.SUBMITTED:
        return attempt
    if attempt.status is AttemptStatus.SEATED:
        raise ExamError(_("考试尚未开始，不能交卷。"), "not_started")
    record_answers(paper_id=attempt.paper_id, answers=_by_question(attempt))
    attempt.score = paper_score(attempt.paper_id)
    attempt.passed = attempt.score >= attempt.paper.pass_mark
    if attempt.paused_at is not None:
        attempt.paused_seconds += int((now - attempt.paused_at).total_seconds())
        attempt.paused_at = None
    attempt.status, attempt.submitted_at, attempt.submitted_how = AttemptStatus.SUBMITTED, now, how[:20]
    attempt.seal_hash = _seal(attempt)
    db.session.flush()
    record_event(
        "cbt.submitted",
        object_type="cbt_attempt",
        object_id=attempt.id,
        details={"how": how, "score": attempt.score, "saves": attempt.last_seq},
    )
    _record_theory_result(attempt, now)
    return attempt


def _record_theory_result(attempt: Attempt, now: dt.datetime) -> None:
    """Hand the score to results (the part's rules live there); a refusal is audited, the submission stands."""
    booking = db.session.get(Booking, attempt.booking_id)
    if booking is None:  # pragma: no cover - the foreign key keeps it
        return
    try:
        with db.session.begin_nested():
            record_part_result(
                person_id=booking.trainee_id,
                item_id=booking.item_id,
                part=ExamPart.THEORY,
                score=attempt.score or 0,
                session_id=attempt.session_id,
                decided_at=now,
            )
    except DomainError as exc:
        record_event(
            "cbt.result_refused",
            object_type="cbt_attempt",
            object_id=attempt.id,
            details={"reason": str(exc)},
        )


def submit_own(*, attempt: Attempt, now: dt.datetime | None = None) -> Attempt:
    """The candidate's own submission (or the page's at time end)."""
    attempt = _lock(attempt)
    now = now or utcnow()
    _credit_gap(attempt, now)
    return submit(attempt, how="candidate" if remaining_seconds(attempt, now) else "time", now=now)


def verify_attempt(attempt_id: int) -> list[str]:
    """Every problem found in a sealed attempt's saves, grading and seal (empty: intact)."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFoundError(_("答卷不存在。"))
    problems: list[str] = []
    prev = GENESIS
    saves = db.session.execute(
        sa.select(AnswerSave).where(AnswerSave.attempt_id == attempt.id).order_by(AnswerSave.seq)
    ).scalars()
    expected_seq = 1
    for save in saves:
        if save.seq != expected_seq:
            problems.append(_("第%(seq)d次保存缺失。", seq=expected_seq))
            expected_seq = save.seq
        digest = chain_hash(prev, attempt.id, save.seq, save.number, save.question_id, save.answer, save.saved_at)
        if save.prev_hash != prev or save.hash != digest:
            problems.append(_("第%(seq)d次保存的内容被改动。", seq=save.seq))
        prev, expected_seq = save.hash, expected_seq + 1
    if expected_seq - 1 != attempt.last_seq or prev != (attempt.head_hash or GENESIS):
        problems.append(_("保存记录与答卷不一致（缺失或多出）。"))
    if attempt.status is AttemptStatus.SUBMITTED:
        if attempt.seal_hash != _seal(attempt):
            problems.append(_("答卷的封存值不符：成绩或交卷记录被改动。"))
        problems.extend(_grading_problems(attempt))
    return problems


def _grading_problems(attempt: Attempt) -> list[str]:
    given = _by_question(attempt)
    graded = {
        row.question_id: row
        for row in db.session.execute(sa.select(PaperAnswer).where(PaperAnswer.paper_id == attempt.paper_id)).scalars()
    }
    problems: list[str] = []
    total = 0
    for shown in paper_questions(attempt.paper):
        order = list(next(e for e in attempt.paper.entries if int(e["id"]) == shown.question.id)["order"])
        letters = given.get(shown.question.id, "")
        original = (
            letters if not order else "".join(sorted(OPTION_LETTERS[order[OPTION_LETTERS.index(c)]] for c in letters))
        )
        row = graded.get(shown.question.id)
        points = shown.points if original == shown.question.answer else 0
        total += points
        if row is None or row.chosen != original or row.points != points:
            problems.append(_("第%(n)d题的评分记录与作答不符。", n=shown.number))
    if total != attempt.score:
        problems.append(_("成绩与作答不符。"))
    return problems


def theory_result(booking_id: int) -> tuple[int, bool, dt.datetime] | None:
    """The submitted theory exam of a booking: (score, passed, submitted_at), else None (for results)."""
    attempt = _attempt_of(booking_id)
    if attempt is None or attempt.status is not AttemptStatus.SUBMITTED or attempt.submitted_at is None:
        return None
    return int(attempt.score or 0), bool(attempt.passed), attempt.submitted_at


def exam_view(attempt: Attempt) -> dict[str, Any]:
    """The paper as the candidate sees it, with the booking's names (for the exam page)."""
    booking = attempt.booking
    return {
        "questions": paper_questions(attempt.paper),
        "name": booking.trainee.real_name,
        "item": booking.item.name,
        "seat": booking.seat_label,
    }


# --- invigilator ----------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ConsoleRow:
    """One candidate on the invigilator's console."""

    booking: Booking
    checked_in: bool
    attempt: Attempt | None
    remaining: int | None
    since_save: int | None


def _reason(reason: str) -> str:
    text = " ".join(reason.split())
    if len(text) < REASON_MIN:
        raise DomainError.on_field(_("请写明理由。"), "reason")
    return text[:300]


def console(
    *, viewer: User, session_id: int, now: dt.datetime | None = None
) -> tuple[ExamSession, ExamRun | None, list[ConsoleRow]]:
    """Every candidate of a session the viewer manages: checked in, seated, answering, submitted, since last save."""
    from exams.checkin.services import session_candidates, session_checkins

    now = now or utcnow()
    session, bookings = session_candidates(viewer=viewer, session_id=session_id)
    checkins = session_checkins(session.id)
    attempts = {
        a.booking_id: a
        for a in db.session.execute(sa.select(Attempt).where(Attempt.session_id == session.id)).scalars()
    }
    rows = []
    for booking in bookings:
        attempt = attempts.get(booking.id)
        last = attempt.last_save_at if attempt else None
        rows.append(
            ConsoleRow(
                booking=booking,
                checked_in=booking.id in checkins and checkins[booking.id].admitted,
                attempt=attempt,
                remaining=remaining_seconds(attempt, now) if attempt else None,
                since_save=int((now - last).total_seconds()) if last else None,
            )
        )
    return session, _run_of(session.id), rows


def start_run(*, viewer: User, session_id: int, now: dt.datetime | None = None) -> ExamRun:
    """Start a theory session: every seated candidate's clock starts now (later arrivals at their sign-in)."""
    now = now or utcnow()
    session = managed_session(viewer=viewer, session_id=session_id)
    if session.part is not ExamPart.THEORY:
        raise DomainError(_("只有理论考试场次在机考系统中开考。"))
    run = _run_of(session.id)
    if run is not None and run.started_at is not None:
        raise DomainError(_("本场考试已经开考。"))
    if run is None:
        run = ExamRun(session_id=session.id, show_score=bool(current_app.config["CBT_SHOW_SCORE"]))
        db.session.add(run)
    run.started_at, run.started_by_id = now, viewer.id
    db.session.flush()
    for attempt in db.session.execute(
        sa.select(Attempt).where(Attempt.session_id == session.id, Attempt.status == AttemptStatus.SEATED)
    ).scalars():
        _start_if_running(attempt, run, now)
    db.session.flush()
    record_event("cbt.run_started", object_type="exam_session", object_id=session.id)
    return run


def end_run(*, viewer: User, session_id: int, now: dt.datetime | None = None) -> int:
    """End a session: every attempt still open is submitted; returns how many were."""
    now = now or utcnow()
    session = managed_session(viewer=viewer, session_id=session_id)
    run = _run_of(session.id)
    if run is None or run.started_at is None or run.ended_at is not None:
        raise DomainError(_("本场考试未在进行中。"))
    query = sa.select(Attempt).where(
        Attempt.session_id == session.id, Attempt.status.in_([AttemptStatus.ANSWERING, AttemptStatus.PAUSED])
    )
    open_attempts = db.session.execute(query).scalars().all()
    count = 0
    for attempt in open_attempts:
        # Locked and checked again: a save taken meanwhile is graded and sealed with the rest, never left out.
        attempt = _lock(attempt)
        if attempt.status is not AttemptStatus.SUBMITTED:
            submit(attempt, how="ended", now=now)
            count += 1
    run.ended_at, run.ended_by_id = now, viewer.id
    db.session.flush()
    record_event("cbt.run_ended", object_type="exam_session", object_id=session.id, details={"submitted": count})
    return count


def managed_attempt(*, viewer: User, attempt_id: int) -> Attempt:
    """An attempt in a session the viewer manages (else 404)."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFoundError(_("答卷不存在。"))
    managed_session(viewer=viewer, session_id=attempt.session_id)
    return attempt


def _open(attempt: Attempt) -> None:
    if attempt.status is AttemptStatus.SUBMITTED:
        raise DomainError(_("该考生已经交卷。"))


def pause(*, viewer: User, attempt_id: int, reason: str, now: dt.datetime | None = None) -> Attempt:
    """Pause one candidate's clock (reason required, audited)."""
    now = now or utcnow()
    attempt = _lock(managed_attempt(viewer=viewer, attempt_id=attempt_id))
    text = _reason(reason)
    if attempt.status is not AttemptStatus.ANSWERING:
        raise DomainError(_("只有答题中的考生可以暂停。"))
    attempt.status, attempt.paused_at = AttemptStatus.PAUSED, now
    db.session.flush()
    record_event("cbt.paused", object_type="cbt_attempt", object_id=attempt.id, details={"reason": text})
    return attempt


def resume(*, viewer: User, attempt_id: int, reason: str, now: dt.datetime | None = None) -> Attempt:
    """Resume a paused candidate: the pause is added to their time."""
    now = now or utcnow()
    attempt = _lock(managed_attempt(viewer=viewer, attempt_id=attempt_id))
    text = _reason(reason)
    if attempt.status is not AttemptStatus.PAUSED or attempt.paused_at is None:
        raise DomainError(_("该考生没有被暂停。"))
    seconds = int((now - attempt.paused_at).total_seconds())
    attempt.paused_seconds += seconds
    attempt.status, attempt.paused_at, attempt.last_contact_at = AttemptStatus.ANSWERING, None, now
    db.session.flush()
    record_event(
        "cbt.resumed", object_type="cbt_attempt", object_id=attempt.id, details={"reason": text, "seconds": seconds}
    )
    return attempt


def extend(*, viewer: User, attempt_id: int, minutes: int, reason: str) -> Attempt:
    """Give one candidate more time (reason required, audited)."""
    attempt = _lock(managed_attempt(viewer=viewer, attempt_id=attempt_id))
    text = _reason(reason)
    _open(attempt)
    if not 1 <= minutes <= 120:
        raise DomainError.on_field(_("延长时间应在1至120分钟之间。"), "minutes")
    attempt.extra_seconds += minutes * 60
    db.session.flush()
    record_event(
        "cbt.extended", object_type="cbt_attempt", object_id=attempt.id, details={"minutes": minutes, "reason": text}
    )
    return attempt


def move(*, viewer: User, attempt_id: int, reason: str) -> Attempt:
    """Release the candidate's seat binding so that they sign in at another terminal (answers stay)."""
    attempt = _lock(managed_attempt(viewer=viewer, attempt_id=attempt_id))
    text = _reason(reason)
    _open(attempt)
    attempt.device_hash = None
    db.session.flush()
    record_event("cbt.moved", object_type="cbt_attempt", object_id=attempt.id, details={"reason": text})
    return attempt


def submit_due(*, now: dt.datetime | None = None) -> int:
    """Submit every attempt whose time is up even with the most credit it could still be owed (a sweep)."""
    now = now or utcnow()
    cap = int(current_app.config["CBT_OFFLINE_CREDIT_MAX_SECONDS"])
    count = 0
    due = db.session.execute(sa.select(Attempt).where(Attempt.status == AttemptStatus.ANSWERING)).scalars().all()
    for attempt in due:
        # Locked and checked again: a seat's save or heartbeat may have credited time or submitted meanwhile.
        attempt = _lock(attempt)
        deadline = attempt.deadline
        if attempt.status is not AttemptStatus.ANSWERING or deadline is None:
            continue
        if now >= deadline + dt.timedelta(seconds=cap - attempt.credited_seconds):
            submit(attempt, how="time", now=now)
            count += 1
    return count
