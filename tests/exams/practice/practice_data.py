"""Practice test data: an offered item whose bank has questions per knowledge point, with explanations."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from exams.bank import services
from exams.bank.models import Question
from opcert.accounts.models import User
from opcert.catalogue.models import Item
from opcert.extensions import db
from tests.exams.bank.bank_data import csv_bytes
from tests.exams.sessions import sessions_data
from tests.factories import PASSWORD, trainee
from tests.fixtures.web import login

POINTS = ("触电急救", "电气防火")


def tf(stem: str, answer: str, point: str, status: str = "启用", explanation: str = "") -> list[str]:
    """A true/false row with its knowledge point and explanation."""
    return ["判断题", stem, "", "", "", "", "", "", answer, point, "", explanation or f"{stem}的解析", status]


def sc(stem: str, answer: str, point: str, status: str = "启用", options: int = 4) -> list[str]:
    """A single-choice row with `options` options (甲, 乙, ...)."""
    texts = [f"{stem}{name}" for name in ("甲", "乙", "丙", "丁", "戊", "己")[:options]]
    return ["单选题", stem, *texts, *[""] * (6 - options), answer, point, "", f"{stem}的解析", status]


def bank_item(
    *, true_false: int = 0, single: int = 0, drafts: int = 0, points: tuple[str, ...] = POINTS, offered: bool = True
) -> Item:
    """A fresh offered item (committed) with questions spread over `points`, answers T/F alternating and A..D."""
    item = sessions_data.item(offered=offered)
    rows = [tf(f"{item.code}判断{n}", "对" if n % 2 else "错", points[n % len(points)]) for n in range(true_false)]
    rows += [sc(f"{item.code}单选{n}", "ABCD"[n % 4], points[n % len(points)]) for n in range(single)]
    rows += [tf(f"{item.code}草稿{n}", "对", points[0], status="草稿") for n in range(drafts)]
    if rows:
        services.import_questions(item_id=item.id, filename="bank.csv", data=csv_bytes(rows))
        db.session.commit()
    return item


def questions(item: Item, *, point: str | None = None) -> list[Question]:
    """The item's questions (of a point), in id order."""
    query = sa.select(Question).where(Question.item_id == item.id)
    if point is not None:
        query = query.where(Question.knowledge_point == point)
    return list(db.session.execute(query.order_by(Question.id)).scalars())


def wrong_answer(question: Question) -> str:
    """A letter that is not the key."""
    if question.answer in {"T", "F"}:
        return "F" if question.answer == "T" else "T"
    return "B" if question.answer != "B" else "A"


def trainee_client(app: Flask, name: str = "陈练") -> tuple[FlaskClient, int]:
    """A logged-in trainee's client and the trainee's id."""
    with app.app_context():
        user = trainee(name=name)
        account, user_id = user.login_name, user.id
    client = app.test_client()
    assert login(client, account, PASSWORD).status_code == 302
    return client, user_id


def more_tabs(app: Flask, trainee_id: int, count: int) -> list[FlaskClient]:
    """More clients logged in as the same trainee (other tabs or devices)."""
    with app.app_context():
        account = db.session.get(User, trainee_id).login_name  # type: ignore[union-attr]
    tabs = []
    for _n in range(count):
        client = app.test_client()
        assert login(client, account, PASSWORD).status_code == 302
        tabs.append(client)
    return tabs


def at_once(work: Callable[..., None], jobs: list[tuple[Any, ...]]) -> None:
    """Run `work` once per job, each in its own thread, all released at the same moment."""
    barrier = threading.Barrier(len(jobs))

    def run(*args: Any) -> None:
        barrier.wait(timeout=60)
        work(*args)

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
