"""Test data for sessions and booking: items, a centre with a room, sessions, eligible trainees."""

from __future__ import annotations

import datetime as dt
import itertools

from exams.sessions import applications, planning
from exams.sessions.models import ExamPart, ExamSession, Room, RoomLayout
from opcert.accounts.models import Organisation, OrgKind, User
from opcert.catalogue.models import Category, Education, Item
from opcert.db import utcnow
from opcert.extensions import db
from tests.factories import id_number, organisation, trainee

_codes = itertools.count(1)


def item(*, offered: bool = True, education: Education = Education.JUNIOR) -> Item:
    """An operation item (committed)."""
    n = next(_codes)
    category = db.session.query(Category).filter_by(code="T").one_or_none()
    if category is None:
        category = Category(code="T", name="测试作业")
        db.session.add(category)
    row = Item(category=category, code=f"T.{n}", name=f"测试项目{n}", offered=offered, education=education)
    db.session.add(row)
    db.session.commit()
    return row


def centre(name: str | None = None) -> Organisation:
    """An exam centre (committed)."""
    return organisation(OrgKind.EXAM_CENTRE, name=name)


def room(where: Organisation, *, seats: int = 60, layout: RoomLayout = RoomLayout.COMPUTER) -> Room:
    """A room of a centre (committed)."""
    row = planning.save_room(
        centre=where, room=None, name=f"考场{next(_codes)}", layout=layout, seats=seats, seats_per_row=10
    )
    db.session.commit()
    return row


def session(
    where: Organisation,
    items: list[Item],
    *,
    capacity: int = 50,
    starts_in: dt.timedelta = dt.timedelta(days=10),
    opens_in: dt.timedelta = dt.timedelta(days=-1),
    closes_before: dt.timedelta = dt.timedelta(days=1),
    cancel_before: dt.timedelta = dt.timedelta(days=2),
    now: dt.datetime | None = None,
) -> ExamSession:
    """An open theory session in a new room of the centre (committed); times relative to `now`."""
    now = now or utcnow()
    starts = now + starts_in
    plan = planning.SessionPlan(
        room_id=room(where, seats=max(capacity, 60)).id,
        item_ids=[i.id for i in items],
        part=ExamPart.THEORY,
        starts_at=starts,
        duration_minutes=120,
        capacity=capacity,
        booking_opens_at=now + opens_in,
        booking_closes_at=starts - closes_before,
        cancel_deadline=starts - cancel_before,
    )
    row = planning.save_session(centre=where, session=None, plan=plan, now=now)
    db.session.commit()
    return row


def sign(user: User, education: Education = Education.SENIOR) -> None:
    """Sign the current commitment for a trainee (committed)."""
    applications.sign_commitment(
        trainee=user,
        healthy=True,
        no_disqualifying_illness=True,
        education=education,
        lives_or_works_in_city=True,
        truthful=True,
        signed_name=user.real_name,
    )
    db.session.commit()


def eligible(*, birth: dt.date = dt.date(1990, 3, 7), seq: int | None = None, name: str = "王五") -> User:
    """A registered trainee who has signed the commitment (committed)."""
    user = trainee(name=name, number=id_number(birth, seq=seq))
    sign(user)
    return user
