"""Outside delivery of notifications, only after the commit that stored them.

`queue()` puts a message in the session's outbox. When the outermost transaction commits and has released its
connection, the outbox goes to the configured sender (NOTIFY_SENDER); a rollback, or a savepoint rolled back, drops
what it held, so nobody is told about a booking that was never stored. A failed delivery is logged and leaves the
in-app row as it is: `channels` lists only the channels that delivered.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
from typing import Any, Protocol

import requests
import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from opcert.extensions import db
from opcert.notifications.models import Notification
from opcert.web import require_https_or_loopback

logger = logging.getLogger(__name__)

OUTBOX_KEY = "opcert.notify.outbox"
READY_KEY = "opcert.notify.ready"
SENDER_KEY = "opcert.notify.sender"


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


class HttpSmsSender:
    """Posts each message as JSON to an SMS gateway: {"mobile", "text", "reference", "kind"}."""

    channel = "sms"

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 5.0) -> None:
        require_https_or_loopback(url, setting="NOTIFY_SMS_URL")
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


def queue(row: Notification, message: OutgoingMessage) -> None:
    """Hold the message of a flushed row until the outermost transaction has committed."""
    db.session.info.setdefault(OUTBOX_KEY, []).append((row, message))


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
