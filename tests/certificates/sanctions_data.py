"""Test data for sanctions: the issuing authority's officer, another authority's officer, a sanction applied."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from opcert.access import Role
from opcert.accounts.models import OrgKind, User
from opcert.certificates import sanctions
from opcert.certificates.models import Certificate
from opcert.certificates.sanctions_models import CertificateSanction, SanctionKind
from opcert.extensions import db
from tests.factories import organisation, staff

SANCTIONED_AT = dt.datetime(2026, 11, 10, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai, 10 November 2026


def issuing_officer(app: Flask) -> User:
    """An officer of the authority whose name the certificates bear (committed)."""
    return staff(Role.OFFICER, org=organisation(OrgKind.AUTHORITY, name=str(app.config["CERT_AUTHORITY_NAME"])))


def foreign_officer() -> User:
    """An officer of another authority (committed)."""
    return staff(Role.OFFICER, org=organisation(OrgKind.AUTHORITY, name="浦东新区应急管理局（测试）"))


def sanction(
    officer: User,
    certificate: Certificate,
    kind: SanctionKind,
    ground: str,
    *,
    text: str = "经调查核实",
    until: dt.date | None = None,
    now: dt.datetime | None = SANCTIONED_AT,
) -> CertificateSanction:
    """Apply a sanction and commit."""
    applied = sanctions.apply_sanction(
        officer=officer, certificate=certificate, kind=kind, ground=ground, text=text, until=until, now=now
    )
    db.session.commit()
    return applied
