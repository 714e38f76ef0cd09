"""The operation catalogue: loading the data file, the public list, and the administrators' editor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from opcert.access import Role
from opcert.audit.models import AuditEvent
from opcert.catalogue.models import ITEM_SETTINGS, Category, Education, Item
from opcert.extensions import db
from tests.fixtures.web import logged_in_client, submit, text

OFFERED = [
    *(f"1.{n}" for n in range(1, 7)),
    "2.1",
    "3.1",
    "3.2",
    "4.1",
    "4.2",
    "8.1",
    *(f"9.{n}" for n in range(1, 17)),
]


def load(runner: Any, *args: str) -> Any:
    """Run `opcert catalogue load` and insist that it succeeded."""
    result = runner.invoke(args=["catalogue", "load", *args])
    assert result.exit_code == 0, result.output
    return result


def counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        categories = db.session.execute(sa.select(sa.func.count(Category.id))).scalar_one()
        items = db.session.execute(sa.select(sa.func.count(Item.id))).scalar_one()
    return categories, items


def item_values(app: Flask, code: str) -> dict[str, Any]:
    """An item's stored columns, read in a fresh session."""
    with app.app_context():
        item = db.session.execute(sa.select(Item).where(Item.code == code)).scalar_one()
        return {c.key: getattr(item, c.key) for c in Item.__table__.columns}


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())


