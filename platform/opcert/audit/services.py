"""Writing and verifying the audit chain."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Session

from opcert.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from opcert.db import Page, paginate, rowcount, utcnow
from opcert.extensions import db

CHAIN_HEAD_ID = 1


class AuditTamperingError(RuntimeError):
    """Raised when code tries to change or delete an audit row through the ORM."""


def _event_digest(event_row: Any) -> str:
    payload = json.dumps(
        [
            event_row.seq,
            event_row.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            event_row.actor_id,
            event_row.actor_label,
            event_row.action,
            event_row.object_type,
            event_row.object_id,
            event_row.ip,
            event_row.details,
            event_row.prev_hash,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _request_actor() -> tuple[int | None, str, str]:
    if not has_request_context():
        return None, "system", ""
    ip = request.remote_addr or ""
    if current_user and current_user.is_authenticated:
        return current_user.id, current_user.login_name, ip
    return None, "anonymous", ip


def record_event(
    action: str,
    *,
    object_type: str = "",
    object_id: object = "",
    details: dict[str, Any] | None = None,
    actor_id: int | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one event to the chain in the current transaction (the caller commits)."""
    session = db.session
    req_actor_id, req_label, ip = _request_actor()
    bump = (
        sa.update(AuditChainHead).where(AuditChainHead.id == CHAIN_HEAD_ID).values(last_seq=AuditChainHead.last_seq + 1)
    )
    if rowcount(bump, synchronize="auto") == 0:
        session.add(AuditChainHead(id=CHAIN_HEAD_ID, last_seq=0, last_hash=GENESIS_HASH))
        session.flush()
        session.execute(bump)
    seq, prev_hash = session.execute(
        sa.select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == CHAIN_HEAD_ID)
    ).one()
    row = AuditEvent(
        seq=seq,
        at=utcnow(),
        actor_id=actor_id if actor_id is not None else req_actor_id,
        actor_label=(actor_label if actor_label is not None else req_label)[:80],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        ip=ip,
        details=json.dumps(details or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        prev_hash=prev_hash,
    )
    row.hash = _event_digest(row)
    session.add(row)
    session.execute(sa.update(AuditChainHead).where(AuditChainHead.id == CHAIN_HEAD_ID).values(last_hash=row.hash))
    session.flush()
    return row


@dataclasses.dataclass(frozen=True)
class ChainReport:
    """The outcome of verifying the chain."""

    checked: int
    broken_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Whether every link held."""
        return self.broken_seq is None

    @property
    def reason_text(self) -> str:
        """The reason in the user's language (the `reason` field stays English for logs and the CLI)."""
        return str(REASON_TEXTS.get(self.reason, self.reason))


REASON_TEXTS = {
    "missing row": _l("缺少记录"),
    "previous-hash link does not match": _l("与上一条记录的哈希不衔接"),
    "row content does not match its hash": _l("记录内容与其哈希不符，可能被篡改"),
    "rows missing at the end of the chain": _l("链尾记录缺失"),
}


def verify_chain(batch: int = 2000) -> ChainReport:
    """Recompute every hash in order; report the first broken link."""
    table = AuditEvent.__table__
    expected_prev = GENESIS_HASH
    expected_seq = 1
    while True:
        rows = db.session.execute(
            sa.select(table).where(table.c.seq >= expected_seq).order_by(table.c.seq).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return ChainReport(expected_seq - 1, expected_seq, "missing row")
            if row.prev_hash != expected_prev:
                return ChainReport(expected_seq - 1, row.seq, "previous-hash link does not match")
            if _event_digest(row) != row.hash:
                return ChainReport(expected_seq - 1, row.seq, "row content does not match its hash")
            expected_prev = row.hash
            expected_seq += 1
    checked = expected_seq - 1
    head = db.session.execute(
        sa.select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == CHAIN_HEAD_ID)
    ).one_or_none()
    if head is not None and (head.last_seq != checked or head.last_hash != expected_prev):
        return ChainReport(checked, checked + 1, "rows missing at the end of the chain")
    return ChainReport(checked)


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context: object, instances: object) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent):
            raise AuditTamperingError("audit events are append-only")


def list_events(*, action_prefix: str = "", page: int = 1, per_page: int = 50) -> Page[AuditEvent]:
    """Newest events first, optionally only actions starting with a prefix, one page with the total count."""
    query = sa.select(AuditEvent)
    if action_prefix:
        query = query.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    return paginate(db.session, query.order_by(AuditEvent.seq.desc()), page=page, per_page=per_page)


def _events_in_order(action_prefix: str, batch: int) -> Iterator[AuditEvent]:
    last_seq = 0
    while True:
        query = sa.select(AuditEvent).where(AuditEvent.seq > last_seq)
        if action_prefix:
            query = query.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
        rows = list(db.session.execute(query.order_by(AuditEvent.seq).limit(batch)).scalars())
        if not rows:
            return
        for row in rows:
            yield row
            db.session.expunge(row)  # a long export holds one batch in memory, not the whole log
        last_seq = rows[-1].seq


def export_events(*, action_prefix: str = "", batch: int = 1000) -> Iterator[AuditEvent]:
    """Record that the log (or the part matching the prefix) is exported; return its events oldest first, lazily."""
    record_event("audit.exported", object_type="audit_log", details={"filter": action_prefix})
    return _events_in_order(action_prefix, batch)
