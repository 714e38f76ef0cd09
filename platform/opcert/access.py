"""Authorisation in one place: every view declares who it admits, and one hook enforces it.

A route without a declaration is refused (403) and fails the route x role test.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, abort, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user

from opcert.extensions import login_manager


class Role(enum.StrEnum):
    """The platform's roles (DOMAIN.md)."""

    TRAINEE = "trainee"
    CENTRE_STAFF = "centre_staff"
    EXAMINER = "examiner"
    OFFICER = "officer"
    ADMIN = "admin"
    PROVIDER = "provider"

    @property
    def label(self) -> LazyString:
        """The role's name for people."""
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.TRAINEE: _l("学员"),
    Role.CENTRE_STAFF: _l("考点工作人员"),
    Role.EXAMINER: _l("考评员"),
    Role.OFFICER: _l("发证机关审核人员"),
    Role.ADMIN: _l("管理员"),
    Role.PROVIDER: _l("培训机构人员"),
}

STAFF_ROLES = frozenset(Role) - {Role.TRAINEE}
TWO_FACTOR_ROLES = frozenset({Role.OFFICER, Role.ADMIN})


class Audience(enum.Enum):
    """Audiences that are not a single role."""

    PUBLIC = "public"
    AUTHENTICATED = "authenticated"


PUBLIC = Audience.PUBLIC
AUTHENTICATED = Audience.AUTHENTICATED

EXEMPT_ENDPOINTS = frozenset({"static", "bootstrap.static"})
ACCESS_ATTR = "_opcert_access"

F = TypeVar("F", bound=Callable[..., object])


def allow(*who: Role | Audience) -> Callable[[F], F]:
    """Declare which roles (or PUBLIC / AUTHENTICATED) may call the decorated view."""
    if not who:
        raise ValueError("allow() needs at least one role or audience")

    def decorate(view: F) -> F:
        setattr(view, ACCESS_ATTR, frozenset(who))
        return view

    return decorate


def declared_access(app: Flask, endpoint: str) -> frozenset[Role | Audience] | None:
    """The declaration of an endpoint's view, or None when it has none."""
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    return getattr(view, ACCESS_ATTR, None)


def is_allowed(who: frozenset[Role | Audience], role: Role | None) -> bool:
    """Whether a user with `role` (None: anonymous) passes the declaration."""
    if PUBLIC in who:
        return True
    if role is None:
        return False
    return AUTHENTICATED in who or role in who


def register_access_control(app: Flask) -> None:
    """Install the before-request hook that enforces the declarations."""

    @app.before_request
    def enforce_access() -> ResponseReturnValue | None:
        endpoint = request.endpoint
        if endpoint is None or endpoint in EXEMPT_ENDPOINTS:
            return None
        who = declared_access(app, endpoint)
        if who is None:
            app.logger.error("endpoint %s has no access declaration", endpoint)
            abort(403)
        role = current_user.role if current_user.is_authenticated else None
        if is_allowed(who, role):
            return None
        if role is None:
            response: ResponseReturnValue = login_manager.unauthorized()
            return response
        abort(403)
