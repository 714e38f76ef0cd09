"""`opcert exams import-questions / export-questions`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from opcert.catalogue.services import get_item_by_code
from opcert.errors import DomainError
from opcert.extensions import db


@click.command("import-questions")
@with_appcontext
@click.argument("item_code")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--organisation",
    "organisation_id",
    type=int,
    default=None,
    help="Id of the provider organisation that owns the new questions (default: the authority).",
)
def import_questions_command(item_code: str, path: Path, organisation_id: int | None) -> None:
    """Import a CSV or XLSX file of questions into an item's bank: all of them, or none and every error.

    The questions are the authority's unless --organisation names the provider that owns them.
    """
    from exams.bank import services

    try:
        item = get_item_by_code(item_code)
        with path.open("rb") as fh:
            # One byte past the limit is enough for the import to refuse the file; a huge file is never read whole.
            data = fh.read(current_app.config["QUESTION_IMPORT_MAX_BYTES"] + 1)
        added = services.import_questions(
            item_id=item.id, filename=path.name, data=data, organisation_id=organisation_id
        )
    except services.QuestionImportError as exc:
        db.session.rollback()
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(exc.message) from None
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"imported {len(added)} questions into {item.code} {item.name}")


@click.command("export-questions")
@with_appcontext
@click.argument("item_code")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_questions_command(item_code: str, path: Path) -> None:
    """Export an item's questions to PATH (.csv or .xlsx, by its suffix) in the import format."""
    from exams.bank import services

    file_format = path.suffix.lower().lstrip(".")
    try:
        item = get_item_by_code(item_code)
        _name, data = services.export_questions(item_id=item.id, file_format=file_format)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    path.write_bytes(data)
    click.echo(f"exported {item.code} to {path}")
