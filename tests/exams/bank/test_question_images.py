"""Question images: attach, replace and remove on the edit page; bad files refused; shown on papers; not in files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from exams.bank import importer, services
from exams.bank.models import Question, QuestionKind
from opcert.access import Role
from opcert.accounts.models import OrgKind
from opcert.extensions import db
from tests.exams.bank.bank_data import AUTHORITY, HEADER, catalogue_item, csv_bytes, fill_bank, tf_row
from tests.factories import organisation
from tests.fixtures.faces import IDENTITIES
from tests.fixtures.web import logged_in_client, submit, text

PHOTO = IDENTITIES / "ageitgey__alex_lacamoire" / "1.jpg"  # 746 x 1024 JPEG
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'


def one_question(app: Flask, organisation_id: int | None = None) -> tuple[int, int]:
    """(item id, question id) of a bank holding one true/false question, owned by `organisation_id`."""
    with app.app_context():
        item = catalogue_item()
        fill_bank(item, true_false=1, organisation_id=organisation_id)
        question_id = db.session.execute(sa.select(Question.id)).scalar_one()
        return item.id, question_id


def stored(app: Flask, question_id: int) -> str | None:
    """The question's image key as stored."""
    with app.app_context():
        question = db.session.get(Question, question_id)
        assert question is not None
        return question.image_key


def image_files(app: Flask) -> list[Path]:
    """Every file under QUESTION_IMAGE_DIR."""
    root = Path(app.config["QUESTION_IMAGE_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def upload(client: FlaskClient, question_id: int, data: bytes, name: str, page: str) -> TestResponse:
    """Post an image file through the edit page's upload form."""
    url = f"/admin/bank/questions/{question_id}/image"
    return submit(client, url, {"image": (io.BytesIO(data), name)}, page=page)


def big_png() -> bytes:
    """The real photo scaled up to 1492 x 2048 as a 32-colour PNG (under 500 kB, which the test client keeps in
    memory: bigger request bodies go to a temporary file it never closes)."""
    with Image.open(PHOTO) as photo:
        large = photo.convert("RGB").resize((photo.width * 2, photo.height * 2)).quantize(32)
    out = io.BytesIO()
    large.save(out, format="PNG", optimize=True)
    return out.getvalue()


def test_attach_replace_and_remove_on_the_edit_page(app: Flask) -> None:
    item_id, question_id = one_question(app)
    client = logged_in_client(app, Role.ADMIN)
    edit = f"/admin/bank/items/{item_id}/questions/{question_id}/edit"
    image_url = f"/admin/bank/questions/{question_id}/image"
    assert "本题没有图片。" in text(client.get(edit))
    assert client.get(image_url).status_code == 404

    response = upload(client, question_id, PHOTO.read_bytes(), "接线图.jpg", edit)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(edit)
    page = text(client.get(edit))
    assert f"题目{question_id}的图片已保存。" in page
    assert f'src="{image_url}"' in page
    first = stored(app, question_id)
    assert first is not None
    [first_file] = image_files(app)
    assert first_file.name == f"{first}.jpg"
    served = client.get(image_url)
    assert (served.status_code, served.mimetype) == (200, "image/jpeg")
    assert served.data == first_file.read_bytes()
    with Image.open(io.BytesIO(served.data)) as shown:
        assert (shown.format, shown.size) == ("JPEG", (746, 1024))
        assert not shown.info.get("exif")

    response = upload(client, question_id, big_png(), "大图.png", edit)
    assert response.status_code == 302
    second = stored(app, question_id)
    assert second not in (None, first)
    assert [p.name for p in image_files(app)] == [f"{second}.jpg"]
    with Image.open(io.BytesIO(client.get(image_url).data)) as shown:
        assert (shown.format, shown.size) == ("JPEG", (874, 1200))

    form = {"kind": "true_false", "stem": "改过的题干。", "answer": "对", "difficulty": "3", "status": "active"}
    assert submit(client, edit, form, page=edit).status_code == 302
    assert stored(app, question_id) == second

    response = submit(client, f"{image_url}/remove", page=edit, follow=True)
    assert f"题目{question_id}的图片已删除。" in text(response)
    assert "本题没有图片。" in text(response)
    assert stored(app, question_id) is None
    assert image_files(app) == []
    assert client.get(image_url).status_code == 404


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"just some notes\n", "notes.jpg", "文件不是JPEG或PNG图片（请勿只修改文件扩展名），请上传照片原图。"),
        (SVG, "diagram.svg", "不支持SVG等矢量图，请上传JPEG或PNG格式的照片。"),
        (b"", "empty.png", "上传的文件是空的，请重新选择照片。"),
        (None, "", "请选择要上传的图片。"),
    ],
)
def test_bad_files_are_refused_and_nothing_changes(app: Flask, data: bytes | None, name: str, message: str) -> None:
    with app.app_context():
        provider_id = organisation(OrgKind.TRAINING_PROVIDER).id
    item_id, question_id = one_question(app, provider_id)
    client = logged_in_client(app, Role.PROVIDER, organisation_id=provider_id)
    edit = f"/admin/bank/items/{item_id}/questions/{question_id}/edit"
    assert upload(client, question_id, PHOTO.read_bytes(), "photo.jpg", edit).status_code == 302
    before_key, before_files = stored(app, question_id), image_files(app)

    if data is None:
        response = submit(client, f"/admin/bank/questions/{question_id}/image", page=edit)
    else:
        response = upload(client, question_id, data, name, edit)
    assert response.status_code == 200
    assert message in text(response)
    assert stored(app, question_id) == before_key
    assert image_files(app) == before_files


