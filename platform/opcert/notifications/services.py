"""Notification rules: add one in the caller's transaction, list a user's own, count and mark them read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import sqlalchemy as sa

from opcert.accounts.services import get_user
from opcert.db import rowcount, utcnow
from opcert.extensions import db
from opcert.notifications.delivery import OutgoingMessage, queue
from opcert.notifications.kinds import check_kind
from opcert.notifications.models import IN_APP, Notification


def notify(*, user_id: int, kind: str, subject: str, body: str) -> Notification:
    """Add an in-app notification in the current transaction; its outside delivery runs after the commit."""
    kind = check_kind(kind)  # an unknown kind is a programming error: ValueError
    user = get_user(user_id)
    row = Notification(user_id=user.id, kind=kind, subject=subject, body=body, channels=IN_APP)
    db.session.add(row)
    db.session.flush()
    queue(row, OutgoingMessage(row.id, user.id, user.mobile, kind, subject, body))
    return row


def list_notifications(*, user_id: int, limit: int = 100) -> list[Notification]:
    """A user's notifications, newest first."""
    rows = db.session.execute(
        sa.select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


def unread_count(*, user_id: int) -> int:
    """How many of a user's notifications are unread."""
    query = sa.select(sa.func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    return int(db.session.execute(query).scalar_one())


def mark_read(*, user_id: int, ids: Collection[int], now: dt.datetime | None = None) -> int:
    """Mark these unread notifications of a user as read (others' ids are ignored); return how many."""
    return rowcount(
        sa.update(Notification)
        .where(Notification.user_id == user_id, Notification.id.in_(list(ids)), Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
    )
