"""Trainee registration through the real pages: success, and each kind of bad input."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from opcert.accounts.models import User
from opcert.extensions import db
from opcert.timeutil import local_today
from tests.factories import PASSWORD, id_number, trainee
from tests.fixtures.web import login, submit, text


def user_count(app) -> int:
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count(User.id))).scalar_one()


def form(**changes: str) -> dict[str, str]:
    data = {
        "real_name": "王小明",
        "id_number": id_number(dt.date(1995, 5, 20)),
        "mobile": "13812345678",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    data.update(changes)
    return data


def test_register_then_log_in_with_id_number(app, client) -> None:
    data = form()
    response = submit(client, "/register", data, page="/register")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    assert "注册成功" in text(client.get("/login"))
    response = login(client, data["id_number"], PASSWORD)
    assert response.status_code == 302
    profile = text(client.get("/account"))
    assert "王小明" in profile
    assert data["id_number"] not in profile  # masked on screen
    assert data["id_number"][:6] + "********" in profile


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id_number": "110105194912310021"}, "校验位不正确"),
        ({"id_number": "31010120301231123X"}, "晚于今天"),
        ({"id_number": "3101011990023012"}, "应为18位"),
        ({"id_number": "99010519491231002X"}, "行政区划代码"),
        ({"password": "abcdefgh", "confirm": "abcdefgh"}, "同时包含字母和数字"),
        ({"password": "abc12", "confirm": "abc12"}, "至少需要8个字符"),
        ({"password": "password1", "confirm": "password1"}, "过于简单"),
        ({"confirm": "Different2026"}, "两次输入的密码不一致"),
        ({"mobile": "12345"}, "手机号码"),
        ({"real_name": "王" * 31}, "不能超过30个字符"),
        ({"real_name": "<script>"}, "只能包含汉字"),
        ({"id_number": "1" * 300}, "不能超过20个字符"),
        ({"real_name": ""}, "请填写姓名"),
    ],
)
def test_bad_input_gets_a_chinese_message_and_writes_nothing(app, client, changes, message) -> None:
    response = submit(client, "/register", form(**changes), page="/register")
    assert response.status_code == 200
    assert message in text(response)
    assert user_count(app) == 0


def test_under_18_is_refused(app, client) -> None:
    with app.app_context():
        today = local_today()
    young = id_number(dt.date(today.year - 17, 1, 1))
    response = submit(client, "/register", form(id_number=young), page="/register")
    assert "未满18周岁" in text(response)
    assert user_count(app) == 0


def test_duplicate_id_number_is_refused(app, client) -> None:
    number = id_number(dt.date(1988, 8, 8))
    with app.app_context():
        trainee(number=number)
    response = submit(client, "/register", form(id_number=number.lower()), page="/register")
    assert "该身份证号码已注册" in text(response)
    assert user_count(app) == 1


def test_form_without_csrf_token_is_refused_in_chinese(app, client) -> None:
    client.get("/register")
    response = client.post("/register", data=form())
    assert response.status_code == 400
    assert "安全令牌" in text(response)
    assert user_count(app) == 0


def test_the_register_page_promises_nothing_the_library_may_not_keep(client) -> None:
    page = text(client.get("/register"))
    assert "证件照片将从本市统一照片库调取，无需上传" not in page
    assert "如本市统一照片库中有您近3年内的照片，将直接调用，无需上传" in page


def field_errors(page: str) -> dict[str, str]:
    """Field id → the error message shown under it (Bootstrap's invalid-feedback after the field's input)."""
    found = re.findall(r'id="(\w+)"[^>]*>\s*<div class="invalid-feedback[^"]*"[^>]*>\s*([^<]+?)\s*</div>', page)
    return dict(found)


def test_every_fault_is_shown_at_once(app, client) -> None:
    # Faults of every stage together: a form check (confirm, required name) and the rules (ID number, mobile,
    # password), which used to show only once the form's own checks passed.
    bad = form(real_name="", id_number="110105194912310021", mobile="12345", password="abcdefgh", confirm="x")
    page = text(submit(client, "/register", bad, page="/register"))
    errors = field_errors(page)
    assert "请填写姓名" in errors["real_name"]
    assert "校验位不正确" in errors["id_number"]
    assert "手机号码" in errors["mobile"]
    assert "同时包含字母和数字" in errors["password"]
    assert "两次输入的密码不一致" in errors["confirm"]
    assert user_count(app) == 0


def test_rule_faults_alone_are_shown_together(app, client) -> None:
    bad = form(real_name="<script>", mobile="12345", password="abc12", confirm="abc12")
    errors = field_errors(text(submit(client, "/register", bad, page="/register")))
    assert set(errors) == {"real_name", "mobile", "password"}
    assert "只能包含汉字" in errors["real_name"]
    assert "至少需要8个字符" in errors["password"]
    assert user_count(app) == 0


def test_a_registered_id_number_is_not_told_beside_other_faults(app, client) -> None:
    number = id_number(dt.date(1988, 8, 8))
    with app.app_context():
        trainee(number=number)
    for bad in (form(id_number=number, confirm="Different2026"), form(id_number=number, mobile="12345")):
        page = text(submit(client, "/register", bad, page="/register"))
        assert "该身份证号码已注册" not in page
        assert "id_number" not in field_errors(page)
    assert user_count(app) == 1
