"""`opcert exams publish-results` (results due by today) and `opcert exams verify-results FILE` (signed PDFs)."""

from __future__ import annotations

from pathlib import Path

import click

from exams.results.export import verify_results_pdf
from exams.results.services import publish_results
from opcert.documents import DocumentSignatureError
from opcert.extensions import db
from opcert.timeutil import local_today


@click.command("publish-results")
def publish_results_command() -> None:
    """Publish every unpublished result whose deadline (RESULT_PUBLISH_WORKING_DAYS) is today or past (run daily)."""
    try:
        rows = publish_results(due_by=local_today())
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(f"published {len(rows)} result(s)")


@click.command("verify-results")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_results_command(path: Path) -> None:
    """Check that a results PDF was signed by this platform and not changed since."""
    try:
        verify_results_pdf(path.read_bytes())
    except DocumentSignatureError as exc:
        raise click.ClickException(f"signature invalid: {exc}") from None
    click.echo("signature valid")
