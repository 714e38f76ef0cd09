"""Working days: Monday to Friday, minus the holidays, plus the 调休 weekend days, as administrators keep them.

RESULT_HOLIDAYS (ISO dates) stays as a fallback list of extra holidays for deployments that set it; a day the
calendar lists as a working day is worked even when that list names it.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from opcert.audit.services import record_event
from opcert.calendar.models import CalendarDay, DayKind
from opcert.db import utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db

DEMO_FILE = Path(__file__).parent / "data" / "holidays-2026.toml"


class CalendarError(DomainError):
    """A calendar change that cannot be made as asked."""


def _overrides(after: dt.date) -> dict[dt.date, DayKind]:
    """Every listed day after `after` (the table is small: a few dozen rows a year)."""
    listed: dict[dt.date, DayKind] = {
        dt.date.fromisoformat(str(d)): DayKind.HOLIDAY for d in current_app.config["RESULT_HOLIDAYS"]
    }
    rows = db.session.execute(sa.select(CalendarDay.day, CalendarDay.kind).where(CalendarDay.day > after))
    listed.update({day: kind for day, kind in rows})
    return listed


def _working(day: dt.date, listed: dict[dt.date, DayKind]) -> bool:
    kind = listed.get(day)
    if kind is None:
        return day.weekday() < 5
    return kind is DayKind.WORKDAY


def is_working_day(day: dt.date) -> bool:
    """Whether `day` is a working day on the calendar."""
    return _working(day, _overrides(day - dt.timedelta(days=1)))


def add_working_days(day: dt.date, days: int) -> dt.date:
    """The day `days` working days after `day` (the day itself not counted)."""
    listed = _overrides(day)
    current, left = day, days
    while left > 0:
        current += dt.timedelta(days=1)
        if _working(current, listed):
            left -= 1
    return current


def days_of_year(year: int) -> list[CalendarDay]:
    """The listed days of one year, in order."""
    return list(
        db.session.execute(
            sa.select(CalendarDay)
            .where(CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31))
            .order_by(CalendarDay.day)
        ).scalars()
    )


def save_day(*, day: dt.date, kind: DayKind, name: str, actor_id: int | None) -> CalendarDay:
    """List a day as a holiday or a 调休 working day (replacing what it was); a worked day must be a weekend day."""
    name = name.strip()
    if kind is DayKind.WORKDAY and day.weekday() < 5:
        raise CalendarError.on_field(_("调休上班日应为周六或周日（周一至周五本来就是工作日）。"), "kind")
    if not name:
        raise CalendarError.on_field(_("请填写名称（如“国庆节”）。"), "name")
    row = db.session.execute(sa.select(CalendarDay).where(CalendarDay.day == day)).scalar()
    if row is None:
        row = CalendarDay(day=day)
        db.session.add(row)
    row.kind, row.name, row.updated_by, row.updated_at = kind, name[:40], actor_id, utcnow()
    db.session.flush()
    record_event(
        "calendar.day_saved",
        object_type="calendar_day",
        object_id=day.isoformat(),
        details={"kind": kind.value, "name": row.name},
        actor_id=actor_id,
    )
    return row


def remove_day(*, day_id: int, actor_id: int) -> CalendarDay:
    """Take a day off the list: it follows the week's rule again."""
    row = db.session.get(CalendarDay, day_id)
    if row is None:
        raise NotFoundError(_("日历中没有这一天。"))
    db.session.delete(row)
    db.session.flush()
    record_event(
        "calendar.day_removed",
        object_type="calendar_day",
        object_id=row.day.isoformat(),
        details={"kind": row.kind.value, "name": row.name},
        actor_id=actor_id,
    )
    return row


def _entries(data: dict[str, Any]) -> list[tuple[dt.date, DayKind, str]]:
    entries: list[tuple[dt.date, DayKind, str]] = []
    for span in data.get("holidays", []):
        day, last = span["from"], span["to"]
        if not isinstance(day, dt.date) or not isinstance(last, dt.date) or not 0 <= (last - day).days < 60:
            raise TypeError(span)
        while day <= last:
            entries.append((day, DayKind.HOLIDAY, str(span["name"])))
            day += dt.timedelta(days=1)
    for worked in data.get("workdays", []):
        if not isinstance(worked["day"], dt.date):
            raise TypeError(worked)
        entries.append((worked["day"], DayKind.WORKDAY, str(worked["name"])))
    return entries


def load_file(path: Path = DEMO_FILE, *, actor_id: int | None = None) -> int:
    """Load a year's holidays and 调休 days from a TOML file (idempotent); how many days it lists.

    The file has `holidays = [{from, to, name}]` and `workdays = [{day, name}]`; a malformed one is refused whole.
    """
    try:
        with path.open("rb") as fh:
            entries = _entries(tomllib.load(fh))
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError):
        raise CalendarError(
            _("节假日文件格式不正确：应为 holidays = [{from, to, name}] 和 workdays = [{day, name}]。")
        ) from None
    for day, kind, name in entries:
        existing = db.session.execute(sa.select(CalendarDay).where(CalendarDay.day == day)).scalar()
        if existing is None or existing.kind is not kind or existing.name != name:
            save_day(day=day, kind=kind, name=name, actor_id=actor_id)
    return len(entries)
