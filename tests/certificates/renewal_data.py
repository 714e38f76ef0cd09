"""Test data for the life of a certificate: real review training (复审培训) studied on the server's clock."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from flask import Flask

from opcert.accounts.models import User
from opcert.audit.models import AuditEvent
from opcert.catalogue.models import Item
from opcert.db import utcnow
from opcert.extensions import db
from opcert.timeutil import local_today
from opcert.training import services as training
from opcert.training import study
from opcert.training.models import CoursePurpose
from photos import services as photos
from tests.training import training_data

BEAT = dt.timedelta(seconds=30)


def at_local_morning(day: dt.date) -> dt.datetime:
    """09:00 in Shanghai on `day`."""
    return dt.datetime(day.year, day.month, day.day, 1, 0, tzinfo=dt.UTC)


def short_review_training(app: Flask, monkeypatch: pytest.MonkeyPatch, item: Item) -> None:
    """Review training of one hour for the item (the setting and the syllabus), so a test can study all of it."""
    monkeypatch.setitem(app.config, "CERT_REVIEW_TRAINING_HOURS", 1)
    monkeypatch.setitem(app.config, "TRAINING_FACE_CHECKS_PER_HOUR", 0)  # face checks are tested in training
    item.review_hours = 1
    db.session.commit()


def review_trained(user: User, item: Item, now: dt.datetime | None = None) -> None:
    """The holder enrols in the item's published review course and studies its hour through real heartbeats from
    `now` (default: the present); a holder who completed the course before starts a new round first (the next
    review period's training)."""
    existing = [c for c in training.published_courses(item) if c.purpose is CoursePurpose.REVIEW]
    course = existing[0] if existing else training_data.published_course(item, purpose=CoursePurpose.REVIEW)
    photos.record_consent(id_number=user.id_number or "", recorded_by_id=None)
    training.enrol(trainee=user, item_id=item.id, on=local_today(), purpose=CoursePurpose.REVIEW)
    lesson = course.lessons[0]
    now = now or utcnow()
    if training.course_progress(trainee=user, course=course).left == 0:
        assert training.start_new_round(trainee=user, course=course, now=now)
    token = study.start_study(trainee=user, lesson_id=lesson.id, now=now).token or ""
    for seq in range(1, lesson.minutes * 2 + 1):
        now += BEAT
        study.heartbeat(
            trainee=user, lesson_id=lesson.id, token=token, seq=seq, visible=True, active=True, played=[], now=now
        )
    study.stop_study(trainee=user, token=token, now=now)
    db.session.commit()


def audited(action: str, reason: str | None = None) -> int:
    """How many audit rows of `action` (with that reason) there are."""
    rows = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == action)).scalars()
    return sum(1 for row in rows if reason is None or json.loads(row.details or "{}").get("reason") == reason)
