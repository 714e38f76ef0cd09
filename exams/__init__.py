"""Exams: question bank and papers, exam centres' rooms and sessions, booking, admission tickets.

Sub-packages by feature: `bank` (questions, blueprints, papers), `sessions` (rooms, sessions, eligibility, booking,
waitlist, notices, admission tickets), `practice` (by knowledge point, wrong-answer book, mock exams). May call
`photos` (and later `opcert.training`); never `certificates`.
"""

from __future__ import annotations

from flask import Blueprint


def blueprints() -> list[Blueprint]:
    """Every exams blueprint, for create_app()."""
    found: list[Blueprint] = []
    from exams.bank import bp as bank_bp

    found.append(bank_bp)
    from exams.sessions import bp as sessions_bp

    found.append(sessions_bp)
    from exams.practice import bp as practice_bp

    found.append(practice_bp)

    from exams.practical import bp as practical_bp

    found.append(practical_bp)
    from exams.results import bp as results_bp

    found.append(results_bp)

    from exams.checkin import bp as checkin_bp

    found.append(checkin_bp)
    from exams.cbt import bp as cbt_bp

    found.append(cbt_bp)
    return found
