"""What certificates take from the exams domain: the one adapter over exam results.

`exams.results.services.qualification(user_id, item_id, on)` decides; every call to it goes
through `passed_exams` so that nothing else in certificates depends on its shape.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from exams.results.services import pass_counts, qualification
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
    """The person's passed and still valid theory and practical exams for the item on `on`, else None. Only
    published results count: a result not yet told to the candidate (it may still be corrected before publication)
    gives no right to apply, and an application is not approved on one."""
    found = qualification(user_id, item_id, on, published_only=True)
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


def working_days_between(start: dt.date, end: dt.date) -> int:
    """How many working days after `start` `end` is (0 on the same day or before the next working day), on the
    same calendar as `working_days_after`: working_days_between(d, working_days_after(d, n)) == n."""
    count, day = 0, start
    while (following := working_days_after(day, 1)) <= end:
        count, day = count + 1, following
    return count


@dataclasses.dataclass(frozen=True)
class ExamTally:
    """Decided exam results of one part of one item at one centre, for the statistics."""

    item_code: str
    item_name: str
    centre_id: int
    centre_name: str
    part: str  # "theory" or "practical"
    taken: int
    passed: int


def exam_tallies(*, start: dt.date, end: dt.date) -> list[ExamTally]:
    """Decided exam results with exam dates from `start` to `end`, by item, centre and part."""
    return [
        ExamTally(row.item_code, row.item_name, row.centre_id, row.centre_name, row.part.value, row.taken, row.passed)
        for row in pass_counts(start=start, end=end)
    ]
