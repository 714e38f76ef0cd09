"""Catalogue rules: loading the data file, validating and saving categories and items."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from opcert.audit.services import record_event
from opcert.catalogue.models import ITEM_SETTINGS, Category, Education, Item
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db

DATA_FILE = Path(__file__).with_name("data") / "catalogue.toml"
CODE_RE = re.compile(r"^\d{1,3}(\.\d{1,3})?$")
INT_LIMITS = {
    "theory_hours": (0, 1000),
    "practical_hours": (0, 1000),
    "review_hours": (0, 200),
    "theory_true_false": (0, 500),
    "theory_single": (0, 500),
    "theory_multiple": (0, 500),
    "theory_minutes": (10, 600),
    "theory_pass": (1, 100),
    "practical_minutes": (10, 600),
    "practical_pass": (1, 100),
    "weight_k1": (0, 100),
    "weight_k2": (0, 100),
    "weight_k3": (0, 100),
    "weight_k4": (0, 100),
}


@dataclasses.dataclass
class LoadReport:
    """What `load_catalogue` did."""

    categories_created: int = 0
    items_created: int = 0
    items_updated: int = 0
    items_unchanged: int = 0


def check_item_settings(values: Mapping[str, Any]) -> dict[str, str]:
    """Field -> message for every setting that breaks a rule (empty when all are fine)."""
    errors: dict[str, str] = {}
    for key, (low, high) in INT_LIMITS.items():
        value = values.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            errors[key] = _("请填写整数。")
        elif not low <= value <= high:
            errors[key] = _("应在%(low)d至%(high)d之间。", low=low, high=high)
    if values.get("education") not in {e.value for e in Education}:
        errors["education"] = _("学历要求只能是初中或高中。")
    if not isinstance(values.get("offered"), bool):
        errors["offered"] = _("请说明是否开考。")
    if errors:
        return errors
    if values["theory_true_false"] + values["theory_single"] + values["theory_multiple"] == 0:
        errors["theory_single"] = _("理论试卷至少需要一道题。")
    if sum(values[f"weight_k{n}"] for n in range(1, 5)) != 100:
        errors["weight_k4"] = _("K1至K4的权重之和必须为100。")
    return errors


def _check_names(code: str, name: str, name_en: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not CODE_RE.match(code):
        errors["code"] = _("代码格式应为数字或“类别.序号”，例如 1 或 1.2。")
    if not name.strip():
        errors["name"] = _("请填写名称。")
    elif len(name.strip()) > 60:
        errors["name"] = _("名称不能超过%(n)d个字符。", n=60)
    if len(name_en.strip()) > 120:
        errors["name_en"] = _("英文名称不能超过%(n)d个字符。", n=120)
    return errors


def read_catalogue_file(path: Path) -> list[dict[str, Any]]:
    """Parse and fully validate the data file; raise DomainError listing every problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DomainError(_("目录数据文件无法读取：%(err)s", err=str(exc))) from None
    defaults = data.get("defaults", {})
    problems: list[str] = []
    seen: set[str] = set()
    categories: list[dict[str, Any]] = []
    for c_index, cat in enumerate(data.get("categories", []), start=1):
        code, name = str(cat.get("code", "")), str(cat.get("name", ""))
        for field, message in _check_names(code, name, str(cat.get("name_en", ""))).items():
            problems.append(f"categories[{c_index}].{field}: {message}")
        if code in seen:
            problems.append(f"categories[{c_index}].code: " + _("代码%(code)s重复。", code=code))
        seen.add(code)
        items = []
        for i_index, raw in enumerate(cat.get("items", []), start=1):
            where = f"{code}/items[{i_index}]"
            unknown = set(raw) - {"code", "name", "name_en", *ITEM_SETTINGS}
            if unknown:
                problems.append(f"{where}: " + _("未知字段：%(keys)s", keys=", ".join(sorted(unknown))))
            values = {"offered": False, **{k: v for k, v in defaults.items() if k in ITEM_SETTINGS}, **raw}
            i_code = str(values.get("code", ""))
            checks = _check_names(i_code, str(values.get("name", "")), str(values.get("name_en", "")))
            checks.update(check_item_settings(values))
            if not i_code.startswith(code + "."):
                checks["code"] = _("项目代码应以所属类别代码开头。")
            if i_code in seen:
                checks["code"] = _("代码%(code)s重复。", code=i_code)
            seen.add(i_code)
            problems.extend(f"{where}.{field}: {message}" for field, message in checks.items())
            items.append(values)
        categories.append({**cat, "items": items})
    if problems:
        raise DomainError(_("目录数据文件有误，未导入任何内容：") + "; ".join(problems))
    return categories


def load_catalogue(path: Path | None = None, *, overwrite: bool = False) -> LoadReport:
    """Create missing categories and items from the data file; with overwrite, reset existing items to it."""
    report = LoadReport()
    categories = read_catalogue_file(path or DATA_FILE)
    existing_items = {i.code: i for i in db.session.execute(sa.select(Item)).scalars()}
    existing_cats = {c.code: c for c in db.session.execute(sa.select(Category)).scalars()}
    for c_sort, cat in enumerate(categories):
        category = existing_cats.get(cat["code"])
        if category is None:
            category = Category(code=cat["code"], name=cat["name"], name_en=cat.get("name_en", ""), sort_key=c_sort)
            db.session.add(category)
            report.categories_created += 1
        elif overwrite:
            category.name, category.name_en, category.sort_key = cat["name"], cat.get("name_en", ""), c_sort
        for i_sort, values in enumerate(cat["items"]):
            item = existing_items.get(values["code"])
            fields = {k: values[k] for k in ITEM_SETTINGS}
            fields["education"] = Education(fields["education"])
            if item is None:
                db.session.add(
                    Item(
                        category=category,
                        code=values["code"],
                        name=values["name"],
                        name_en=values.get("name_en", ""),
                        sort_key=i_sort,
                        **fields,
                    )
                )
                report.items_created += 1
            elif overwrite:
                item.category, item.name, item.name_en, item.sort_key = (
                    category,
                    values["name"],
                    values.get("name_en", ""),
                    i_sort,
                )
                for key, value in fields.items():
                    setattr(item, key, value)
                report.items_updated += 1
            else:
                report.items_unchanged += 1
    db.session.flush()
    if report.categories_created or report.items_created or report.items_updated:
        record_event("catalogue.loaded", object_type="catalogue", details=dataclasses.asdict(report))
    return report


