"""Test data for practical scoring and results: a task bank, theory and practical sessions, examiners, sheets."""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
from pathlib import Path

from exams.practical import services
from exams.practical.bank import load_tasks
from exams.practical.models import Marking, ScoreSheet
from exams.results.services import record_part_result
from exams.sessions import applications, bookings, planning
from exams.sessions.models import ExamPart, ExamSession, RoomLayout
from opcert.access import Role
from opcert.accounts.models import Organisation, User
from opcert.catalogue.models import Education, Item
from opcert.db import utcnow
from opcert.extensions import db
from tests.exams.sessions import sessions_data as data
from tests.factories import id_number, staff, trainee

_seq = itertools.count(1)

# One task per subject; each has two point lines (60 + 40) and one veto line.
BANK = """
[[task]]
item = "{code}"
subject = "{subject}"
code = "{subject}-A"
title = "{subject} 任务"
lines = [
  {{ text = "第一项", points = 60 }},
  {{ text = "第二项", points = 40 }},
  {{ text = "违章操作", veto = true }},
]
"""


def bank(item: Item, folder: Path) -> None:
    """Load a four-subject task bank for the item (committed)."""
    path = folder / f"tasks-{next(_seq)}.toml"
    path.write_text("".join(BANK.format(code=item.code, subject=s) for s in ("K1", "K2", "K3", "K4")), encoding="utf-8")
    load_tasks(path)
    db.session.commit()


def session(centre: Organisation, item: Item, part: ExamPart, *, starts_in: dt.timedelta) -> ExamSession:
    """An open session of the part (committed)."""
    starts = utcnow() + starts_in
    now = min(utcnow(), starts - dt.timedelta(days=1))  # a past session was planned before it
    layout = RoomLayout.PRACTICAL if part is ExamPart.PRACTICAL else RoomLayout.COMPUTER
    plan = planning.SessionPlan(
        room_id=data.room(centre, layout=layout).id,
        item_ids=[item.id],
        part=part,
        starts_at=starts,
        duration_minutes=60,
        capacity=20,
        booking_opens_at=now - dt.timedelta(days=1),
        booking_closes_at=starts - dt.timedelta(hours=1),
        cancel_deadline=starts - dt.timedelta(hours=2),
    )
    row = planning.save_session(centre=centre, session=None, plan=plan, now=now)
    db.session.commit()
    return row


def candidate(*, employer: str = "") -> User:
    """A trainee who signed the commitment declaring an employer (committed)."""
    user = trainee(name="考生" + "甲乙丙丁戊己庚辛壬癸"[next(_seq) % 10], number=id_number(dt.date(1990, 3, 7)))
    applications.sign_commitment(
        trainee=user,
        healthy=True,
        no_disqualifying_illness=True,
        education=Education.SENIOR,
        lives_or_works_in_city=True,
        truthful=True,
        signed_name=user.real_name,
        employer=employer,
    )
    db.session.commit()
    return user


def pass_theory(user: User, item: Item, theory: ExamSession, score: int = 90) -> None:
    """Record a theory result as the CBT module will (committed)."""
    record_part_result(person_id=user.id, item_id=item.id, part=ExamPart.THEORY, score=score, session_id=theory.id)
    db.session.commit()


def examiner(org: Organisation | None = None) -> User:
    """An examiner bound to an exam centre (committed)."""
    return staff(Role.EXAMINER, org=org)


def sheet_for(user: User, practical: ExamSession, examiners: list[User], by: User) -> ScoreSheet:
    """Book the candidate into the practical session, assign the examiners, draw the tasks (committed)."""
    bookings.book_seat(trainee=user, session_id=practical.id, item_id=None)
    assigned = {a.examiner_id for a in services.assignments(session_id=practical.id)}
    for person in (p for p in examiners if p.id not in assigned):
        services.assign_examiner(session=practical, examiner_id=person.id, by=by)
    services.draw_tasks(session=practical)
    db.session.commit()
    return db.session.execute(
        db.select(ScoreSheet).filter_by(session_id=practical.id, candidate_id=user.id)
    ).scalar_one()


def lines_of(sheet: ScoreSheet) -> list[tuple[int, int, int]]:
    """Per subject: (first point line id, second point line id, veto line id)."""
    found = []
    for draw in sheet.draws:
        point = [line for line in draw.task.lines if not line.is_veto]
        veto = next(line for line in draw.task.lines if line.is_veto)
        found.append((point[0].id, point[1].id, veto.id))
    return found


def mark(
    who: User,
    sheet: ScoreSheet,
    percents: list[int],
    *,
    veto: set[int] | None = None,
    sign: bool = True,
) -> Marking:
    """Mark every subject at a percent (the first line gets min(p, 60), the second the rest); commit."""
    points: dict[int, int | None] = {}
    vetoes: set[int] = set()
    for index, ((first, second, veto_line), percent) in enumerate(zip(lines_of(sheet), percents, strict=True)):
        points[first] = min(percent, 60)
        points[second] = max(percent - 60, 0)
        if veto and index in veto:
            vetoes.add(veto_line)
    marking = services.save_marking(examiner=who, sheet_id=sheet.id, points=points, vetoes=vetoes, sign=sign)
    db.session.commit()
    return marking


def score(value: str) -> decimal.Decimal:
    """A score as stored."""
    return decimal.Decimal(value)
