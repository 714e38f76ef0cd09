"""Saves through the seat's token (the /exam/save path): the usual one is a single statement on PostgreSQL, and
every other one takes save_answer's locked way, so the rules, refusals and hash chain stay the same on both."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from exams.cbt import services
from exams.cbt.models import AnswerSave, AttemptStatus
from opcert.audit.models import AuditEvent
from opcert.errors import NotFoundError
from opcert.extensions import db
from tests.exams.cbt.test_attempts import started  # noqa: F401 (the fixture)

S = dt.timedelta(seconds=1)


def save(token: str, seq: int, number: int, answer: str, at: dt.datetime) -> services.SaveAck:
    ack = services.save_for_device(token=token, seq=seq, number=number, answer=answer, now=at)
    db.session.commit()
    return ack


@pytest.fixture
def statements(db) -> Iterator[list[str]]:
    """The first word of each SQL statement the engine runs meanwhile."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    sa.event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", record)


def _postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def test_a_usual_save_is_one_statement_and_chains_as_save_answer_does(started, statements) -> None:  # noqa: F811
    _r, attempt, token, t0 = started
    assert save(token, 1, 1, "T", t0 + 5 * S).state["last_seq"] == 1  # locked; the seat is remembered
    single = next(n for n, e in enumerate(attempt.paper.entries, start=1) if e["order"])
    statements.clear()
    acks = [save(token, seq, number, answer, t0 + (5 + seq) * S) for seq, number, answer in
            ((2, 2, "F"), (3, single, "b"), (4, 1, " F "), (5, 3, ""))]  # fmt: skip
    if _postgresql():
        assert statements == ["WITH"] * 4, "one statement a save: nothing loaded, nothing locked first"
    db.session.refresh(attempt)
    assert [a.state["last_seq"] for a in acks] == [2, 3, 4, 5]
    assert not any(a.duplicate for a in acks)
    assert acks[-1].state == services.state(attempt, t0 + 10 * S), "the same state as the locked way answers"
    assert (attempt.last_seq, attempt.last_contact_at, attempt.last_save_at) == (5, t0 + 10 * S, t0 + 10 * S)
    assert services.state(attempt, with_answers=True)["answers"] == {"1": "F", "2": "F", str(single): "B", "3": ""}
    assert save(token, 5, 3, "", t0 + 11 * S).duplicate, "a resend after a lost answer is acknowledged again"
    services.submit_own(attempt=attempt, now=t0 + 20 * S)
    db.session.commit()
    assert services.verify_attempt(attempt.id) == [], "the database hashed each link as chain_hash does"
    with pytest.raises(services.ExamError) as info:
        save(token, 6, 1, "T", t0 + 21 * S)
    assert info.value.code == "submitted"


def test_every_other_save_is_refused_or_credited_as_before(started, app) -> None:  # noqa: F811
    r, attempt, token, t0 = started
    save(token, 1, 1, "T", t0 + 5 * S)
    for seq, number, answer, code in (
        (1, 1, "F", "replayed"),
        (3, 2, "T", "out_of_order"),
        (2, 11, "T", "not_in_paper"),
    ):
        with pytest.raises(services.ExamError) as info:
            save(token, seq, number, answer, t0 + 6 * S)
        assert info.value.code == code
        db.session.commit()
    assert save(token, 2, 2, "T", t0 + 200 * S).state["credited"] == 200 - 6 - app.config["CBT_HEARTBEAT_SECONDS"]
    credited = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "cbt.time_credited")).scalars()
    assert [json.loads(e.details)["gap"] for e in credited] == [194], (
        "a gap longer than the grace is credited and audited"
    )
    services.pause(viewer=r.staff, attempt_id=attempt.id, reason="考生身体不适", now=t0 + 201 * S)
    db.session.commit()
    with pytest.raises(services.ExamError) as info:
        save(token, 3, 3, "T", t0 + 202 * S)
    assert info.value.code == "paused"
    db.session.commit()
    services.resume(viewer=r.staff, attempt_id=attempt.id, reason="已恢复", now=t0 + 203 * S)
    db.session.commit()
    assert save(token, 3, 3, "T", t0 + 204 * S).state["last_seq"] == 3
    services.move(viewer=r.staff, attempt_id=attempt.id, reason="终端故障")
    db.session.commit()
    with pytest.raises(NotFoundError):
        save(token, 4, 4, "T", t0 + 205 * S)  # the moved seat's token names nothing any more
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(AnswerSave.id))).scalar_one() == 3


def test_under_a_second_left_is_time_up(started) -> None:  # noqa: F811
    _r, attempt, token, t0 = started
    save(token, 1, 1, "T", t0 + 5 * S)
    deadline = t0 + attempt.duration_seconds * S
    for second in range(10, attempt.duration_seconds, 10):  # the page's heartbeats: no gap to credit
        services.contact(attempt, t0 + second * S)
    db.session.commit()
    assert save(token, 2, 2, "T", deadline - 1.5 * S).state["remaining"] == 1
    with pytest.raises(services.ExamError) as info:
        save(token, 3, 3, "T", deadline - 0.5 * S)  # remaining_seconds says 0: the paper is submitted
    assert info.value.code == "time_up"
    db.session.commit()
    db.session.refresh(attempt)
    assert (attempt.status, attempt.submitted_how, attempt.last_seq) == (AttemptStatus.SUBMITTED, "time", 2)
    assert services.verify_attempt(attempt.id) == []
