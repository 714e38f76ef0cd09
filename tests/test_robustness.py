"""Nothing a client can send answers 500: oversized bodies, NUL characters, huge page numbers and ids, bad client
addresses, files or JSON where text belongs, dates out of range. Each is refused in Chinese, logged, and changes
nothing."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from exams.bank.models import Question
from exams.sessions.models import ExamSession
from opcert.access import Role
from opcert.accounts.models import LoginThrottle, Organisation, User, UserSession
from opcert.audit.models import AuditEvent
from opcert.db import paginate
from opcert.extensions import db as _db
from opcert.timeutil import local, utcnow
from photos.models import Photo
from tests.exams.bank.bank_data import catalogue_item, fill_bank
from tests.exams.sessions import sessions_data
from tests.factories import PASSWORD, staff, trainee
from tests.fixtures.database import make_app
from tests.fixtures.web import csrf_token, logged_in_client, login, submit, text

NUL_REFUSAL = "提交的内容中含有不允许的空字符（NUL），请删除后重新提交。"


def count(model: type) -> int:
    """Rows of a model's table."""
    return int(_db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


@pytest.fixture
def small_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """A second app on the test database that accepts request bodies of at most 64 KB."""
    other = make_app(database_url, MAX_CONTENT_LENGTH=64 * 1024)
    yield other
    with other.app_context():
        _db.session.remove()
        _db.engine.dispose()


# --- bodies over the upload limit ----------------------------------------------------------------------------


def _assert_too_large(response, caplog) -> None:
    assert response.status_code == 413
    page = text(response)
    assert "上传内容过大" in page
    assert "提交的内容超过了允许的大小（最大 64 KB）。" in page
    assert "body too large" in caplog.text


def test_login_and_register_bodies_over_the_limit_are_413_stating_it(small_app, caplog) -> None:
    client = small_app.test_client()
    token = csrf_token(client, "/login")
    with small_app.app_context():
        before = (count(User), count(AuditEvent), count(LoginThrottle))
    response = client.post("/login", data={"account": "x" * 70_000, "password": "y", "csrf_token": token})
    _assert_too_large(response, caplog)
    big = {"real_name": "张三", "id_number": "1" * 70_000, "mobile": "13912345678", "csrf_token": token}
    _assert_too_large(client.post("/register", data=big), caplog)
    with small_app.app_context():
        assert (count(User), count(AuditEvent), count(LoginThrottle)) == before


def test_photo_upload_over_the_limit_is_413_and_stores_nothing(small_app, caplog) -> None:
    client = logged_in_client(small_app, Role.TRAINEE)
    token = csrf_token(client, "/account/photo")
    upload = {"photo": (io.BytesIO(b"\xff\xd8" + b"x" * 100_000), "me.jpg"), "csrf_token": token}
    _assert_too_large(client.post("/account/photo", data=upload, content_type="multipart/form-data"), caplog)
    with small_app.app_context():
        assert count(Photo) == 0


def test_question_image_over_the_limit_is_413_and_changes_nothing(small_app, caplog) -> None:
    with small_app.app_context():
        fill_bank(catalogue_item(), true_false=1)
        question_id = _db.session.execute(sa.select(Question.id)).scalar_one()
    client = logged_in_client(small_app, Role.ADMIN)
    token = csrf_token(client, "/")
    upload = {"image": (io.BytesIO(b"\x89PNG" + b"x" * 100_000), "q.png"), "csrf_token": token}
    response = client.post(
        f"/admin/bank/questions/{question_id}/image", data=upload, content_type="multipart/form-data"
    )
    _assert_too_large(response, caplog)
    with small_app.app_context():
        assert _db.session.get(Question, question_id).image_key is None


def test_a_form_text_part_over_flasks_limit_is_413_stating_that_limit(client) -> None:
    token = csrf_token(client, "/login")
    # Built by hand: the test client would spool a body this size to a temporary file it never closes.
    parts = {"csrf_token": token, "account": "x" * 600_000, "password": "y"}
    body = "".join(
        f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n' for name, value in parts.items()
    )
    response = client.post("/login", data=f"{body}--b--\r\n".encode(), content_type="multipart/form-data; boundary=b")
    assert response.status_code == 413
    assert "表单内容过长或项目过多（每项文字最大 512 KB，最多 1000 项）。" in text(response)


# --- NUL characters: refused in one place for every form, query string, path and header ----------------------


@pytest.fixture
def admin_client(app: Flask) -> FlaskClient:
    """An administrator, logged in, with a question bank to search."""
    with app.app_context():
        fill_bank(catalogue_item(), true_false=2)
    return logged_in_client(app, Role.ADMIN)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/users?q=a%00b",
        "/admin/audit?action=login%00",
        "/admin/bank/items/{item}?q=%00",
        "/admin/bank/items/{item}?point=%E5%AE%89%00",
        "/admin/bank/items/{item}/export.c%00sv",
    ],
)
def test_nul_in_a_query_string_or_path_is_refused(app, admin_client, caplog, url) -> None:
    with app.app_context():
        item = catalogue_item().id
        before = count(AuditEvent)
    response = admin_client.get(url.format(item=item))
    assert response.status_code == 400
    assert NUL_REFUSAL in text(response)
    assert "NUL character" in caplog.text
    with app.app_context():
        assert count(AuditEvent) == before


def test_nul_in_forms_is_refused_and_stores_nothing(app, admin_client) -> None:
    with app.app_context():
        item = catalogue_item().id
        before = (count(Question), count(Organisation), count(AuditEvent))
    stem = {"kind": "true_false", "stem": "停电\x00作业", "answer": "对", "difficulty": "3", "status": "active"}
    response = submit(admin_client, f"/admin/bank/items/{item}/questions/new", stem)
    assert response.status_code == 400
    assert NUL_REFUSAL in text(response)
    org = {"kind": "authority", "name": "应急管理局\x00", "address": "", "contact": "", "authority_id": "0"}
    response = submit(admin_client, "/admin/organisations/new", org)
    assert response.status_code == 400
    with app.app_context():
        assert (count(Question), count(Organisation), count(AuditEvent)) == before


