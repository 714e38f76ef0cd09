"""`opcert exams publish-results` (results due by today) and `opcert exams verify-results FILE` (signed PDFs)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from exams.results.export import verify_results_pdf
from exams.results.services import publish_results, record_retraining
from opcert.accounts.services import find_user_by_login
from opcert.catalogue.services import get_item_by_code
from opcert.documents import DocumentSignatureError
from opcert.errors import DomainError
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


@click.command("record-retraining")
@click.argument("id_number")
@click.argument("item_code")
@click.option("--on", "completed_on", type=click.DateTime(formats=["%Y-%m-%d"]), help="completion date (default today)")
@click.option("--note", default="", help="e.g. the training provider and course")
def record_retraining_command(id_number: str, item_code: str, completed_on: dt.datetime | None, note: str) -> None:
    """Record that a trainee whose makeup failed has retrained in an item: their next attempts start anew."""
    user = find_user_by_login(id_number)
    try:
        if user is None:
            raise click.ClickException("no such trainee")
        item = get_item_by_code(item_code)
        day = completed_on.date() if completed_on else local_today()
        record_retraining(person_id=user.id, item_id=item.id, completed_on=day, note=note)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo("retraining recorded")
