"""The theory exam's rules: sign-in, one device, acknowledged saves in sequence, time credited, grading, the seal."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from exams.cbt import services
from exams.cbt.models import AnswerSave, Attempt, AttemptStatus
from exams.papers.services import paper_questions
from opcert.audit.models import AuditEvent
from opcert.db import utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from tests.exams.cbt.cbt_data import room, ticket_of


def signed_in(booking, now=None, token=None, ip="10.0.0.5"):
    attempt, token = services.sign_in(
        ticket=ticket_of(booking),
        id_number=booking.trainee.id_number,
        ip=ip,
        terminal="A-01",
        device_token=token,
        now=now,
    )
    db.session.commit()
    return attempt, token


@pytest.fixture
def started(db):
    """One admitted candidate signed in, the session started at t0; (room, attempt, token, t0)."""
    r = room()
    t0 = utcnow()
    attempt, token = signed_in(r.bookings[0], now=t0)
    assert attempt.status is AttemptStatus.SEATED
    services.start_run(viewer=r.staff, session_id=r.session.id, now=t0)
    db.session.commit()
    assert attempt.status is AttemptStatus.ANSWERING
    return r, attempt, token, t0


def save(attempt, seq, number, answer, at):
    ack = services.save_answer(attempt=attempt, seq=seq, number=number, answer=answer, now=at)
    db.session.commit()
    return ack


def test_only_an_admitted_candidate_signs_in_and_gets_a_paper(db) -> None:
    r = room(admitted=False)
    booking = r.bookings[0]
    with pytest.raises(services.ExamError) as info:
        signed_in(booking)
    assert info.value.code == "not_admitted"
    with pytest.raises(services.ExamError) as info:
        services.sign_in(
            ticket=ticket_of(booking), id_number="110101199003070000", ip="1.2.3.4", terminal="", device_token=None
        )
    assert info.value.code == "wrong"
    from tests.exams.cbt.cbt_data import admit

    admit(booking, r.staff)
    attempt, _token = signed_in(booking)
    assert len(attempt.paper.entries) == 10
    assert attempt.duration_seconds == 30 * 60


def test_a_second_device_is_refused_until_the_candidate_is_moved(started) -> None:
    r, attempt, token, _t0 = started
    assert signed_in(r.bookings[0], token=token)[1] == token  # the same seat signs in again (reload, crash)
    with pytest.raises(services.ExamError) as info:
        signed_in(r.bookings[0], token=None)
    assert info.value.code == "second_device"
    db.session.commit()
    with pytest.raises(DomainError):
        services.move(viewer=r.staff, attempt_id=attempt.id, reason="")
    services.move(viewer=r.staff, attempt_id=attempt.id, reason="终端故障")
    db.session.commit()
    with pytest.raises(NotFoundError):
        services.attempt_for_device(token)
    moved, new_token = signed_in(r.bookings[0], token=None)
    assert moved.id == attempt.id
    assert new_token != token
    assert services.attempt_for_device(new_token).id == attempt.id


def test_saves_are_applied_in_sequence_and_resends_are_acknowledged(started) -> None:
    _r, attempt, _token, t0 = started
    first = save(attempt, 1, 1, "T", t0 + dt.timedelta(seconds=5))
    assert not first.duplicate
    assert first.state["last_seq"] == 1
    again = save(attempt, 1, 1, "T", t0 + dt.timedelta(seconds=6))
    assert again.duplicate
    with pytest.raises(services.ExamError) as info:
        save(attempt, 1, 1, "F", t0 + dt.timedelta(seconds=7))
    assert info.value.code == "replayed"
    with pytest.raises(services.ExamError) as info:
        save(attempt, 3, 2, "T", t0 + dt.timedelta(seconds=8))
    assert (info.value.code, info.value.extra["expected"]) == ("out_of_order", 2)
    with pytest.raises(services.ExamError) as info:
        save(attempt, 2, 11, "T", t0 + dt.timedelta(seconds=9))
    assert info.value.code == "not_in_paper"
    single = next(n for n, e in enumerate(attempt.paper.entries, start=1) if e["order"])
    for bad in ("E", "AB"):
        with pytest.raises(services.ExamError) as info:
            save(attempt, 2, single, bad, t0 + dt.timedelta(seconds=10))
        assert info.value.code == "bad_answer"
    save(attempt, 2, 1, "F", t0 + dt.timedelta(seconds=11))
    state = services.state(attempt, t0 + dt.timedelta(seconds=12), with_answers=True)
    assert state["answers"] == {"1": "F"}
    assert db.session.execute(sa.select(sa.func.count(AnswerSave.id))).scalar_one() == 2


def test_a_server_side_gap_is_credited_back_up_to_the_limit(started, app) -> None:
    _r, attempt, _token, t0 = started
    save(attempt, 1, 1, "T", t0 + dt.timedelta(seconds=5))
    before = services.remaining_seconds(attempt, t0 + dt.timedelta(seconds=5))
    save(attempt, 2, 2, "T", t0 + dt.timedelta(seconds=125))  # 120 s without a word from the seat
    assert attempt.credited_seconds == 120 - app.config["CBT_HEARTBEAT_SECONDS"]
    assert services.remaining_seconds(attempt, t0 + dt.timedelta(seconds=125)) == before - 10
    services.contact(attempt, t0 + dt.timedelta(seconds=2000))
    db.session.commit()
    assert attempt.credited_seconds == app.config["CBT_OFFLINE_CREDIT_MAX_SECONDS"]
    services.contact(attempt, t0 + dt.timedelta(seconds=2010))  # within the grace: nothing more
    assert attempt.credited_seconds == app.config["CBT_OFFLINE_CREDIT_MAX_SECONDS"]


def test_a_save_after_time_is_up_is_refused_and_the_paper_submitted(started) -> None:
    _r, attempt, _token, t0 = started
    save(attempt, 1, 1, "T", t0 + dt.timedelta(seconds=5))
    late = t0 + dt.timedelta(seconds=attempt.duration_seconds + 1)
    for second in range(10, attempt.duration_seconds, 10):  # the page's heartbeats: no gap to credit
        services.contact(attempt, t0 + dt.timedelta(seconds=second))
    db.session.commit()
    assert attempt.credited_seconds == 0
    with pytest.raises(services.ExamError) as info:
        save(attempt, 2, 2, "T", late)
    assert info.value.code == "time_up"
    assert attempt.status is AttemptStatus.SUBMITTED
    assert attempt.submitted_how == "time"
    assert services.theory_result(attempt.booking_id)[0] == attempt.score


def _all_correct(attempt):
    return [(q.number, q.answer if q.options else q.question.answer) for q in paper_questions(attempt.paper)]


def test_grading_sealing_and_tampering(started) -> None:
    _r, attempt, _token, t0 = started
    keys = _all_correct(attempt)
    for seq, (number, answer) in enumerate(keys, start=1):
        save(attempt, seq, number, answer, t0 + dt.timedelta(seconds=seq))
    wrong = "F" if keys[0][1] == "T" else "T"
    save(attempt, len(keys) + 1, keys[0][0], wrong, t0 + dt.timedelta(seconds=60))  # changed their mind
    services.submit_own(attempt=attempt, now=t0 + dt.timedelta(seconds=70))
    db.session.commit()
    assert (attempt.score, attempt.passed) == (90, True)
    score, passed, when = services.theory_result(attempt.booking_id)
    assert (score, passed) == (90, True)
    assert when == attempt.submitted_at
    assert services.verify_attempt(attempt.id) == []
    with pytest.raises(services.ExamError) as info:
        save(attempt, len(keys) + 2, 2, "T", t0 + dt.timedelta(seconds=80))
    assert info.value.code == "submitted"
    db.session.commit()
    # Someone with database access changes an answer afterwards.
    db.session.execute(
        sa.update(AnswerSave)
        .where(AnswerSave.attempt_id == attempt.id, AnswerSave.seq == len(keys) + 1)
        .values(answer=keys[0][1])
    )
    db.session.commit()
    problems = services.verify_attempt(attempt.id)
    assert any("被改动" in p for p in problems)
    db.session.execute(sa.update(AnswerSave).where(AnswerSave.seq == len(keys) + 1).values(answer=wrong))
    db.session.execute(sa.update(Attempt).where(Attempt.id == attempt.id).values(score=100))
    db.session.commit()
    db.session.refresh(attempt)
    assert any("封存" in p for p in services.verify_attempt(attempt.id))


def test_pause_extend_and_end(started) -> None:
    r, attempt, _token, t0 = started
    full = attempt.duration_seconds
    services.pause(viewer=r.staff, attempt_id=attempt.id, reason="考生身体不适", now=t0 + dt.timedelta(seconds=100))
    db.session.commit()
    with pytest.raises(services.ExamError) as info:
        save(attempt, 1, 1, "T", t0 + dt.timedelta(seconds=150))
    assert info.value.code == "paused"
    db.session.commit()
    assert services.remaining_seconds(attempt, t0 + dt.timedelta(seconds=400)) == full - 100
    services.resume(viewer=r.staff, attempt_id=attempt.id, reason="已恢复", now=t0 + dt.timedelta(seconds=400))
    services.extend(viewer=r.staff, attempt_id=attempt.id, minutes=5, reason="终端故障")
    db.session.commit()
    assert services.remaining_seconds(attempt, t0 + dt.timedelta(seconds=400)) == full - 100 + 300
    assert services.end_run(viewer=r.staff, session_id=r.session.id) == 1
    db.session.commit()
    assert attempt.status is AttemptStatus.SUBMITTED
    assert attempt.submitted_how == "ended"


def test_only_configured_networks_may_sign_in(db, app, monkeypatch) -> None:
    r = room()
    monkeypatch.setitem(app.config, "CBT_ALLOWED_NETWORKS", {str(r.centre.id): ["10.8.0.0/24"]})
    with pytest.raises(services.ExamError) as info:
        signed_in(r.bookings[0], ip="192.168.1.9")
    assert info.value.code == "network"
    db.session.commit()
    assert signed_in(r.bookings[0], ip="10.8.0.77")[0].status is AttemptStatus.SEATED


def test_the_sweep_submits_only_when_no_credit_could_still_be_owed(started, app) -> None:
    _r, attempt, _token, t0 = started
    save(attempt, 1, 1, "T", t0 + dt.timedelta(seconds=5))
    cap = app.config["CBT_OFFLINE_CREDIT_MAX_SECONDS"]
    due = t0 + dt.timedelta(seconds=attempt.duration_seconds + cap)
    assert services.submit_due(now=due - dt.timedelta(seconds=1)) == 0
    db.session.commit()
    assert attempt.status is AttemptStatus.ANSWERING
    assert services.submit_due(now=due) == 1
    db.session.commit()
    assert (attempt.status, attempt.submitted_how, attempt.last_seq) == (AttemptStatus.SUBMITTED, "time", 1)
    assert services.verify_attempt(attempt.id) == []
    assert services.submit_due(now=due) == 0  # nothing happens twice


def test_the_submit_due_command_commits_what_it_submitted(started, app) -> None:
    _r, attempt, _token, _t0 = started
    cap = app.config["CBT_OFFLINE_CREDIT_MAX_SECONDS"]
    attempt.started_at = utcnow() - dt.timedelta(seconds=attempt.duration_seconds + cap + 5)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["exams", "submit-due"])
    assert result.exit_code == 0, result.output
    assert "submitted 1 attempt(s)" in result.output
    with db.engine.connect() as other:  # what another connection sees: the command committed
        stored = other.execute(sa.select(Attempt.status).where(Attempt.id == attempt.id)).scalar_one()
    assert stored is AttemptStatus.SUBMITTED


def test_wrong_id_numbers_for_a_ticket_are_counted_and_held_back(db, app) -> None:
    r = room()
    booking = r.bookings[0]
    t0 = utcnow()
    for n in range(app.config["LOGIN_THROTTLE_THRESHOLD"]):
        with pytest.raises(services.ExamError) as info:
            services.sign_in(
                ticket=ticket_of(booking),
                id_number=f"11010119900307{n:04d}",
                ip="10.0.0.9",
                terminal="",
                device_token=None,
                now=t0,
            )
        assert info.value.code == "wrong"
        db.session.commit()
    with pytest.raises(services.ExamError) as info:  # even the right pair waits now
        signed_in(booking, now=t0 + dt.timedelta(seconds=1))
    assert info.value.code == "throttled"
    db.session.commit()
    from opcert.accounts import throttle

    knocked = throttle.get_store().get("cbt-ip:10.0.0.5", t0 + dt.timedelta(seconds=1))
    assert knocked.failures == 1  # the knock from the seat's address while held back
    later = t0 + dt.timedelta(seconds=app.config["LOGIN_THROTTLE_BASE_SECONDS"] + 1)
    assert signed_in(booking, now=later)[0].status is AttemptStatus.SEATED
    codes = db.session.execute(sa.select(AuditEvent.details).where(AuditEvent.action == "cbt.signin_refused")).all()
    assert len(codes) == app.config["LOGIN_THROTTLE_THRESHOLD"] + 1


def test_no_sign_in_after_the_session_ended(db) -> None:
    r = room(2)
    t0 = utcnow()
    signed_in(r.bookings[0], now=t0)
    services.start_run(viewer=r.staff, session_id=r.session.id, now=t0)
    services.end_run(viewer=r.staff, session_id=r.session.id, now=t0 + dt.timedelta(minutes=5))
    db.session.commit()
    with pytest.raises(services.ExamError) as info:  # a late arrival would wait for a start that never comes
        signed_in(r.bookings[1], now=t0 + dt.timedelta(minutes=6))
    assert info.value.code == "ended"
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(Attempt.id))).scalar_one() == 1
