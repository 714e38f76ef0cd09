"""The trainee's photo step on the home page says what is true for them: the library's photo, their upload,
a photo too old, or none (then: upload)."""

from __future__ import annotations

import datetime as dt

from opcert.timeutil import local_today
from photos import services
from photos.models import PhotoSource
from tests.factories import PASSWORD, trainee
from tests.fixtures.web import login, text
from tests.photos.imagelib import photo

GOOD = "identities/deepface__dp03/1.jpg"


def home(app, number: str) -> str:
    client = app.test_client()
    assert login(client, number, PASSWORD).status_code == 302
    return text(client.get("/"))


def test_with_a_library_photo_the_step_is_done_and_nothing_is_asked(app, db) -> None:
    user = trainee()
    services.store_photo(id_number=user.id_number, data=photo(GOOD), source=PhotoSource.UNIFIED_LIBRARY)
    db.session.commit()
    page = home(app, user.id_number)
    assert "已从本市统一照片库调取您的照片，无需上传" in page
    assert "上传照片" not in page


def test_without_a_library_photo_the_trainee_is_asked_to_upload_one(app, db) -> None:
    user = trainee()
    page = home(app, user.id_number)
    assert "本市统一照片库中没有您的照片，请上传" in page
    assert "无需上传" not in page
    assert 'href="/account/photo">上传照片' in page


def test_a_library_photo_older_than_the_limit_is_named_as_the_reason(app, db) -> None:
    user = trainee()
    old = local_today() - dt.timedelta(days=365 * 4)
    services.store_photo(
        id_number=user.id_number, data=photo(GOOD), source=PhotoSource.UNIFIED_LIBRARY, captured_on=old
    )
    db.session.commit()
    page = home(app, user.id_number)
    assert "本市统一照片库中您的照片已超过3年，请上传" in page


def test_after_an_upload_the_step_says_the_upload_is_used(app, db) -> None:
    user = trainee()
    services.store_photo(id_number=user.id_number, data=photo(GOOD), source=PhotoSource.UPLOADED)
    db.session.commit()
    page = home(app, user.id_number)
    assert "本市统一照片库中没有您近3年内的照片，将使用您上传的照片" in page
