"""Notifications: an in-app row written in the caller's transaction, and outside delivery (SMS) after the commit.

`notify()` adds the row and puts the message in the session's outbox. When the outermost transaction commits and
has released its connection, the outbox goes to the configured sender (NOTIFY_SENDER); a rollback, or a savepoint rolled
back, drops what it held, so nobody is told about a booking that was never stored. A failed delivery is logged and
leaves the in-app row as it is: `channels` lists only the channels that delivered.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import enum
import ipaddress
import json
import logging
import urllib.parse
from collections.abc import Collection
from typing import Any, Protocol

import requests
import sqlalchemy as sa
from flask import Blueprint, current_app, has_request_context, render_template
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from opcert.access import AUTHENTICATED, allow
from opcert.accounts.services import get_user
from opcert.db import Base, UTCDateTime, utcnow
from opcert.extensions import db

logger = logging.getLogger(__name__)

IN_APP = "in_app"
OUTBOX_KEY = "opcert.notify.outbox"
READY_KEY = "opcert.notify.ready"
SENDER_KEY = "opcert.notify.sender"


class NotificationKind(enum.StrEnum):
    """What a notification is about."""

    BOOKING_CONFIRMED = "booking_confirmed"
    WAITLIST_PROMOTED = "waitlist_promoted"
    SESSION_CHANGED = "session_changed"
    SESSION_CANCELLED = "session_cancelled"
    EXAM_REMINDER = "exam_reminder"

    @property
    def label(self) -> LazyString:
        """The kind's name for people."""
        return KIND_LABELS[self]


KIND_LABELS = {
    NotificationKind.BOOKING_CONFIRMED: _l("预约成功"),
    NotificationKind.WAITLIST_PROMOTED: _l("候补转正"),
    NotificationKind.SESSION_CHANGED: _l("场次变更"),
    NotificationKind.SESSION_CANCELLED: _l("场次取消"),
    NotificationKind.EXAM_REMINDER: _l("考前提醒"),
}


class Notification(Base):
    """One message to one user, shown in the app and sent outside after the commit."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Comma-separated channels that delivered: "in_app" at once, the sender's channel added after delivery.
    channels: Mapped[str] = mapped_column(sa.String(64), default=IN_APP)

    @property
    def kind_label(self) -> str:
        """The kind's name for people (the raw value for a kind this version does not know)."""
        try:
            return str(NotificationKind(self.kind).label)
        except ValueError:
            return self.kind

    def __repr__(self) -> str:
        return f"<Notification {self.id} user={self.user_id} {self.kind}>"


@dataclasses.dataclass(frozen=True)
class OutgoingMessage:
    """What a sender needs, captured at notify() time (no database access after the commit)."""

    notification_id: int
    user_id: int
    mobile: str
    kind: str
    subject: str
    body: str

    @property
    def text(self) -> str:
        """The SMS text: subject, then body."""
        return f"{self.subject}\n{self.body}"


class DeliveryError(RuntimeError):
    """An outside channel refused or did not answer."""


class Sender(Protocol):
    """Delivers one message outside the app; raises on failure."""

    channel: str

    def send(self, message: OutgoingMessage) -> None:
        """Deliver the message or raise."""


class LogSender:
    """Development sender: writes a log line and keeps the last `keep` messages in memory."""

    channel = "log"

    def __init__(self, keep: int = 100) -> None:
        self.sent: collections.deque[OutgoingMessage] = collections.deque(maxlen=keep)

    def __repr__(self) -> str:
        return f"<LogSender kept={len(self.sent)}>"

    def send(self, message: OutgoingMessage) -> None:
        """Log the message and keep it."""
        logger.info("notification %s to user %s: %s", message.notification_id, message.user_id, message.subject)
        self.sent.append(message)


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