def test_nul_in_the_login_account_or_the_user_agent_is_refused(app, client) -> None:
    with app.app_context():
        number = trainee().id_number
        before = (count(AuditEvent), count(LoginThrottle), count(UserSession))
    response = submit(client, "/login", {"account": f"{number}\x00", "password": PASSWORD}, page="/login")
    assert response.status_code == 400
    assert NUL_REFUSAL in text(response)
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={"account": number, "password": PASSWORD, "csrf_token": token},
        headers={"User-Agent": "Mozilla/5.0\x00"},
    )
    assert response.status_code == 400
    with app.app_context():
        assert (count(AuditEvent), count(LoginThrottle), count(UserSession)) == before
    assert login(client, number, PASSWORD).status_code == 302  # the same login without the NUL works


# --- page numbers and ids beyond the database's integers -----------------------------------------------------


@pytest.mark.parametrize("page", ["999999999999999999", "99999999999999999999999999", "-5", "abc", "1e5", "３"])
def test_any_page_number_shows_a_page(app, admin_client, page) -> None:
    for url in (f"/admin/users?page={page}", f"/admin/audit?page={page}", f"/admin/users?q=x&page={page}"):
        response = admin_client.get(url)
        assert response.status_code == 200, url


def test_a_page_past_the_end_shows_the_last_page(app, db, monkeypatch) -> None:
    for name in ("张甲", "张乙", "张丙", "张丁", "张戊"):
        trainee(name=name)
    client = logged_in_client(app, Role.ADMIN)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    page = text(client.get("/admin/users?page=999999999999999999"))
    assert "张甲" in page  # the oldest accounts, on the last of three pages
    assert "张乙" in page
    assert "张戊" not in page
    found = paginate(db.session, sa.select(User).order_by(User.id), page=10**18, per_page=2)
    assert (found.page, found.pages, found.total, len(found.items)) == (3, 3, 6, 2)


@pytest.mark.parametrize("user_id", ["2147483648", "99999999999999999999", "0"])
def test_ids_beyond_the_integer_range_are_404(admin_client, user_id) -> None:
    response = admin_client.get(f"/admin/users/{user_id}")
    assert response.status_code == 404
    assert "页面不存在" in text(response)


# --- the client address behind a proxy -----------------------------------------------------------------------


@pytest.fixture
def proxied_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """The app as deployed behind one reverse proxy (X-Forwarded-For trusted)."""
    other = make_app(database_url, PROXY_FIX=True)
    yield other
    with other.app_context():
        _db.session.remove()
        _db.engine.dispose()


def test_a_malformed_forwarded_address_is_refused(proxied_app, caplog) -> None:
    with proxied_app.app_context():
        number = trainee().id_number
    client = proxied_app.test_client()
    token = csrf_token(client, "/login")
    form = {"account": number, "password": PASSWORD, "csrf_token": token}
    response = client.post("/login", data=form, headers={"X-Forwarded-For": "not-an-address" * 10})
    assert response.status_code == 400
    assert "无法识别客户端的网络地址" in text(response)
    assert "client address" in caplog.text
    response = client.post("/login", data=form, headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 302
    with proxied_app.app_context():
        assert _db.session.execute(sa.select(UserSession.ip)).scalar_one() == "203.0.113.9"


# --- files and JSON where a form's text belongs --------------------------------------------------------------


def test_a_file_in_a_text_field_counts_as_no_text(client) -> None:
    token = csrf_token(client, "/login")
    form = {"account": (io.BytesIO(b"310101199003070011"), "account.txt"), "password": PASSWORD, "csrf_token": token}
    response = client.post("/login", data=form, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "请填写账号。" in text(response)


@pytest.mark.parametrize("document", [[1, [2], None], {"account": {"a": [1]}, "password": 5}, "text"])
def test_a_json_body_is_no_form_data(client, document) -> None:
    token = csrf_token(client, "/login")
    response = client.post("/login", json=document, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert "请填写账号。" in text(response)


# --- dates a date picker allows but the platform cannot convert ----------------------------------------------


def test_a_session_in_year_one_is_refused_on_the_form(app) -> None:
    with app.app_context():
        centre = sessions_data.centre()
        room = sessions_data.room(centre)
        item = sessions_data.item()
        centre_id, room_id, item_id = centre.id, room.id, item.id
        user = staff(Role.CENTRE_STAFF, org=centre)
        account = user.login_name
        soon = (local(utcnow()) + dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    client = app.test_client()
    assert login(client, account, PASSWORD).status_code == 302
    form = {
        "part": "theory",
        "item_ids": str(item_id),
        "room_id": str(room_id),
        "starts_at": "0001-01-01T00:00",
        "duration_minutes": "120",
        "capacity": "10",
        "booking_opens_at": soon,
        "booking_closes_at": soon,
        "cancel_deadline": soon,
    }
    url = f"/centres/{centre_id}/sessions/new"
    response = submit(client, url, form, page=url)
    assert response.status_code == 200
    assert "日期应在2000年至2100年之间。" in text(response)
    with app.app_context():
        assert count(ExamSession) == 0


# --- redirect targets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/a\r\nX-Injected: 1", "/\t/evil.example", "/ok\x7f"])
def test_a_redirect_target_with_control_characters_goes_home(client, target) -> None:
    response = submit(client, "/language/en", {"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "X-Injected" not in response.headers
