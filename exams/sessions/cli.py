"""`opcert exams remind`: day-before reminders to candidates with a seat."""

from __future__ import annotations

import click

from exams.sessions import planning
from opcert.extensions import db


@click.command("remind")
def remind_command() -> None:
    """Send reminders for sessions starting within EXAM_REMINDER_HOURS (each session once)."""
    try:
        told = planning.send_reminders()
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(f"reminded {told} candidate(s)")
