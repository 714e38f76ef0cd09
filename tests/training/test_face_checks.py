"""Face checks while studying, on real photos: the trainee's own face keeps the clock, another person's discards
the time since the last good check, a replayed frame is refused, a missed window stops crediting, repeated
failures flag the account and tell the staff who review it."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from opcert.access import Role
from opcert.accounts import services as accounts
from opcert.accounts.models import Organisation, User
from opcert.audit.models import AuditEvent
from opcert.db import utcnow
from opcert.errors import DomainError
from opcert.extensions import db as _db
from opcert.notifications.delivery import LogSender, current_sender
from opcert.notifications.models import Notification
from opcert.training import facechecks, services, study
from opcert.training.models import CheckOutcome, FaceCheck, IntervalStatus, StudyInterval
from photos import services as photos
from photos.models import FaceDecision, PhotoSource
from tests.factories import PASSWORD, id_number, staff, trainee
from tests.fixtures.web import login, submit, text
from tests.photos.imagelib import capture_640x480, photo
from tests.training import training_data as data

REFERENCE = "identities/deepface__dp01/2.jpg"
OWN = "identities/deepface__dp01/5.jpg"
OTHER = "identities/deepface__dp02/1.jpg"
OTHER_AGAIN = "identities/deepface__dp02/3.jpg"
BEAT = dt.timedelta(seconds=30)


@pytest.fixture(autouse=True)
def _one_check_per_hour(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TRAINING_FACE_CHECKS_PER_HOUR", 1)
    monkeypatch.setitem(app.config, "TRAINING_FACE_FAILURES_FLAG", 2)


class Study:
    """A trainee with a library photo and consent studying a lesson; time moves when the test says."""

    def __init__(self, db) -> None:
        course = data.published_course()
        self.learner = trainee(number=id_number())
        number = self.learner.id_number or ""
        photos.store_photo(id_number=number, data=photo(REFERENCE), source=PhotoSource.UNIFIED_LIBRARY)
        photos.record_consent(id_number=number, recorded_by_id=None)
        data.enrolled(self.learner, course)
        self.course, self.lesson, self.now, self.seq = course, course.lessons[0], utcnow(), 0
        self.token = study.start_study(trainee=self.learner, lesson_id=self.lesson.id, now=self.now).token or ""
        db.session.commit()

    def beat(self, after: dt.timedelta = BEAT) -> study.BeatResult:
        self.now += after
        self.seq += 1
        return study.heartbeat(
            trainee=self.learner,
            lesson_id=self.lesson.id,
            token=self.token,
            seq=self.seq,
            visible=True,
            active=True,
            played=[],
            now=self.now,
        )

    def answer(self, *frames: bytes) -> bool:
        return facechecks.answer_face_check(
            trainee=self.learner, lesson_id=self.lesson.id, token=self.token, images=list(frames), now=self.now
        )


def _seconds(db, status: IntervalStatus) -> int:
    query = sa.select(sa.func.coalesce(sa.func.sum(StudyInterval.seconds), 0)).where(StudyInterval.status == status)
    return int(db.session.execute(query).scalar_one())


def test_own_face_keeps_the_clock_and_joins_the_templates(db) -> None:
    run = Study(db)
    first = run.beat()
    assert first.check_due_by is not None, "every study session starts with a face check"
    assert first.credited == 30
    assert run.answer(capture_640x480(OWN)) is True
    assert _seconds(db, IntervalStatus.CREDITED) == 30
    check = db.session.execute(sa.select(FaceCheck)).scalar_one()
    assert check.outcome is CheckOutcome.PASSED
    decision = db.session.get(FaceDecision, check.decision_id)
    assert decision is not None
    assert decision.evidence["added_to_set"] is True
    assert run.beat().check_due_by is None, "the next check comes at a random moment later"
    assert services.course_progress(trainee=run.learner, course=run.course).face_checks_passed == 1


def test_another_face_discards_the_time_and_stops_the_clock_until_a_retry_passes(db) -> None:
    run = Study(db)
    run.beat()
    run.beat()
    assert run.answer(capture_640x480(OTHER)) is False
    assert _seconds(db, IntervalStatus.DISCARDED) == 60
    blocked = run.beat()
    assert blocked.credited == 0
    assert blocked.blocked is True
    assert run.answer(capture_640x480(OWN)) is True
    assert run.beat().credited == 30
    actions = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
    assert "training.face_check_failed" in actions
    assert "training.interval_discarded" in actions


def test_a_replayed_frame_or_a_non_image_is_refused_and_changes_nothing(db) -> None:
    run = Study(db)
    run.beat()
    frame = capture_640x480(OWN)
    assert run.answer(frame) is True
    run.beat(after=dt.timedelta(hours=2))  # silence: clock stopped; a new check is due at the random moment
    run.beat()
    lease = study._lease(run.learner)
    lease.check_at = run.now  # the random moment is now
    run.beat()
    with pytest.raises(DomainError):
        run.answer(frame)  # the same bytes again
    with pytest.raises(DomainError):
        run.answer(b"not an image at all")
    db.session.commit()
    pending = db.session.execute(sa.select(FaceCheck).where(FaceCheck.outcome == CheckOutcome.PENDING)).scalar_one()
    assert pending.decision_id is None
    refused = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "face.refused")).scalars().all()
    assert len(refused) == 2


def test_a_missed_window_discards_the_time_and_repeated_failures_flag_the_account(db) -> None:
    run = Study(db)
    run.beat()
    run.beat()
    late = run.beat(after=dt.timedelta(seconds=50))  # the 60 s window (asked at the first beat) has passed
    assert late.credited == 0
    assert late.blocked is True
    assert _seconds(db, IntervalStatus.DISCARDED) == 60
    assert (late.recounted, late.total_changed, late.lesson_seconds) == (True, True, 0), "the page shows the loss"
    assert run.answer(capture_640x480(OTHER)) is False
    db.session.commit()
    problems = services.training_shortfall(run.learner, run.course.item, run.now.date())
    assert "学习期间人脸核验多次未通过，账号待培训机构或管理员复核，复核前不能预约考试。" in problems
    actions = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
    assert "training.face_check_missed" in actions
    assert "training.flagged" in actions


def test_a_flag_tells_the_staff_who_review_it_after_the_commit_and_shows_on_their_home_card(app: Flask) -> None:
    with app.app_context():
        db = _db
        run = Study(db)
        provider = db.session.get(Organisation, run.course.provider_id)
        colleague, admin = staff(Role.PROVIDER, org=provider), staff(Role.ADMIN)
        other_provider, retired_admin = data.provider(), staff(Role.ADMIN)
        accounts.set_user_active(user=retired_admin, active=False, by=None)
        author = db.session.execute(
            sa.select(User).where(User.organisation_id == provider.id, User.id != colleague.id)
        ).scalar_one()
        db.session.commit()
        reviewers = {author.id, colleague.id, admin.id}
        outbox = current_sender()
        assert isinstance(outbox, LogSender)
        outbox.sent.clear()
        run.beat()
        run.beat()
        assert run.beat(after=dt.timedelta(seconds=50)).blocked is True  # the window passed: missed (failure 1)
        assert run.answer(capture_640x480(OTHER)) is False  # failure 2: flagged
        told = db.session.execute(sa.select(Notification).where(Notification.kind == "training_flagged")).scalars()
        told = list(told)
        assert {n.user_id for n in told} == reviewers, "the course's provider staff and active administrators"
        assert all(run.learner.real_name in n.body and "连续2次" in n.body for n in told)
        assert list(outbox.sent) == [], "nothing leaves before the commit"
        db.session.commit()
        assert {m.user_id for m in outbox.sent} == reviewers, "another provider is not told"
        assert run.answer(capture_640x480(OTHER_AGAIN)) is False  # another failure while flagged: no second notice
        db.session.commit()
        assert db.session.execute(sa.select(sa.func.count(Notification.id))).scalar_one() == len(reviewers)
        logins = {who.id: (who.login_name, who.totp_secret) for who in (colleague, admin, other_provider)}
        ids = colleague.id, admin.id, other_provider.id
        record = f"/training/trainees/{run.learner.id}"
    card = "1名学员学习中人脸核验多次未通过，待复核。"
    clients = {}
    for who, (name, secret) in logins.items():
        clients[who] = app.test_client()
        assert login(clients[who], name, PASSWORD, secret).status_code == 302
    home = {who: text(client.get("/")) for who, client in clients.items()}
    assert card in home[ids[0]]
    assert card in home[ids[1]]
    assert card not in home[ids[2]], "another provider does not oversee this trainee"
    client = clients[ids[0]]
    assert "待复核" in text(client.get("/training/trainees"))
    assert "复核标记已解除" in text(submit(client, record + "/clear-flag", page=record, follow=True))
    assert card not in text(client.get("/"))
