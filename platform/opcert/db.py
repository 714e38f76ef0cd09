"""Database foundations: naming convention, the declarative base, UTC datetimes, unique-race flushes, @writes,
rowcount (how many rows a conditional UPDATE or DELETE touched)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

from opcert.errors import DomainError

WRITES_ATTR = "_opcert_writes"
F = TypeVar("F", bound=Callable[..., object])

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing: its rows, the page number actually shown, and the totals."""

    items: list[T]
    page: int
    pages: int
    total: int
    per_page: int


def paginate(
    session: Session | scoped_session[Any], query: sa.Select[tuple[T]], *, page: int, per_page: int
) -> Page[T]:
    """The rows of one page of `query`, with the total; a page past the end shows the last page."""
    total = int(session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    items = list(session.execute(query.limit(per_page).offset((page - 1) * per_page)).scalars())
    return Page(items=items, page=page, pages=pages, total=total, per_page=per_page)


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def str_enum(enum_cls: type, name: str, length: int = 32) -> sa.Enum:
    """A portable enum column type: VARCHAR plus a named CHECK constraint, storing values."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        validate_strings=True,
        values_callable=lambda e: [m.value for m in e],
    )


class Base(DeclarativeBase):
    """Declarative base shared by every model."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def flush_unique(message: str, field: str = "", *, error: type[DomainError] = DomainError) -> None:
    """Flush in a SAVEPOINT so that a unique-constraint race becomes `error` on `field`, not a 500."""
    from opcert.extensions import db  # extensions builds its SQLAlchemy on this module's Base

    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise error.on_field(message, field) from None


def rowcount(statement: sa.Executable, *, synchronize: str | bool = False, params: dict[str, Any] | None = None) -> int:
    """Run an UPDATE/DELETE/INSERT in the request's session and return how many rows it touched.

    The count is what conditional writes are decided on (a seat taken, a sequence number applied, a first approval).
    `synchronize` is SQLAlchemy's synchronize_session: False by default (the caller refreshes what it uses), "auto"
    to update the objects loaded in the session as well. `params` bind a statement built once with bind parameters.
    """
    from opcert.extensions import db

    result = db.session.execute(statement, params, execution_options={"synchronize_session": synchronize})
    return int(cast(CursorResult[Any], result).rowcount or 0)


def core_execute(statement: sa.Executable, params: dict[str, Any] | None = None) -> CursorResult[Any]:
    """Run a Core statement on the request session's connection, in its transaction, past the ORM's execution path.

    For the hottest statements only (the heartbeat's): there the ORM's per-call bookkeeping cost more than the SQL.
    Nothing loaded in the session is told what the statement read or wrote: the caller expires what it changed.
    """
    from opcert.extensions import db

    return db.session.connection().execute(statement, params)


def writes(view: F) -> F:
    """Mark a GET view that writes (an audit row, a cache, a read mark): it takes the write lock as a POST does."""
    setattr(view, WRITES_ATTR, True)
    return view


def view_writes(view: Callable[..., object] | None) -> bool:
    """Whether a view is marked with @writes."""
    return bool(getattr(view, WRITES_ATTR, False))