def list_categories(*, offered_only: bool = False) -> list[Category]:
    """Categories with their items, in catalogue order; optionally only those with offered items."""
    rows = db.session.execute(
        sa.select(Category).options(selectinload(Category.items)).order_by(Category.sort_key, Category.code)
    ).scalars()
    categories = list(rows)
    if offered_only:
        categories = [c for c in categories if any(i.offered for i in c.items)]
    return categories


def code_sort_key(code: str) -> tuple[tuple[int, int, str], ...]:
    """A dotted code read as numbers, so that 1.2 sorts before 1.10; a part that is not a number sorts after."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in code.split("."))


def offered_items() -> list[Item]:
    """Items this deployment examines, ordered by code read as numbers (1.2 before 1.10)."""
    query = sa.select(Item).where(Item.offered.is_(True))
    return sorted(db.session.execute(query).scalars(), key=lambda item: code_sort_key(item.code))


def item_offered_problem(item: Item) -> str | None:
    """Why `item` cannot be trained for or examined here (not offered), else None."""
    if not item.offered:
        return str(_("本平台目前不开考“%(item)s”。", item=item.name))
    return None


def get_item(item_id: int) -> Item:
    """An item by id, or NotFoundError."""
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFoundError(_("操作项目不存在。"))
    return item


def get_item_by_code(code: str) -> Item:
    """An item by its code (e.g. 1.2), or NotFoundError."""
    item = db.session.execute(sa.select(Item).where(Item.code == code.strip())).scalar_one_or_none()
    if item is None:
        raise NotFoundError(_("操作项目“%(code)s”不存在。", code=code))
    return item


def get_category(category_id: int) -> Category:
    """A category by id, or NotFoundError."""
    category = db.session.get(Category, category_id)
    if category is None:
        raise NotFoundError(_("作业类别不存在。"))
    return category


def _code_taken(model: type[Category] | type[Item], code: str, own_id: int | None) -> bool:
    query = sa.select(model.id).where(model.code == code)
    if own_id is not None:
        query = query.where(model.id != own_id)
    return db.session.execute(query).first() is not None


def save_category(*, category: Category | None, code: str, name: str, name_en: str) -> Category:
    """Create or rename a category."""
    code, name, name_en = code.strip(), name.strip(), name_en.strip()
    errors = _check_names(code, name, name_en)
    if "." in code:
        errors["code"] = _("类别代码应为整数，例如 11。")
    if not errors and _code_taken(Category, code, category.id if category else None):
        errors["code"] = _("代码%(code)s已存在。", code=code)
    if errors:
        raise DomainError(_("请更正标出的内容。"), errors)
    if category is None:
        sort_key = db.session.execute(sa.select(sa.func.coalesce(sa.func.max(Category.sort_key), -1))).scalar_one() + 1
        category = Category(code=code, name=name, name_en=name_en, sort_key=sort_key)
        db.session.add(category)
    else:
        category.code, category.name, category.name_en = code, name, name_en
    db.session.flush()
    record_event(
        "catalogue.category_saved", object_type="category", object_id=category.id, details={"code": code, "name": name}
    )
    return category


def save_item(
    *, item: Item | None, category_id: int, code: str, name: str, name_en: str, settings: Mapping[str, Any]
) -> Item:
    """Create or edit an item; every rule is checked before anything is written."""
    code, name, name_en = code.strip(), name.strip(), name_en.strip()
    category = db.session.get(Category, category_id)
    errors = _check_names(code, name, name_en)
    errors.update(check_item_settings(settings))
    if category is None:
        errors["category_id"] = _("请选择作业类别。")
    elif "code" not in errors and not code.startswith(category.code + "."):
        errors["code"] = _("项目代码应以所属类别代码开头，例如 %(code)s.1。", code=category.code)
    if "code" not in errors and _code_taken(Item, code, item.id if item else None):
        errors["code"] = _("代码%(code)s已存在。", code=code)
    if errors or category is None:
        raise DomainError(_("请更正标出的内容。"), errors)
    fields = {k: settings[k] for k in ITEM_SETTINGS}
    fields["education"] = Education(fields["education"])
    if item is None:
        sort_key = len(category.items)
        item = Item(category=category, code=code, name=name, name_en=name_en, sort_key=sort_key, **fields)
        db.session.add(item)
        changed: dict[str, Any] = {"created": code}
    else:
        changed = {k: [str(getattr(item, k)), str(v)] for k, v in fields.items() if getattr(item, k) != v}
        item.category, item.code, item.name, item.name_en = category, code, name, name_en
        for key, value in fields.items():
            setattr(item, key, value)
    db.session.flush()
    record_event(
        "catalogue.item_saved", object_type="item", object_id=item.id, details={"code": code, "changed": changed}
    )
    return item
