"""`opcert catalogue ...` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from opcert.catalogue.services import DATA_FILE, load_catalogue
from opcert.errors import DomainError
from opcert.extensions import db

catalogue_cli = AppGroup("catalogue", help="特种作业目录 / Operation catalogue.")


@catalogue_cli.command("load")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=DATA_FILE)
@click.option("--overwrite", is_flag=True, help="reset existing items to the file's values")
def load_command(path: Path, overwrite: bool) -> None:
    """Load categories and items from the data file (idempotent; keeps administrators' edits)."""
    try:
        report = load_catalogue(path, overwrite=overwrite)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(
        f"categories created {report.categories_created}; items created {report.items_created}, "
        f"updated {report.items_updated}, unchanged {report.items_unchanged}"
    )
