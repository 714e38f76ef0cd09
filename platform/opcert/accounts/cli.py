"""`opcert users ...` commands."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from opcert.access import STAFF_ROLES, Role
from opcert.accounts import services
from opcert.accounts.models import Organisation
from opcert.errors import DomainError
from opcert.extensions import db

users_cli = AppGroup("users", help="账号管理 / Accounts.")


@users_cli.command("create")
@click.option("--role", type=click.Choice(sorted(r.value for r in STAFF_ROLES)), required=True)
@click.option("--username", required=True)
@click.option("--name", "real_name", required=True, help="姓名 / real name")
@click.option("--mobile", required=True)
@click.option("--org", "org_name", default="", help="所属机构名称 / organisation name (required for bound roles)")
@click.password_option("--password", help="prompted when omitted")
def create_command(role: str, username: str, real_name: str, mobile: str, org_name: str, password: str) -> None:
    """Create a staff account (administrators, officers, exam-centre staff, examiners, providers)."""
    org_id = None
    if org_name:
        org_id = db.session.execute(sa.select(Organisation.id).where(Organisation.name == org_name)).scalar()
        if org_id is None:
            raise click.ClickException(f"机构不存在 / no organisation named {org_name!r}")
    try:
        user = services.create_staff(
            role=Role(role),
            username=username,
            real_name=real_name,
            mobile=mobile,
            password=password,
            organisation_id=org_id,
        )
    except DomainError as exc:
        db.session.rollback()
        details = "; ".join(f"{k}: {v}" for k, v in exc.reasons.items()) or exc.message
        raise click.ClickException(details) from None
    db.session.commit()
    click.echo(f"created {user.role.value} {user.username} (id {user.id})")


@users_cli.command("disable")
@click.argument("account")
def disable_command(account: str) -> None:
    """Disable an account by username or ID number; its sessions end at once."""
    user = services.find_user_by_login(account)
    if user is None:
        raise click.ClickException(f"no account {account!r}")
    services.set_user_active(user=user, active=False, by=None)
    db.session.commit()
    click.echo(f"disabled {user.login_name}")
