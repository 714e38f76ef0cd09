"""API tokens of the data-sharing API: who may read certificates by machine (the secret itself is never stored)."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column

from opcert.db import Base, UTCDateTime, str_enum, utcnow


class ApiClient(enum.StrEnum):
    """The outside systems the API serves (数据共享)."""

    CITY_DATA_CENTRE = "city_data_centre"
    NATIONAL_PLATFORM = "national_platform"

    @property
    def label(self) -> LazyString:
        """The client's name for people."""
        return API_CLIENT_LABELS[self]


API_CLIENT_LABELS = {
    ApiClient.CITY_DATA_CENTRE: _l("市大数据中心"),
    ApiClient.NATIONAL_PLATFORM: _l("全国特种作业操作证查询平台"),
}


class ApiToken(Base):
    """One client's bearer token: the SHA-256 of its secret, its expiry, its revocation, its call window."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    client: Mapped[ApiClient] = mapped_column(str_enum(ApiClient, "api_token_client", 24))
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    hint: Mapped[str] = mapped_column(sa.String(12))  # the secret's first characters, to tell tokens apart
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The throttle: calls counted in a fixed window of API_RATE_WINDOW_SECONDS (updated under a row lock).
    window_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    window_calls: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.client.value} {self.hint}…>"
