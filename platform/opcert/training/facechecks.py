"""Face checks while studying: when one is due, answering it through photos, and what a failure costs."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.extensions import db
from opcert.training.models import (
    CheckOutcome,
    Course,
    FaceCheck,
    IntervalStatus,
    Lesson,
    StudyFlag,
    StudyInterval,
    StudyLease,
)
from opcert.training.notices import tell_flagged
from photos.models import Outcome
from photos.services import verify_and_add_to_set


def passed_checks(trainee: User, course: Course, *, since: dt.datetime | None = None) -> int:
    """Face checks (or staff-approved alternatives) the trainee passed while studying the course's lessons, asked
    for at or after `since` when given (the current round of review training counts its own checks)."""
    query = (
        sa.select(sa.func.count(FaceCheck.id))
        .join(Lesson, Lesson.id == FaceCheck.lesson_id)
        .where(
            FaceCheck.trainee_id == trainee.id,
            Lesson.course_id == course.id,
            FaceCheck.outcome.in_((CheckOutcome.PASSED, CheckOutcome.ALTERNATIVE)),
        )
    )
    if since is not None:
        query = query.where(FaceCheck.requested_at >= since)
    return int(db.session.execute(query).scalar_one())


def open_flag(trainee: User) -> StudyFlag | None:
    """The trainee's flag for staff review, while it is not cleared."""
    query = sa.select(StudyFlag).where(StudyFlag.trainee_id == trainee.id, StudyFlag.cleared_at.is_(None))
    return db.session.execute(query).scalars().first()


def face_check_problems(trainee: User) -> list[str]:
    """What is not in order with the trainee's face checks (Chinese messages), else []."""
    problems: list[str] = []
    if open_flag(trainee) is not None:
        problems.append(str(_("学习期间人脸核验多次未通过，账号待培训机构或管理员复核，复核前不能预约考试。")))
    waiting = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(StudyInterval.seconds), 0)).where(
            StudyInterval.trainee_id == trainee.id, StudyInterval.status == IntervalStatus.AWAITING_ALTERNATIVE
        )
    ).scalar_one()
    if int(waiting):
        problems.append(str(_("有%(m)d分钟学时待工作人员人工核验身份后计入（未授权人脸核验）。", m=int(waiting) // 60)))
    return problems


def _consecutive_failures(trainee: User) -> int:
    rows = db.session.execute(
        sa.select(FaceCheck.outcome)
        .where(FaceCheck.trainee_id == trainee.id, FaceCheck.outcome != CheckOutcome.PENDING)
        .order_by(FaceCheck.id.desc())
        .limit(50)
    ).scalars()
    count = 0
    for outcome in rows:
        if outcome in (CheckOutcome.PASSED, CheckOutcome.ALTERNATIVE):
            break
        count += 1
    return count


def answer_face_check(*, trainee: User, lesson_id: int, token: str, images: Sequence[bytes], now: dt.datetime) -> bool:
    """Judge a capture burst for the check the study page was asked for (or a retry after a failure).

    A pass credits the time since the last good check, the capture joins the trainee's templates, and the next
    check is scheduled at random; a failure discards that time and stops crediting until a pass. A refused burst
    (not an image, a replayed frame, no usable face) changes nothing here: photos audits it, the page retries.
    Returns whether it passed (the trainee never sees a score).
    """
    from opcert.training import study

    lease = db.session.get(StudyLease, trainee.id, populate_existing=True)
    if (
        lease is None
        or lease.token is None
        or lease.lesson_id != lesson_id
        or not secrets.compare_digest(lease.token, token)
    ):
        raise study.StudyRefusedError(_("本页面未在计时学习，请重新进入课时。"), "not_lease")
    check = (
        db.session.execute(
            sa.select(FaceCheck)
            .where(FaceCheck.trainee_id == trainee.id, FaceCheck.outcome == CheckOutcome.PENDING)
            .order_by(FaceCheck.id.desc())
        )
        .scalars()
        .first()
    )
    if check is not None and now > check.due_by:
        check.outcome = CheckOutcome.MISSED
        check.answered_at = now
        record_event("training.face_check_missed", object_type="face_check", object_id=check.id)
        study.discard_provisional(trainee=trainee, now=now, reason="check_missed")
        lease.blocked = True
        lease.check_due_by = None
        check = None
    if check is None:
        if not lease.blocked:
            raise study.StudyRefusedError(_("当前无需人脸核验。"), "no_check")
        window = dt.timedelta(seconds=float(current_app.config["TRAINING_FACE_WINDOW_SECONDS"]))
        check = FaceCheck(trainee_id=trainee.id, lesson_id=lesson_id, requested_at=now, due_by=now + window)
        db.session.add(check)
        db.session.flush()
    decision = verify_and_add_to_set(
        id_number=trainee.id_number or "", images=images, requested_by_id=trainee.id, purpose="training_study"
    )
    check.attempts += 1
    check.answered_at = now
    check.decision_id = decision.id
    passed = decision.outcome is Outcome.MATCH
    check.outcome = CheckOutcome.PASSED if passed else CheckOutcome.FAILED
    lease.check_due_by = None
    if passed:
        study.credit_provisional(trainee=trainee, now=now)
        lease.blocked = False
        lease.check_at = study.next_check_at(now)
        record_event("training.face_check_passed", object_type="face_check", object_id=check.id)
    else:
        study.discard_provisional(trainee=trainee, now=now, reason="check_failed")
        lease.blocked = True
        record_event("training.face_check_failed", object_type="face_check", object_id=check.id)
        _flag_if_repeated(trainee)
    db.session.flush()
    return passed


def _flag_if_repeated(trainee: User) -> None:
    failures = _consecutive_failures(trainee)
    if failures >= int(current_app.config["TRAINING_FACE_FAILURES_FLAG"]) and open_flag(trainee) is None:
        flag = StudyFlag(trainee_id=trainee.id, failures=failures)
        db.session.add(flag)
        db.session.flush()
        record_event("training.flagged", object_type="user", object_id=trainee.id, details={"failures": failures})
        tell_flagged(trainee, failures)
