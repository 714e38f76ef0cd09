"""The notification row: one message to one user."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from opcert.db import Base, UTCDateTime, utcnow
from opcert.notifications.kinds import kind_label

IN_APP = "in_app"


class Notification(Base):
    """One message to one user, shown in the app and sent outside after the commit."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Comma-separated channels that delivered: "in_app" at once, the sender's channel added after delivery.
    channels: Mapped[str] = mapped_column(sa.String(64), default=IN_APP)

    @property
    def kind_label(self) -> str:
        """The kind's name for people (the raw value for a kind this version does not know)."""
        return kind_label(self.kind)

    def __repr__(self) -> str:
        return f"<Notification {self.id} user={self.user_id} {self.kind}>"
