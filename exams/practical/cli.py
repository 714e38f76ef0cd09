"""`opcert exams load-tasks`: the practical task bank from its data file."""

from __future__ import annotations

from pathlib import Path

import click

from exams.practical.bank import DATA_FILE, load_tasks
from opcert.errors import DomainError
from opcert.extensions import db


@click.command("load-tasks")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=DATA_FILE)
def load_tasks_command(path: Path) -> None:
    """Load practical tasks and rubrics (by item and code; drawn tasks are kept as they were)."""
    try:
        count = load_tasks(path)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"loaded {count} task(s)")
