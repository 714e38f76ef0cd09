"""The audit log: append-only rows, each chaining the SHA-256 of the previous one."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from opcert.db import Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    """Who did what to which record, when and from where."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    actor_label: Mapped[str] = mapped_column(sa.String(80), default="")
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(40), default="")
    object_id: Mapped[str] = mapped_column(sa.String(64), default="")
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    details: Mapped[str] = mapped_column(sa.Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.seq} {self.action} {self.object_type}:{self.object_id}>"


class AuditChainHead(Base):
    """One row: the last sequence number and hash. Updating it first serialises appends."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(sa.String(64), default=GENESIS_HASH)

    def __repr__(self) -> str:
        return f"<AuditChainHead seq={self.last_seq}>"
