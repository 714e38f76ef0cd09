"""Notifications: the in-app row in the caller's transaction, outside delivery only after the commit."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from exams.sessions.notices import NotificationKind
from opcert.extensions import db as _db
from opcert.notifications.delivery import LogSender, current_sender
from opcert.notifications.models import Notification
from opcert.notifications.services import notify
from tests.factories import PASSWORD, id_number, trainee
from tests.fixtures.database import make_app
from tests.fixtures.web import login, text


class SmsGateway(ThreadingHTTPServer):
    """A stand-in SMS gateway on loopback that records every request and answers with `status`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _GatewayHandler)
        self.received: list[dict[str, Any]] = []
        self.status = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/sms/send"


class _GatewayHandler(BaseHTTPRequestHandler):
    server: SmsGateway

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.server.received.append(
            {"path": self.path, "headers": dict(self.headers), "json": json.loads(body.decode("utf-8"))}
        )
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:  # the test output stays quiet
        pass


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    server = SmsGateway()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def sms_app(app: Flask, database_url: str, gateway: SmsGateway) -> Iterator[Flask]:
    """A second app on the test database whose sender is the HTTP gateway (the `app` fixture empties tables)."""
    configured = make_app(database_url, NOTIFY_SENDER="http", NOTIFY_SMS_URL=gateway.url, NOTIFY_SMS_TOKEN="gw-token")
    yield configured
    with configured.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def outbox(db: Any) -> LogSender:
    """The development sender's memory, emptied for this test."""
    sender = current_sender()
    assert isinstance(sender, LogSender)
    sender.sent.clear()
    return sender


def stored(user_id: int) -> list[Notification]:
    rows = _db.session.execute(sa.select(Notification).where(Notification.user_id == user_id).order_by(Notification.id))
    return list(rows.scalars())


def test_row_is_written_at_once_and_delivered_only_after_commit(db, outbox) -> None:
    user = trainee(mobile="13900001234")
    row = notify(user_id=user.id, kind=NotificationKind.BOOKING_CONFIRMED, subject="预约成功", body="11月27日 上午")
    assert [n.id for n in stored(user.id)] == [row.id]
    assert list(outbox.sent) == []

    db.session.commit()

    assert [(m.notification_id, m.mobile, m.subject) for m in outbox.sent] == [(row.id, "13900001234", "预约成功")]
    assert stored(user.id)[0].channels == "in_app,log"
    db.session.commit()
    assert len(outbox.sent) == 1, "a later commit does not send the message again"


def test_rollback_drops_the_row_and_the_delivery(db, outbox) -> None:
    user = trainee()
    notify(user_id=user.id, kind=NotificationKind.SESSION_CANCELLED, subject="场次取消", body="…")
    db.session.rollback()
    trainee(number=id_number())  # an unrelated commit afterwards
    assert list(outbox.sent) == []
    assert stored(user.id) == []


def test_savepoints_deliver_with_the_outer_commit_only(db, outbox) -> None:
    user = trainee()
    dropped = db.session.begin_nested()
    notify(user_id=user.id, kind=NotificationKind.SESSION_CHANGED, subject="rolled back", body="")
    dropped.rollback()
    kept = db.session.begin_nested()
    notify(user_id=user.id, kind=NotificationKind.SESSION_CHANGED, subject="kept", body="")
    kept.commit()
    assert list(outbox.sent) == [], "releasing a savepoint is not the commit"
    db.session.commit()
    assert [m.subject for m in outbox.sent] == ["kept"]
    assert [n.subject for n in stored(user.id)] == ["kept"]


def test_unknown_kind_is_refused(db) -> None:
    user = trainee()
    with pytest.raises(ValueError, match="nonsense"):
        notify(user_id=user.id, kind="nonsense", subject="x", body="y")


def test_http_sender_posts_to_the_gateway_after_commit(sms_app, gateway) -> None:
    with sms_app.app_context():
        user = trainee(mobile="13811112222")
        row = notify(user_id=user.id, kind=NotificationKind.WAITLIST_PROMOTED, subject="候补转正", body="座位 12")
        assert gateway.received == []
        _db.session.commit()
        assert len(gateway.received) == 1
        request = gateway.received[0]
        assert request["path"] == "/sms/send"
        assert request["headers"]["Authorization"] == "Bearer gw-token"
        assert request["json"] == {
            "mobile": "13811112222",
            "text": "候补转正\n座位 12",
            "reference": f"opcert-notification-{row.id}",
            "kind": "waitlist_promoted",
        }
        assert stored(user.id)[0].channels == "in_app,sms"


def test_a_gateway_failure_keeps_the_in_app_row(sms_app, gateway, caplog) -> None:
    gateway.status = 503
    with sms_app.app_context():
        user = trainee()
        notify(user_id=user.id, kind=NotificationKind.EXAM_REMINDER, subject="明日考试", body="请携带身份证")
        with caplog.at_level(logging.ERROR, logger="opcert.notifications.delivery"):
            _db.session.commit()
        assert len(gateway.received) == 1
        assert "delivery failed" in caplog.text
        rows = stored(user.id)
        assert [(n.subject, n.channels) for n in rows] == [("明日考试", "in_app")]


def test_page_shows_only_the_users_own_newest_first_and_marks_them_read(app, db) -> None:
    me = trainee(name="王五")
    other = trainee(name="赵六")
    notify(user_id=me.id, kind=NotificationKind.BOOKING_CONFIRMED, subject="第一条我的通知", body="甲")
    notify(user_id=me.id, kind=NotificationKind.SESSION_CHANGED, subject="第二条我的通知", body="乙")
    notify(user_id=other.id, kind=NotificationKind.BOOKING_CONFIRMED, subject="别人的通知", body="丙")
    db.session.commit()
    account, my_id, other_id = me.login_name, me.id, other.id

    client = app.test_client()
    assert login(client, account, PASSWORD).status_code == 302
    page = text(client.get("/notifications"))
    assert "别人的通知" not in page
    assert page.index("第二条我的通知") < page.index("第一条我的通知")
    assert page.count("未读") == 2

    db.session.expire_all()
    assert all(n.read_at is not None for n in stored(my_id))
    assert all(n.read_at is None for n in stored(other_id))
    assert text(client.get("/notifications")).count("未读") == 0


def test_anonymous_visitors_are_sent_to_login(client) -> None:
    response = client.get("/notifications")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_navbar_badge_counts_unread_notifications(app, db) -> None:
    me = trainee()
    for n in range(3):
        notify(user_id=me.id, kind=NotificationKind.EXAM_REMINDER, subject=f"提醒{n}", body="")
    db.session.commit()
    client = app.test_client()
    assert login(client, me.login_name, PASSWORD).status_code == 302
    assert 'text-dark">3</span>' in text(client.get("/"))
    client.get("/notifications")
    assert 'text-dark">' not in text(client.get("/"))


def test_delivery_after_commit_needs_no_second_connection(app, database_url) -> None:
    # With one pooled connection and no overflow, recording the delivered channel must not wait for a second
    # connection while the committed transaction still holds the first (threaded servers would starve).
    tight = make_app(database_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 2})
    try:
        with tight.app_context():
            user_id = trainee().id
            notify(user_id=user_id, kind=NotificationKind.BOOKING_CONFIRMED.value, subject="s", body="b")
            _db.session.commit()
            channels = _db.session.execute(sa.select(Notification.channels)).scalars().all()
            assert channels == ["in_app,log"]
    finally:
        with tight.app_context():
            _db.engine.dispose()
