"""The practical task bank as data: load tasks and rubrics from a TOML file (all or nothing)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from exams.practical.models import PracticalTask, RubricLine, Subject, TaskDraw
from opcert.audit.services import record_event
from opcert.catalogue.models import Item
from opcert.errors import DomainError
from opcert.extensions import db

DATA_FILE = Path(__file__).parent / "data" / "tasks.toml"


class TaskBankError(DomainError):
    """The task file is not valid; nothing was loaded."""


def _lines(where: str, raw: Any) -> list[RubricLine]:
    if not isinstance(raw, list) or not raw:
        raise TaskBankError(_("%(where)s：缺少评分细则（lines）。", where=where))
    lines: list[RubricLine] = []
    for position, entry in enumerate(raw, start=1):
        text = str(entry.get("text", "")).strip() if isinstance(entry, dict) else ""
        veto = isinstance(entry, dict) and entry.get("veto") is True
        points = entry.get("points") if isinstance(entry, dict) else None
        if not text or len(text) > 300:
            raise TaskBankError(_("%(where)s第%(n)d条：评分项内容须为1至300字。", where=where, n=position))
        if veto == (points is not None) or (not veto and not (isinstance(points, int) and 0 < points <= 100)):
            raise TaskBankError(
                _("%(where)s第%(n)d条：须为分值1至100的评分项，或 veto = true 的否决项。", where=where, n=position)
            )
        lines.append(RubricLine(position=position, text=text, max_points=int(points or 0), is_veto=veto))
    if not any(not line.is_veto for line in lines):
        raise TaskBankError(_("%(where)s：至少须有一条计分的评分项。", where=where))
    return lines


def load_tasks(path: Path = DATA_FILE) -> int:
    """Create or replace (by item and code) every task of the file; return how many; nothing on any error."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise TaskBankError(_("无法读取实操题库文件：%(error)s", error=str(exc))) from None
    return load_tasks_data(content, name=path.name)


def load_tasks_data(content: bytes, *, name: str) -> int:
    """Load a task file's bytes (UTF-8 TOML) as `load_tasks` does."""
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except (UnicodeError, tomllib.TOMLDecodeError) as exc:
        raise TaskBankError(_("无法读取实操题库文件：%(error)s", error=str(exc))) from None
    entries = data.get("task", [])
    if not isinstance(entries, list):
        raise TaskBankError(_("实操题库文件须由 [[task]] 组成。"))
    count = 0
    with db.session.begin_nested():
        for number, entry in enumerate(entries, start=1):
            where = _("第%(n)d个任务", n=number)
            code = str(entry.get("code", "")).strip()
            title = str(entry.get("title", "")).strip()
            item = db.session.execute(
                sa.select(Item).where(Item.code == str(entry.get("item", "")))
            ).scalar_one_or_none()
            if item is None:
                raise TaskBankError(_("%(where)s：操作项目不存在。", where=where))
            if entry.get("subject") not in {s.value for s in Subject}:
                raise TaskBankError(_("%(where)s：科目须为K1、K2、K3或K4。", where=where))
            if not code or len(code) > 20 or not title or len(title) > 200:
                raise TaskBankError(_("%(where)s：须有代码（至多20字）和题目（至多200字）。", where=where))
            lines = _lines(where, entry.get("lines"))
            task = db.session.execute(
                sa.select(PracticalTask).where(PracticalTask.item_id == item.id, PracticalTask.code == code)
            ).scalar_one_or_none()
            if task is None:
                task = PracticalTask(item_id=item.id, code=code)
                db.session.add(task)
            elif _in_use(task):
                continue  # a drawn task keeps the rubric its candidates were marked on
            task.subject = Subject(entry["subject"])
            task.title = title
            task.is_active = entry.get("active", True) is not False
            task.lines.clear()
            db.session.flush()
            task.lines.extend(lines)
            db.session.flush()
            count += 1
    record_event("practical.tasks_loaded", details={"file": name[:100], "count": count})
    return count


def _in_use(task: PracticalTask) -> bool:
    return db.session.execute(sa.select(TaskDraw.id).where(TaskDraw.task_id == task.id)).first() is not None


def list_tasks() -> list[PracticalTask]:
    """Every task of the bank, by item, subject and code."""
    query = (
        sa.select(PracticalTask)
        .join(Item)
        .order_by(Item.sort_key, Item.code, PracticalTask.subject, PracticalTask.code)
    )
    return list(db.session.execute(query).scalars())
