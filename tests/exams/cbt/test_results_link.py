"""A submitted theory exam reaches results: its part result is recorded once; a refusal leaves the paper standing."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from exams.cbt import services
from exams.results.models import PartResult
from exams.sessions.models import ExamPart
from opcert.audit.models import AuditEvent
from opcert.extensions import db
from tests.exams.cbt.test_attempts import _all_correct, save, started  # noqa: F401 - the fixture


def test_submission_records_the_theory_result(started) -> None:  # noqa: F811 - the fixture
    _r, attempt, _token, t0 = started
    for seq, (number, answer) in enumerate(_all_correct(attempt), start=1):
        save(attempt, seq, number, answer, t0 + dt.timedelta(seconds=seq))
    services.submit_own(attempt=attempt, now=t0 + dt.timedelta(seconds=70))
    db.session.commit()
    rows = db.session.execute(sa.select(PartResult)).scalars().all()
    assert [(r.person_id, r.part, float(r.score), r.passed, r.session_id) for r in rows] == [
        (attempt.booking.trainee_id, ExamPart.THEORY, 100.0, True, attempt.session_id)
    ]
    # Submitting again changes nothing: one result per session.
    services.submit_own(attempt=attempt, now=t0 + dt.timedelta(seconds=80))
    db.session.commit()
    assert db.session.execute(sa.select(sa.func.count(PartResult.id))).scalar_one() == 1


def test_a_result_results_refuse_is_audited_and_the_submission_stands(started) -> None:  # noqa: F811
    _r, attempt, _token, t0 = started
    # The session is no longer a theory session by the time it is graded: results refuse the score.
    db.session.execute(
        sa.text("UPDATE exam_sessions SET part = 'practical' WHERE id = :id"), {"id": attempt.session_id}
    )
    db.session.commit()
    services.submit_own(attempt=attempt, now=t0 + dt.timedelta(seconds=70))
    db.session.commit()
    assert attempt.submitted_at is not None
    assert attempt.seal_hash
    assert db.session.execute(sa.select(sa.func.count(PartResult.id))).scalar_one() == 0
    codes = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
    assert "cbt.result_refused" in codes
    assert "cbt.submitted" in codes
