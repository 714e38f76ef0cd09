"""The registration form cannot be used to find out cheaply whose ID numbers are registered: attempts are throttled
per address, and "already registered" is only said to an otherwise valid submission."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask.testing import FlaskClient

from opcert.accounts.models import User
from opcert.audit.models import AuditEvent
from opcert.extensions import db
from tests.factories import PASSWORD, id_number, trainee
from tests.fixtures.web import submit, text

DUPLICATE = "该身份证号码已注册"
TOO_OFTEN = "注册尝试过于频繁"


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


def register(client: FlaskClient, **changes: str) -> str:
    return text(submit(client, "/register", form(**changes), page="/register", follow=True))


def users(app) -> int:
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count(User.id))).scalar_one()


def test_attempts_past_the_threshold_from_one_address_are_delayed(app) -> None:
    threshold = app.config["REGISTER_THROTTLE_THRESHOLD"]
    prober = app.test_client()
    with app.app_context():
        registered = trainee().id_number
    for n in range(threshold):
        page = register(prober, id_number=registered, mobile="12345" if n % 2 else "13812345678")
        assert TOO_OFTEN not in page, n
    # The next one is held back, however valid it is, and creates nothing.
    page = register(prober)
    assert TOO_OFTEN in page
    assert "后再试" in page
    assert DUPLICATE not in register(prober, id_number=registered)
    assert users(app) == 1
    # Someone registering from another address is not affected.
    neighbour = app.test_client()
    neighbour.environ_base["REMOTE_ADDR"] = "198.51.100.77"
    assert "注册成功" in register(neighbour)
    assert users(app) == 2
    with app.app_context():
        actions = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
    assert actions.count("user.register_throttled") == 2


def test_already_registered_is_only_said_when_everything_else_is_valid(app, client) -> None:
    with app.app_context():
        registered = trainee().id_number
    refusals = [
        ({"password": "abcdefgh", "confirm": "abcdefgh"}, "同时包含字母和数字"),
        ({"mobile": "12345"}, "手机号码"),
        ({"real_name": "<b>"}, "只能包含汉字"),
        ({"confirm": "Different2026"}, "两次输入的密码不一致"),
    ]
    for changes, message in refusals:
        page = register(client, id_number=registered, **changes)
        assert message in page, message
        assert DUPLICATE not in page, changes
    assert DUPLICATE in register(client, id_number=registered)
    assert users(app) == 1
