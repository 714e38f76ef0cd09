"""Local time: the deployment's one time zone (setting TIMEZONE, default Asia/Shanghai).

Everything is stored in aware UTC (opcert.db.UTCDateTime); times are shown, typed in and counted in days
(an exam day, an upload date, an age) in this zone. Flask-Babel (BABEL_DEFAULT_TIMEZONE, set from TIMEZONE)
formats in it, for `show_datetime`/`show_date` and the Jinja filters `datetime`/`date` built on them.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_date, format_datetime

from opcert.db import utcnow


def local_tz() -> ZoneInfo:
    """The deployment's time zone."""
    return ZoneInfo(str(current_app.config["TIMEZONE"]))


def local(moment: dt.datetime) -> dt.datetime:
    """An aware datetime as the wall time of the deployment's zone."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are refused: pass an aware datetime")
    return moment.astimezone(local_tz())


def local_today() -> dt.date:
    """Today's date in the deployment's zone."""
    return local(utcnow()).date()


def from_local(wall_time: dt.datetime) -> dt.datetime:
    """A naive wall time typed in the deployment's zone (a form's datetime-local field) as aware UTC."""
    return wall_time.replace(tzinfo=local_tz()).astimezone(dt.UTC)


def to_local(moment: dt.datetime) -> dt.datetime:
    """An aware datetime as the naive wall time of the deployment's zone (to fill a datetime-local field)."""
    return local(moment).replace(tzinfo=None)


def show_datetime(moment: dt.datetime) -> str:
    """A moment as people read it: in their language, medium length, in the deployment's zone."""
    return str(format_datetime(moment, "medium"))


def show_date(value: dt.date | dt.datetime) -> str:
    """A date (or a moment's date in the deployment's zone) as people read it, in their language."""
    return str(format_date(value, "long"))
