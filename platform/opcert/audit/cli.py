"""`opcert audit ...` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from opcert.audit.services import verify_chain

audit_cli = AppGroup("audit", help="审计日志 / Audit log.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Recompute the hash chain; exit 1 and name the first broken link if any."""
    report = verify_chain()
    if report.ok:
        click.echo(f"OK: {report.checked} events, chain intact")
        return
    click.echo(
        f"BROKEN at seq {report.broken_seq}: {report.reason} ({report.checked} events verified before it)", err=True
    )
    raise SystemExit(1)
