"""Accounts: people, the organisations staff belong to, server-side sessions, login throttling."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opcert.access import Role
from opcert.db import Base, UTCDateTime, str_enum, utcnow


class OrgKind(enum.StrEnum):
    """Kinds of organisation a staff account can be bound to."""

    AUTHORITY = "authority"
    EXAM_CENTRE = "exam_centre"
    TRAINING_PROVIDER = "training_provider"

    @property
    def label(self) -> LazyString:
        """The kind's name for people."""
        return ORG_KIND_LABELS[self]


ORG_KIND_LABELS = {
    OrgKind.AUTHORITY: _l("发证机关"),
    OrgKind.EXAM_CENTRE: _l("考点"),
    OrgKind.TRAINING_PROVIDER: _l("培训机构"),
}

# Which organisation kind a staff role must be bound to (roles absent here are bound to none).
ROLE_ORG_KIND = {
    Role.CENTRE_STAFF: OrgKind.EXAM_CENTRE,
    Role.EXAMINER: OrgKind.EXAM_CENTRE,
    Role.OFFICER: OrgKind.AUTHORITY,
    Role.PROVIDER: OrgKind.TRAINING_PROVIDER,
}


class Organisation(Base):
    """An issuing authority, an exam centre or a training provider."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind, "org_kind"))
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    contact: Mapped[str] = mapped_column(sa.String(100), default="")
    authority_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    authority: Mapped[Organisation | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.kind.value} {self.name!r}>"


class User(Base):
    """A person with an account: a trainee (by resident ID number) or a staff member (by username)."""

    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint("id_number IS NOT NULL OR username IS NOT NULL", name="has_login"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"), index=True)
    username: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    id_number: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    real_name: Mapped[str] = mapped_column(sa.String(30))
    mobile: Mapped[str] = mapped_column(sa.String(11))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation | None] = relationship()

    # Flask-Login protocol.
    is_authenticated = True
    is_anonymous = False

    @property
    def session_token(self) -> str | None:
        """The token of the server-side session this request runs under (set by the session loader)."""
        return getattr(self, "_session_token", None)

    @session_token.setter
    def session_token(self, value: str | None) -> None:
        self._session_token = value

    def get_id(self) -> str | None:
        """Flask-Login stores the server-side session token, never the user id, in the cookie."""
        return self.session_token

    @property
    def login_name(self) -> str:
        """What the person types to log in."""
        return self.username or self.id_number or ""

    @property
    def needs_two_factor(self) -> bool:
        """Officers and administrators log in with a TOTP code as well."""
        from opcert.access import TWO_FACTOR_ROLES

        return self.role in TWO_FACTOR_ROLES

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value} {self.login_name!r}>"


class UserSession(Base):
    """A server-side login session; the cookie carries only its random token (stored hashed)."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(30))

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<UserSession {self.id} user={self.user_id} revoked={self.revoked_at is not None}>"


class LoginThrottle(Base):
    """Failed-login counters shared by every worker when Redis is not configured."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<LoginThrottle {self.key!r} failures={self.failures}>"