class HttpSmsSender:
    """Posts each message as JSON to an SMS gateway: {"mobile", "text", "reference", "kind"}."""

    channel = "sms"

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 5.0) -> None:
        parts = urllib.parse.urlsplit(url)
        # Mobile numbers and the token travel in the request: plain HTTP only where nothing can listen in.
        if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname)):
            raise ValueError("NOTIFY_SMS_URL must be an https:// URL (plain http only on loopback)")
        if timeout <= 0:
            raise ValueError("NOTIFY_TIMEOUT must be positive")
        self.url = url
        self.token = token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<HttpSmsSender {self.url}>"

    def send(self, message: OutgoingMessage) -> None:
        """POST the message; any answer but 2xx is a DeliveryError."""
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = {
            "mobile": message.mobile,
            "text": message.text,
            # Lets the gateway drop a repeat of the same message.
            "reference": f"opcert-notification-{message.notification_id}",
            "kind": message.kind,
        }
        try:
            response = requests.post(
                self.url,
                data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise DeliveryError(f"SMS gateway unreachable: {type(exc).__name__}: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"SMS gateway answered HTTP {response.status_code}")


def make_sender(config: dict[str, Any]) -> Sender:
    """The sender NOTIFY_SENDER names ("log" or "http")."""
    kind = config.get("NOTIFY_SENDER", "log")
    if kind == "log":
        return LogSender(int(config.get("NOTIFY_LOG_KEEP", 100)))
    if kind == "http":
        url = config.get("NOTIFY_SMS_URL")
        if not url:
            raise ValueError("NOTIFY_SENDER is http but NOTIFY_SMS_URL is not set")
        return HttpSmsSender(url, token=config.get("NOTIFY_SMS_TOKEN"), timeout=float(config.get("NOTIFY_TIMEOUT", 5)))
    raise ValueError(f"unknown NOTIFY_SENDER {kind!r}: use 'log' or 'http'")


def current_sender() -> Sender:
    """The app's sender, built once from its configuration."""
    sender: Sender | None = current_app.extensions.get(SENDER_KEY)
    if sender is None:
        sender = make_sender(current_app.config)
        current_app.extensions[SENDER_KEY] = sender
    return sender


def notify(*, user_id: int, kind: str, subject: str, body: str) -> Notification:
    """Add an in-app notification in the current transaction; its outside delivery runs after the commit."""
    NotificationKind(kind)  # an unknown kind is a programming error: ValueError
    user = get_user(user_id)
    row = Notification(user_id=user.id, kind=kind, subject=subject, body=body, channels=IN_APP)
    db.session.add(row)
    db.session.flush()
    message = OutgoingMessage(row.id, user.id, user.mobile, kind, subject, body)
    db.session.info.setdefault(OUTBOX_KEY, []).append((row, message))
    return row


@event.listens_for(Session, "after_commit")
def _ready_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the outer transaction may still roll back
    outbox = session.info.pop(OUTBOX_KEY, [])
    # Rows added inside a savepoint that was rolled back are transient again: their messages are dropped.
    messages = [message for row, message in outbox if sa.inspect(row).persistent]
    if messages:
        session.info[READY_KEY] = messages


@event.listens_for(Session, "after_transaction_end")
def _deliver_when_ended(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction is over and its connection is back in the pool, so recording the delivered
    # channels on a connection of its own never holds two connections at once (no pool starvation under threads).
    if transaction.parent is not None:
        return
    session.info.pop(OUTBOX_KEY, None)  # left over from a transaction that was rolled back or closed
    ready = session.info.pop(READY_KEY, None)
    if ready:
        deliver(ready)


def deliver(messages: list[OutgoingMessage]) -> None:
    """Hand committed messages to the sender; record each delivered channel, log each failure."""
    sender = current_sender()
    delivered: list[int] = []
    for message in messages:
        try:
            sender.send(message)
        except Exception:
            logger.exception("notification %s: %s delivery failed", message.notification_id, sender.channel)
        else:
            delivered.append(message.notification_id)
    if not delivered:
        return
    # The session's transaction is over (no SQL from after_commit): record on a connection of our own.
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(Notification)
            .where(Notification.id.in_(delivered))
            .values(channels=Notification.channels + f",{sender.channel}")
        )


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
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user_id, Notification.id.in_(list(ids)), Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


bp = Blueprint("notify", __name__, template_folder="templates")


@bp.app_context_processor
def inject_unread() -> dict[str, Any]:
    """`notify_unread()` for the navbar badge: the signed-in user's unread count (0 when signed out)."""

    def notify_unread() -> int:
        signed_in = has_request_context() and current_user.is_authenticated
        return unread_count(user_id=current_user.id) if signed_in else 0

    return {"notify_unread": notify_unread}


@bp.route("/notifications")
@allow(AUTHENTICATED)
def index() -> str:
    """The user's own notifications, newest first; showing them marks them read."""
    rows = list_notifications(user_id=current_user.id)
    unread = {row.id for row in rows if row.read_at is None}
    page = render_template("notify/index.html", notifications=rows, unread_ids=unread)
    if unread:
        mark_read(user_id=current_user.id, ids=unread)
    db.session.commit()
    return page
