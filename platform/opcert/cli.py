"""The `opcert` console script: Flask's CLI with the platform's command groups."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from opcert import create_app


def _create_app() -> Flask:
    return create_app()


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load demo data (idempotent) and print the demo accounts."""
    from opcert.demo import load_demo
    from opcert.extensions import db

    notes: list[str] = []
    accounts = load_demo(notes)
    db.session.commit()
    click.echo("演示账号 / demo accounts (change them before real use):")
    for account in accounts:
        line = f"  {account.role:<13} {account.login:<20} password {account.password}"
        if account.totp_secret:
            line += f"  TOTP secret {account.totp_secret}"
        click.echo(line)
    for note in notes:
        click.echo(note)


def build_cli() -> FlaskGroup:
    """The command group; the domains' commands come from app.cli (see opcert.register_commands)."""
    return FlaskGroup(create_app=_create_app, help="opcert 特种作业人员考核发证平台 / certification platform.")


def main() -> None:
    """Entry point of the `opcert` console script."""
    build_cli()(prog_name="opcert")