def item_form(values: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The item form as the edit page fills it from `values`, with some fields changed."""
    data: dict[str, Any] = {
        "category_id": values["category_id"],
        "code": values["code"],
        "name": values["name"],
        "name_en": values["name_en"],
        "education": Education(values["education"]).value,
        **{k: values[k] for k in ITEM_SETTINGS if k not in ("offered", "education")},
    }
    if values["offered"]:
        data["offered"] = "y"
    data.update(changes)
    if data.get("offered") is False:
        del data["offered"]
    return data


def edit_item(client: FlaskClient, values: dict[str, Any], **changes: Any) -> Any:
    url = f"/admin/catalogue/items/{values['id']}/edit"
    return submit(client, url, item_form(values, **changes), page=url)


# --- loading the data file -----------------------------------------------------------------------


def test_load_creates_the_national_catalogue(app, runner) -> None:
    result = load(runner)
    assert "categories created 11; items created 55" in result.output
    assert counts(app) == (11, 55)
    with app.app_context():
        offered = db.session.execute(sa.select(Item.code).where(Item.offered.is_(True))).scalars()
        assert sorted(offered, key=lambda c: tuple(map(int, c.split(".")))) == OFFERED
    assert len(OFFERED) == 28
    assert audit_actions(app) == ["catalogue.loaded"]


def test_loading_again_creates_nothing(app, runner) -> None:
    load(runner)
    result = load(runner)
    assert "categories created 0; items created 0, updated 0, unchanged 55" in result.output
    assert counts(app) == (11, 55)
    assert audit_actions(app) == ["catalogue.loaded"]


def test_hazardous_chemicals_items_need_senior_education(app, runner) -> None:
    load(runner)
    with app.app_context():
        rows = db.session.execute(sa.select(Category.code, Item.code, Item.education).join(Item.category)).all()
    assert len([r for r in rows if r[0] == "9"]) == 16
    for category, code, education in rows:
        assert education == (Education.SENIOR if category == "9" else Education.JUNIOR), code


def test_administrators_edit_survives_a_reload_and_overwrite_resets_it(app, runner) -> None:
    load(runner)
    client = logged_in_client(app, Role.ADMIN)
    before = item_values(app, "1.2")
    assert edit_item(client, before, theory_hours=56, offered=False).status_code == 302

    load(runner)
    kept = item_values(app, "1.2")
    assert (kept["theory_hours"], kept["offered"]) == (56, False)

    result = load(runner, "--overwrite")
    assert "updated 55" in result.output
    reset = item_values(app, "1.2")
    assert (reset["theory_hours"], reset["offered"]) == (before["theory_hours"], True)


BROKEN_FILE = """
[defaults]
theory_hours = 40
practical_hours = 32
review_hours = 8
education = "junior"
theory_true_false = 70
theory_single = 30
theory_multiple = 0
theory_minutes = 120
theory_pass = 80
practical_minutes = 60
practical_pass = 80
weight_k1 = 20
weight_k2 = 40
weight_k3 = 20
weight_k4 = 20

[[categories]]
code = "1"
name = "电工作业"

  [[categories.items]]
  code = "1.1"
  name = "高压电工作业"

  [[categories.items]]
  code = "1.1"
  name = "低压电工作业"

  [[categories.items]]
  code = "1.3"
  name = "防爆电气作业"
  weight_k4 = 10

  [[categories.items]]
  code = "1.4"
  name = "电力电缆作业"
  colour = "red"
"""


def test_broken_data_file_is_refused_with_every_problem_and_nothing_written(app, runner, tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN_FILE, encoding="utf-8")
    result = runner.invoke(args=["catalogue", "load", "--file", str(path)])
    assert result.exit_code == 1
    assert "未导入任何内容" in result.output
    assert "1/items[2].code: 代码1.1重复" in result.output
    assert "1/items[3].weight_k4: K1至K4的权重之和必须为100" in result.output
    assert "1/items[4]: 未知字段：colour" in result.output
    assert counts(app) == (0, 0)
    assert audit_actions(app) == []


# --- the public list -----------------------------------------------------------------------------


def test_public_page_lists_offered_items_in_chinese(app, runner, client) -> None:
    load(runner)
    page = text(client.get("/catalogue"))
    assert '<html lang="zh-CN">' in page
    assert "本地开考的特种作业操作项目" in page
    assert "低压电工作业" in page
    assert "光气及光气化工艺作业" in page
    assert "高中（含中专）及以上" in page
    assert "100题，120分钟，80分合格" in page
    assert "煤矿井下电气作业" not in page
    assert "煤矿安全作业" not in page  # a category with nothing offered is not shown at all


def test_public_page_before_loading_says_nothing_is_offered(client) -> None:
    assert "暂未开放任何操作项目" in text(client.get("/catalogue"))


# --- the administrators' editor ------------------------------------------------------------------


def test_admin_edits_hours_and_offering_through_the_form(app, runner) -> None:
    load(runner)
    client = logged_in_client(app, Role.ADMIN)
    low_voltage = item_values(app, "1.2")
    response = edit_item(client, low_voltage, theory_hours=56)
    assert response.status_code == 302
    assert "操作项目已保存" in text(client.get(response.headers["Location"]))
    assert "56 + 40" in text(client.get("/catalogue"))

    coal = item_values(app, "5.1")
    assert edit_item(client, coal, offered="y").status_code == 302
    assert edit_item(client, low_voltage, theory_hours=56, offered=False).status_code == 302
    page = text(client.get("/catalogue"))
    assert "煤矿井下电气作业" in page
    assert "低压电工作业" not in page

    with app.app_context():
        saved = db.session.execute(
            sa.select(AuditEvent).where(AuditEvent.action == "catalogue.item_saved").order_by(AuditEvent.seq)
        ).scalars()
        rows = [(e.object_id, e.actor_label, e.details) for e in saved]
    assert len(rows) == 3
    assert rows[0][0] == str(low_voltage["id"])
    assert rows[0][1].startswith("admin")
    assert '"theory_hours":["40","56"]' in rows[0][2]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weight_k4": 10}, "K1至K4的权重之和必须为100"),
        ({"theory_hours": -1}, "应在0至1000之间"),
        ({"name": "作" * 61}, "字段长度不能超过 60 个字符"),
        ({"code": "2.9"}, "项目代码应以所属类别代码开头"),
        ({"code": "1.1"}, "代码1.1已存在"),
        ({"code": "1-2"}, "代码格式应为数字"),
        ({"practical_pass": "八十"}, "不是有效的整数"),
    ],
)
def test_bad_item_input_gets_a_chinese_message_and_changes_nothing(app, runner, changes, message) -> None:
    load(runner)
    client = logged_in_client(app, Role.ADMIN)
    before = item_values(app, "1.2")
    response = edit_item(client, before, **{"review_hours": 9, **changes})
    assert response.status_code == 200
    assert message in text(response)
    assert item_values(app, "1.2") == before
    assert "catalogue.item_saved" not in audit_actions(app)


def test_admin_creates_a_category_and_an_item_in_it(app, runner) -> None:
    load(runner)
    client = logged_in_client(app, Role.ADMIN)
    response = submit(
        client,
        "/admin/catalogue/categories/new",
        {"code": "12", "name": "地方特种作业", "name_en": "Local operations"},
        page="/admin/catalogue/categories/new",
    )
    assert response.status_code == 302
    assert "12 地方特种作业" in text(client.get("/admin/catalogue"))
    with app.app_context():
        category_id = db.session.execute(sa.select(Category.id).where(Category.code == "12")).scalar_one()

    template = item_values(app, "1.2")
    data = item_form(template, category_id=category_id, code="12.1", name="有限空间监护作业", name_en="", offered="y")
    response = submit(client, "/admin/catalogue/items/new", data, page="/admin/catalogue/items/new")
    assert response.status_code == 302
    page = text(client.get("/catalogue"))
    assert "地方特种作业" in page
    assert "有限空间监护作业" in page
    assert counts(app) == (12, 56)
    actions = audit_actions(app)
    assert "catalogue.category_saved" in actions
    assert actions[-1] == "catalogue.item_saved"


def test_duplicate_category_code_is_refused(app, runner) -> None:
    load(runner)
    client = logged_in_client(app, Role.ADMIN)
    page = "/admin/catalogue/categories/new"
    response = submit(client, page, {"code": "9", "name": "重复类别", "name_en": ""}, page=page)
    assert response.status_code == 200
    assert "代码9已存在" in text(response)
    assert counts(app) == (11, 55)
