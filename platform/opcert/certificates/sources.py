"""What certificates take from the exams domain: the one adapter over exam results.

`exams.results.services.qualification(user_id, item_id, on)` decides; every call to it goes
through `passed_exams` so that nothing else in certificates depends on its shape.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from exams.results.services import qualification
from opcert.calendar import services as calendar


@dataclasses.dataclass(frozen=True)
class ExamRecord:
    """Both passed exam parts of an item, as printed on and stored with the certificate."""

    theory_score: float
    theory_date: dt.date
    practical_score: float
    practical_date: dt.date
    theory_session_id: int | None
    practical_session_id: int | None


def passed_exams(*, user_id: int, item_id: int, on: dt.date) -> ExamRecord | None:
    """The person's passed and still valid theory and practical exams for the item on `on`, else None."""
    found = qualification(user_id, item_id, on)
    if found is None:
        return None
    return ExamRecord(
        theory_score=float(found.theory_score),
        theory_date=found.theory_date,
        practical_score=float(found.practical_score),
        practical_date=found.practical_date,
        theory_session_id=found.theory_session_id,
        practical_session_id=found.practical_session_id,
    )


def working_days_after(day: dt.date, days: int) -> dt.date:
    """`days` working days after `day`, on the holiday calendar administrators keep (opcert.calendar)."""
    return calendar.add_working_days(day, days)
