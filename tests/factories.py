"""Factories for test data, built through the services so every rule applies."""

from __future__ import annotations

import datetime as dt
import itertools

import pyotp

from opcert.access import Role
from opcert.accounts import services
from opcert.accounts.idnumber import check_character
from opcert.accounts.models import Organisation, OrgKind, User
from opcert.extensions import db

PASSWORD = "Secure2026pw"
_counter = itertools.count(1)


def id_number(
    birth: dt.date = dt.date(1990, 3, 7), *, region: str = "310101", seq: int | None = None, male: bool = True
) -> str:
    """A valid resident ID number for a birth date (the sequence's last digit sets the sex)."""
    n = (next(_counter) if seq is None else seq) % 50
    order = f"{n:02d}{1 if male else 2}"
    first17 = f"{region}{birth:%Y%m%d}{order}"
    return first17 + check_character(first17)


def trainee(
    *, name: str = "李四", number: str | None = None, mobile: str = "13912345678", password: str = PASSWORD
) -> User:
    """A registered trainee (committed)."""
    user = services.register_trainee(real_name=name, id_number=number or id_number(), mobile=mobile, password=password)
    db.session.commit()
    return user


def organisation(kind: OrgKind, name: str | None = None, authority: Organisation | None = None) -> Organisation:
    """An organisation (committed); centres and providers get an authority if none is given."""
    if kind != OrgKind.AUTHORITY and authority is None:
        authority = organisation(OrgKind.AUTHORITY)
    org = services.save_organisation(
        org=None,
        kind=kind,
        name=name or f"{kind.value}-{next(_counter)}",
        address="",
        contact="",
        authority_id=authority.id if authority else None,
    )
    db.session.commit()
    return org


def staff(
    role: Role,
    *,
    username: str | None = None,
    org: Organisation | None = None,
    password: str = PASSWORD,
    with_totp: bool = True,
) -> User:
    """A staff account bound to a fitting organisation (committed); officers and admins get a TOTP secret."""
    from opcert.accounts.models import ROLE_ORG_KIND

    kind = ROLE_ORG_KIND.get(role)
    if kind is not None and org is None:
        org = organisation(kind)
    user = services.create_staff(
        role=role,
        username=username or f"{role.value.replace('_', '')}{next(_counter)}",
        real_name="测试人员",
        mobile="13800001111",
        password=password,
        organisation_id=org.id if org else None,
    )
    if with_totp and user.needs_two_factor:
        user.totp_secret = pyotp.random_base32()
    db.session.commit()
    return user
