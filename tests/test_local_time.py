"""Times are shown in the deployment's zone (setting TIMEZONE), never in UTC or the server's own zone."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from exams.sessions.notices import NotificationKind
from opcert.db import utcnow
from opcert.errors import DomainError
from opcert.extensions import db as _db
from opcert.notifications.services import notify
from photos.importer import MESSAGES as IMPORT_MESSAGES
from photos.importer import ImportSourceError, import_photos
from tests.factories import PASSWORD, trainee
from tests.fixtures.database import make_app
from tests.fixtures.web import csrf_token, login, text
from tests.photos.imagelib import photo

# Fourteen hours ahead of UTC and twelve behind: at any moment at least one of them is on another date than UTC.
FAR_ZONES = ("Etc/GMT-14", "Etc/GMT+12")


@pytest.fixture
def zoned(app: Flask, database_url: str) -> Iterator[list[Flask]]:
    """Apps on the test database with another TIMEZONE (the `app` fixture empties the tables afterwards)."""
    built: list[Flask] = []
    yield built
    for other in built:
        with other.app_context():
            _db.session.remove()
            _db.engine.dispose()


def chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def notifications_page(app: Flask, created_at: dt.datetime) -> str:
    with app.app_context():
        user = trainee()
        row = notify(user_id=user.id, kind=NotificationKind.EXAM_REMINDER, subject="明日考试", body="")
        row.created_at = created_at
        _db.session.commit()
        account = user.login_name
    client = app.test_client()
    assert login(client, account, PASSWORD).status_code == 302
    return text(client.get("/notifications"))


def test_notification_time_is_shown_in_the_default_zone(app) -> None:
    page = notifications_page(app, dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC))
    assert "2026年3月2日 00:30:00" in page, "16:30 UTC is half past midnight the next day in Shanghai"


def test_notification_time_follows_the_timezone_setting(zoned, database_url) -> None:
    new_york = make_app(database_url, TIMEZONE="America/New_York")
    zoned.append(new_york)
    page = notifications_page(new_york, dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC))
    assert "2026年3月1日 11:30:00" in page


@pytest.mark.parametrize("zone", FAR_ZONES)
def test_photo_upload_date_is_the_local_date(zoned, database_url, zone) -> None:
    local_app = make_app(database_url, TIMEZONE=zone)
    zoned.append(local_app)
    with local_app.app_context():
        number = trainee().id_number
    client = local_app.test_client()
    assert login(client, number, PASSWORD).status_code == 302
    token = csrf_token(client, "/account/photo")
    response = client.post(
        "/account/photo",
        data={"csrf_token": token, "photo": (io.BytesIO(photo("identities/deepface__dp03/1.jpg")), "me.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = text(client.get("/account/photo"))
    assert f"上传于{chinese_date(utcnow().astimezone(ZoneInfo(zone)).date())}" in page


def test_an_unknown_timezone_refuses_to_start(database_url) -> None:
    with pytest.raises(RuntimeError, match="Mars/Olympus"):
        make_app(database_url, TIMEZONE="Mars/Olympus")


@pytest.mark.parametrize("zone", FAR_ZONES)
def test_photo_import_counts_today_in_the_local_zone(zoned, database_url, tmp_path, zone) -> None:
    # At any moment one of the far zones is on another date than UTC (and the server's clock): the import's
    # "not later than today" must be the deployment's today.
    local_app = make_app(database_url, TIMEZONE=zone)
    zoned.append(local_app)
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    nowhere = tmp_path / "nowhere"
    with local_app.app_context():
        with pytest.raises(DomainError) as later:
            import_photos(source=nowhere, processes=1, captured_on=today + dt.timedelta(days=1))
        assert later.value.message == str(IMPORT_MESSAGES["captured_on"])
        # Today itself passes the date check and fails only on the missing source.
        with pytest.raises(ImportSourceError, match="找不到导入来源"):
            import_photos(source=nowhere, processes=1, captured_on=today)
