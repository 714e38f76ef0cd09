"""`opcert photos ...` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from opcert.errors import DomainError
from opcert.extensions import db
from photos.evaluate import evaluate_command
from photos.importer import import_command
from photos.reencode import reencode_command
from photos.server import serve_library_command

photos_cli = AppGroup("photos", help="照片库与人脸核验 / Photo library and face matching.")
photos_cli.add_command(evaluate_command)
photos_cli.add_command(import_command)
photos_cli.add_command(reencode_command)
photos_cli.add_command(serve_library_command)


@photos_cli.command("purge")
def purge_command() -> None:
    """Delete check-in captures and face decisions past their retention, then orphaned files."""
    from photos.services import purge_expired, remove_orphan_files

    counts = purge_expired()
    db.session.commit()
    files = remove_orphan_files()
    click.echo(f"deleted {counts['captures']} captures, {counts['decisions']} decisions, {files} orphaned files")


@photos_cli.command("forget")
@click.argument("id_number")
def forget_command(id_number: str) -> None:
    """Delete one person's photos and face templates (a deletion request)."""
    from photos.services import forget_subject, remove_orphan_files

    try:
        count = forget_subject(id_number)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    remove_orphan_files()
    click.echo(f"deleted {count} photos")
