"""Advice a lower layer gives that a higher one can complete: after both exam parts are passed, exams would advise
"apply for the certificate", but only certificates knows whether the person already holds one or has applied.
Certificates registers what it knows here (dependencies point one way: exams asks the core, never certificates).
"""

from __future__ import annotations

from collections.abc import Callable

AfterQualifying = Callable[[int, int], str | None]
_AFTER_QUALIFYING: list[AfterQualifying] = []


def register_after_qualifying(advice: AfterQualifying) -> None:
    """Let `advice(person_id, item_id)` say what comes after passing both parts (None: it has nothing to say);
    registering twice changes nothing."""
    if advice not in _AFTER_QUALIFYING:
        _AFTER_QUALIFYING.append(advice)


def after_qualifying(person_id: int, item_id: int) -> str | None:
    """The first registered advice for a person who passed both parts of the item, else None."""
    for advice in _AFTER_QUALIFYING:
        text = advice(person_id, item_id)
        if text is not None:
            return text
    return None
