"""The audit log as people read it (named actions, people by name, details as label: value) and as CSV.

The names are for the page only; the rows and the CSV export keep the raw codes the chain was hashed over.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from flask_babel import gettext as _

from opcert.access import Role
from opcert.accounts import services as accounts  # a module: accounts.services itself imports the audit package
from opcert.accounts.idnumber import mask_id_number
from opcert.accounts.models import Organisation, User
from opcert.audit.labels import action_label, field_label, object_label, value_label
from opcert.audit.models import AuditEvent


@dataclasses.dataclass(frozen=True)
class EventLine:
    """One event ready for the page."""

    event: AuditEvent
    action: str
    actor: str
    actor_account: str
    subject: str
    details: list[tuple[str, str]]


def _account(user: User) -> str:
    return user.username or mask_id_number(user.id_number or "")


def _as_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _parse(details: str) -> dict[str, Any]:
    try:
        parsed = json.loads(details or "{}")
    except ValueError:
        return {"": details}
    return parsed if isinstance(parsed, dict) else {"": details}


def _organisation_ids(value: object, key: str = "") -> Iterator[int]:
    """Every organisation id mentioned under an "organisation" key, however deep."""
    if isinstance(value, dict):
        for child_key, child in value.items():
            yield from _organisation_ids(child, child_key)
    elif key == "organisation" and (found := _as_id(value)) is not None:
        yield found


class _Describer:
    """Formats many events with one lookup of the people and organisations they name."""

    def __init__(self, events: Sequence[AuditEvent]) -> None:
        self.parsed = {event.id: _parse(event.details) for event in events}
        user_ids = {e.actor_id for e in events if e.actor_id is not None}
        user_ids |= {i for e in events if e.object_type == "user" and (i := _as_id(e.object_id)) is not None}
        org_ids = {i for e in events if e.object_type == "organisation" and (i := _as_id(e.object_id)) is not None}
        for details in self.parsed.values():
            org_ids.update(_organisation_ids(details))
        self.users = accounts.users_by_id(user_ids)
        self.organisations: dict[int, Organisation] = accounts.organisations_by_id(org_ids)

    def actor(self, event: AuditEvent) -> tuple[str, str]:
        user = self.users.get(event.actor_id) if event.actor_id is not None else None
        if user is not None:
            return user.real_name, _account(user)
        if event.actor_label == "system":
            return _("系统"), ""
        if event.actor_label == "anonymous":
            return _("未登录访客"), ""
        return event.actor_label, ""

    def subject(self, event: AuditEvent) -> str:
        kind = object_label(event.object_type) if event.object_type else ""
        number = _as_id(event.object_id)
        if event.object_type == "user" and number in self.users:
            user = self.users[number]
            return _("%(kind)s %(name)s（%(account)s）", kind=kind, name=user.real_name, account=_account(user))
        if event.object_type == "organisation" and number in self.organisations:
            return _("%(kind)s %(name)s", kind=kind, name=self.organisations[number].name)
        if not event.object_id:
            return kind
        if number is not None:
            return _("%(kind)s #%(id)s", kind=kind, id=event.object_id)
        return _("%(kind)s %(id)s", kind=kind, id=event.object_id)

    def value(self, key: str, value: object, parent: str = "") -> str:
        if value is None:
            return "—"
        if isinstance(value, bool):
            return _("是") if value else _("否")
        if key == "organisation" and (org_id := _as_id(value)) is not None:
            org = self.organisations.get(org_id)
            return org.name if org is not None else f"#{org_id}"
        if key == "role" and value in {r.value for r in Role}:
            return str(Role(str(value)).label)
        if isinstance(value, dict):
            return "，".join(f"{field_label(k)}：{self.value(k, v, key)}" for k, v in value.items())
        if isinstance(value, list):
            if parent == "changed" and len(value) == 2:
                return f"{self.value(key, value[0])} → {self.value(key, value[1])}"
            separator = "；" if any(isinstance(v, list) for v in value) else "、"
            return separator.join(self.value(key, v) for v in value)
        text = str(value)
        return value_label(key, text) or text

    def details(self, event: AuditEvent) -> list[tuple[str, str]]:
        return [(field_label(key) if key else "", self.value(key, v)) for key, v in self.parsed[event.id].items()]


def describe_events(events: Sequence[AuditEvent]) -> list[EventLine]:
    """The events with every code named and every person and organisation by name."""
    describer = _Describer(events)
    lines = []
    for event in events:
        actor, account = describer.actor(event)
        lines.append(
            EventLine(
                event=event,
                action=action_label(event.action),
                actor=actor,
                actor_account=account,
                subject=describer.subject(event),
                details=describer.details(event),
            )
        )
    return lines


EXPORT_COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "ip",
    "details",
    "prev_hash",
    "hash",
)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell that starts like a formula; the account typed at a failed login is anyone's text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    """The events as CSV with their raw codes (UTF-8 with a byte-order mark, so spreadsheets read the Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    for event in events:
        buffer.seek(0)
        buffer.truncate()
        at = event.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        writer.writerow(
            [
                _cell(value)
                for value in (
                    event.seq,
                    at,
                    event.actor_id,
                    event.actor_label,
                    event.action,
                    event.object_type,
                    event.object_id,
                    event.ip,
                    event.details,
                    event.prev_hash,
                    event.hash,
                )
            ]
        )
        yield buffer.getvalue()
