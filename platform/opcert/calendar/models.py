"""Calendar days that differ from the week's rule: public holidays, and weekend days that are worked (调休)."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column

from opcert.db import Base, UTCDateTime, str_enum, utcnow


class DayKind(enum.StrEnum):
    """What a listed day is."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"

    @property
    def label(self) -> LazyString:
        """The kind's name for people."""
        return DAY_KIND_LABELS[self]


DAY_KIND_LABELS = {DayKind.HOLIDAY: _l("法定节假日（休息）"), DayKind.WORKDAY: _l("调休上班日")}


class CalendarDay(Base):
    """One day whose working status is not Monday-to-Friday's: a holiday, or a worked weekend day."""

    __tablename__ = "calendar_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(sa.Date, unique=True)
    kind: Mapped[DayKind] = mapped_column(str_enum(DayKind, "calendar_day_kind", 10))
    name: Mapped[str] = mapped_column(sa.String(40), default="")
    updated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<CalendarDay {self.day} {self.kind.value}>"