def test_file_over_the_photo_limit_is_refused(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    item_id, question_id = one_question(app)
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 100_000)
    client = logged_in_client(app, Role.ADMIN)
    edit = f"/admin/bank/items/{item_id}/questions/{question_id}/edit"
    response = upload(client, question_id, PHOTO.read_bytes(), "photo.jpg", edit)
    assert "文件过大" in text(response)
    assert stored(app, question_id) is None
    assert image_files(app) == []


def test_images_show_on_sample_papers(app: Flask) -> None:
    with app.app_context():
        item = catalogue_item()
        item_id = item.id
        fill_bank(item, true_false=3)
        services.save_blueprint(
            item_id=item.id, rows=[services.RowSpec(QuestionKind.TRUE_FALSE, 3)], duration_minutes=30, pass_mark=2
        )
        question = db.session.execute(sa.select(Question).order_by(Question.id)).scalars().first()
        assert question is not None
        services.set_question_image(question=question, data=PHOTO.read_bytes(), **AUTHORITY)
        db.session.commit()
        question_id = question.id
    client = logged_in_client(app, Role.PROVIDER)
    url = f"/admin/bank/items/{item_id}/sample"
    response = submit(client, url, page=url)
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert page.count('class="img-fluid border question-image"') == 1
    assert f'src="/admin/bank/questions/{question_id}/image"' in page


def test_files_carry_no_images(app: Flask) -> None:
    item_id, question_id = one_question(app)
    with app.app_context():
        question = db.session.get(Question, question_id)
        assert question is not None
        services.set_question_image(question=question, data=PHOTO.read_bytes(), **AUTHORITY)
        db.session.commit()
    client = logged_in_client(app, Role.ADMIN)
    exported = client.get(f"/admin/bank/items/{item_id}/export.csv")
    assert exported.status_code == 200
    header = exported.data.decode("utf-8-sig").splitlines()[0]
    assert header.split(",") == list(importer.EXPORT_HEADERS)

    with app.app_context():
        other = catalogue_item("1.1")
        [copy] = services.import_questions(item_id=other.id, filename="export.csv", data=exported.data)
        db.session.commit()
        assert copy.image_key is None
        with_image_column = csv_bytes([[*tf_row("带图的题"), "图.jpg"]], header=[*HEADER, "图片"])
        with pytest.raises(services.QuestionImportError) as caught:
            services.import_questions(item_id=other.id, filename="q.csv", data=with_image_column)
        db.session.rollback()
        assert "第1行N列：无法识别的列名“图片”。" in [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("role", [Role.TRAINEE, None])
def test_only_administrators_and_providers_see_or_change_images(app: Flask, role: Role | None) -> None:
    _item_id, question_id = one_question(app)
    with app.app_context():
        question = db.session.get(Question, question_id)
        assert question is not None
        services.set_question_image(question=question, data=PHOTO.read_bytes(), **AUTHORITY)
        db.session.commit()
    key = stored(app, question_id)
    client = logged_in_client(app, role)
    image_url = f"/admin/bank/questions/{question_id}/image"
    token_page = "/login" if role is None else "/"
    responses = [
        client.get(image_url),
        submit(client, image_url, {"image": (io.BytesIO(PHOTO.read_bytes()), "x.jpg")}, page=token_page),
        submit(client, f"{image_url}/remove", page=token_page),
    ]
    if role is None:
        assert all(r.status_code == 302 and "/login" in r.headers["Location"] for r in responses)
    else:
        assert [r.status_code for r in responses] == [403, 403, 403]
    assert stored(app, question_id) == key
    assert len(image_files(app)) == 1
