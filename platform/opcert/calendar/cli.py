"""`opcert calendar ...` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from opcert.calendar.services import DEMO_FILE, load_file
from opcert.errors import DomainError
from opcert.extensions import db

calendar_cli = AppGroup("calendar", help="节假日与调休 / Holiday calendar.")


@calendar_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=DEMO_FILE)
def load_command(path: Path) -> None:
    """Load holidays and 调休 working days from a TOML file (all or nothing; a rerun changes nothing)."""
    try:
        days = load_file(path)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"calendar: {days} days listed in {path.name}")
