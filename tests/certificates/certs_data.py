"""Test data for certificates: an item with its category, a trainee, an issued certificate."""

from __future__ import annotations

import datetime as dt
import itertools

from opcert.accounts.models import User
from opcert.catalogue.models import Category, Item
from opcert.certificates import services
from opcert.certificates.models import Certificate
from opcert.certificates.sources import ExamRecord
from opcert.extensions import db
from tests.factories import id_number, trainee

_codes = itertools.count(1)
EXAMS = ExamRecord(
    theory_score=92,
    theory_date=dt.date(2026, 10, 9),
    practical_score=88,
    practical_date=dt.date(2026, 10, 16),
    theory_session_id=None,
    practical_session_id=None,
)
ISSUED_AT = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


def item(name: str = "低压电工作业") -> Item:
    """An operation item of the electrical category (committed)."""
    category = db.session.query(Category).filter_by(code="1").one_or_none()
    if category is None:
        category = Category(code="1", name="电工作业")
        db.session.add(category)
    row = Item(category=category, code=f"1.{next(_codes) + 1}", name=name, offered=True)
    db.session.add(row)
    db.session.commit()
    return row


def holder(name: str = "王小明") -> User:
    """A trainee who will hold certificates (committed)."""
    return trainee(name=name, number=id_number(dt.date(1988, 5, 20)))


def issued(user: User, what: Item, *, now: dt.datetime = ISSUED_AT) -> Certificate:
    """The person's certificate for the item, issued now (committed)."""
    certificate = services.issue_certificate(user=user, item=what, exams=EXAMS, actor_id=None, now=now).certificate
    db.session.commit()
    return certificate
