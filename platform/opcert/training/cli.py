"""`opcert training ...` commands."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from opcert.accounts.models import User
from opcert.db import utcnow
from opcert.extensions import db
from opcert.training import study
from opcert.training.models import StudyLease

training_cli = AppGroup("training", help="在线培训：课程、学时 / Online training: courses, study hours.")


@training_cli.command("settle")
def settle_command() -> None:
    """Settle study leases whose heartbeats stopped (credit their time, or discard it when a check was owed)."""
    now = utcnow()
    ids = db.session.execute(sa.select(StudyLease.trainee_id).where(StudyLease.token.is_not(None))).scalars().all()
    try:
        for trainee_id in ids:
            trainee = db.session.get(User, trainee_id)
            if trainee is not None:
                study.settle(trainee=trainee, now=now)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(f"checked {len(ids)} lease(s)")
