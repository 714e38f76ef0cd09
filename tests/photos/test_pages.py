"""The trainee's photo page (reuse the library, upload only when it has nothing) and consent. Who else may see a
face photo: test_photo_access.py."""

from __future__ import annotations

import io

import sqlalchemy as sa

from opcert.extensions import db
from photos import services
from photos.models import FaceConsent, Photo, PhotoSource
from tests.factories import PASSWORD, trainee
from tests.fixtures.web import csrf_token, login, text
from tests.photos.imagelib import photo

GOOD = "identities/deepface__dp03/1.jpg"


def trainee_client(app, *, library_photo: str | None = None):
    client = app.test_client()
    with app.app_context():
        user = trainee()
        number = user.id_number
        if library_photo:
            services.store_photo(id_number=number, data=photo(library_photo), source=PhotoSource.UNIFIED_LIBRARY)
            db.session.commit()
    assert login(client, number, PASSWORD).status_code == 302
    return client, number


def upload(client, data: bytes, name: str = "me.jpg"):
    token = csrf_token(client, "/account/photo")
    return client.post(
        "/account/photo",
        data={"csrf_token": token, "photo": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def photo_count(app) -> int:
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count(Photo.id))).scalar_one()


def test_library_photo_is_reused_and_no_upload_is_offered(app) -> None:
    client, _ = trainee_client(app, library_photo=GOOD)
    page = text(client.get("/account/photo"))
    assert "已从本市统一照片库调取您的照片" in page
    assert 'type="file"' not in page
    image = client.get("/account/photo/image")
    assert image.status_code == 200
    assert image.mimetype == "image/jpeg"
    assert image.headers["Cache-Control"] == "private, no-store"
    response = upload(client, photo(GOOD))
    assert "无需上传" in text(response)
    assert photo_count(app) == 1


def test_without_a_library_photo_the_trainee_uploads_one(app) -> None:
    client, number = trainee_client(app)
    page = text(client.get("/account/photo"))
    assert "统一照片库中没有您的可用照片" in page
    assert 'type="file"' in page
    response = upload(client, photo(GOOD))
    assert response.status_code == 302
    page = text(client.get("/account/photo"))
    assert "将使用您上传的照片" in page
    with app.app_context():
        status = services.reference_status(number)
        assert status.photo.source is PhotoSource.UPLOADED


def test_bad_uploads_get_a_chinese_message_and_store_nothing(app, faces_dir) -> None:
    client, _ = trainee_client(app)
    cases = [
        (b"just text", "不是JPEG或PNG图片"),
        ((faces_dir / "multi" / "ageitgey__two_people.jpg").read_bytes(), "多张人脸"),
        (sorted((faces_dir / "noface").glob("*.jpg"))[0].read_bytes(), "未检测到人脸"),
        (b"", "文件是空的"),
    ]
    for data, message in cases:
        response = upload(client, data)
        assert response.status_code == 200
        assert message in text(response), message
    no_file = client.post("/account/photo", data={"csrf_token": csrf_token(client, "/account/photo")})
    assert "请选择照片文件" in text(no_file)
    assert photo_count(app) == 0


def test_consent_is_separate_recorded_and_can_be_withdrawn(app) -> None:
    client, number = trainee_client(app)
    token = csrf_token(client, "/account/photo")
    client.post("/account/photo/consent", data={"csrf_token": token})
    with app.app_context():
        assert not services.has_consent(number)
    client.post("/account/photo/consent", data={"csrf_token": token, "agree": "y"})
    with app.app_context():
        assert services.has_consent(number)
    assert "您已同意人脸识别核验" in text(client.get("/account/photo"))
    client.post("/account/photo/consent/withdraw", data={"csrf_token": token})
    with app.app_context():
        assert not services.has_consent(number)
        rows = db.session.execute(sa.select(FaceConsent)).scalars().all()
        assert len(rows) == 1
        assert rows[0].withdrawn_at is not None
