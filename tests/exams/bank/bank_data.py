"""Question bank test data: the catalogue, questions added through the service, CSV and XLSX files."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import sqlalchemy as sa

from exams.bank import services
from exams.bank.models import Question
from opcert.access import Role
from opcert.catalogue.models import Item
from opcert.catalogue.services import load_catalogue
from opcert.extensions import db

# Test setup changes questions as an administrator, whom every question admits (decision 0002).
AUTHORITY = services.Caller(role=Role.ADMIN, organisation_id=None)
HEADER = ["题型", "题干", "A", "B", "C", "D", "E", "F", "答案", "知识点", "难度", "解析", "状态"]


def catalogue_item(code: str = "1.2") -> Item:
    """Load the catalogue (committed) and return one item."""
    if db.session.execute(sa.select(Item).where(Item.code == code)).scalar_one_or_none() is None:
        load_catalogue()
        db.session.commit()
    return db.session.execute(sa.select(Item).where(Item.code == code)).scalar_one()


def tf_row(stem: str, answer: str = "对", point: str = "", status: str = "启用") -> list[str]:
    """A true/false row in the file format."""
    return ["判断题", stem, "", "", "", "", "", "", answer, point, "", "", status]


def single_row(stem: str, options: Sequence[str] = ("甲", "乙", "丙", "丁"), answer: str = "A", **kw: str) -> list[str]:
    """A single-choice row in the file format."""
    padded = [*options, *[""] * (6 - len(options))]
    return [
        "单选题",
        stem,
        *padded,
        answer,
        kw.get("point", ""),
        kw.get("difficulty", ""),
        "",
        kw.get("status", "启用"),
    ]


def multiple_row(stem: str, options: Sequence[str] = ("甲", "乙", "丙", "丁"), answer: str = "AC") -> list[str]:
    """A multiple-choice row in the file format."""
    padded = [*options, *[""] * (6 - len(options))]
    return ["多选题", stem, *padded, answer, "", "", "", "启用"]


def csv_bytes(rows: Sequence[Sequence[Any]], *, header: Sequence[str] = HEADER, encoding: str = "utf-8-sig") -> bytes:
    """A CSV file with the header and rows."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Any]], *, header: Sequence[str] = HEADER, path: Path | None = None) -> bytes:
    """An XLSX workbook (written with openpyxl, optionally to `path`) with the header and rows."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    if path is not None:
        workbook.save(path)
        return path.read_bytes()
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def fill_bank(
    item: Item,
    *,
    true_false: int = 0,
    single: int = 0,
    multiple: int = 0,
    status: str = "启用",
    prefix: str = "",
    organisation_id: int | None = None,
) -> None:
    """Import `n` distinct questions of each kind into the item's bank (committed), owned by `organisation_id`."""
    rows = [tf_row(f"{prefix}判断题{status}{n}", "对" if n % 2 else "错", status=status) for n in range(true_false)]
    rows += [
        single_row(f"{prefix}单选题{status}{n}", (f"甲{n}", f"乙{n}", f"丙{n}", f"丁{n}"), "ABCD"[n % 4], status=status)
        for n in range(single)
    ]
    rows += [
        multiple_row(f"{prefix}多选题{status}{n}", (f"甲{n}", f"乙{n}", f"丙{n}", f"丁{n}")) for n in range(multiple)
    ]
    services.import_questions(
        item_id=item.id, filename="bank.csv", data=csv_bytes(rows), organisation_id=organisation_id
    )
    db.session.commit()


def question_count(item: Item | None = None) -> int:
    """Questions in the bank (of one item)."""
    query = sa.select(sa.func.count(Question.id))
    if item is not None:
        query = query.where(Question.item_id == item.id)
    return int(db.session.execute(query).scalar_one())
