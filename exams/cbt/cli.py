"""`opcert exams verify-attempt` and `opcert exams submit-due`: the theory exam's seal and its time-end sweep."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from exams.cbt import services
from opcert.extensions import db


@click.command("verify-attempt")
@click.argument("attempt_id", type=int)
@with_appcontext
def verify_attempt_command(attempt_id: int) -> None:
    """Recompute an attempt's hash chain, grading and seal; exit 1 when anything was changed."""
    problems = services.verify_attempt(attempt_id)
    db.session.rollback()
    for problem in problems:
        click.echo(problem)
    if problems:
        raise SystemExit(1)
    click.echo(f"attempt {attempt_id}: intact")


@click.command("submit-due")
@with_appcontext
def submit_due_command() -> None:
    """Submit every attempt whose time is up (even with all the time it could still be credited)."""
    try:
        count = services.submit_due()
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(f"submitted {count} attempt(s)")
