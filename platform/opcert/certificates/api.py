"""The data-sharing API (数据共享): bearer tokens, the change feed of certificates, one certificate by number.

Tokens: the secret is shown once and only its SHA-256 is stored; a missing, wrong, expired or revoked token is
refused (401), counted against the client address (held back after API_REFUSAL_THROTTLE_THRESHOLD) and audited.
Each token has API_RATE_LIMIT calls per API_RATE_WINDOW_SECONDS (a fixed window on the token's row, under a row
lock): beyond it 429 with the seconds to wait.

The change feed: a certificate changes when an event is added to its status history (issue, every status change,
every review: the history is append-only), so the feed is ordered by the id of each certificate's latest event.
The cursor is that id: a certificate that changes again after being read moves past the cursor and comes again
(at-least-once; the newest copy wins), and none is skipped. Events younger than API_SETTLE_SECONDS are left for the
next call, so that a transaction that took an id before another but committed after it is not jumped over.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import math
import re
import secrets
from collections.abc import Callable
from typing import Any, NoReturn

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from opcert.accounts import throttle
from opcert.audit.services import record_event
from opcert.catalogue.models import Item
from opcert.certificates import services
from opcert.certificates.api_models import ApiClient, ApiToken
from opcert.certificates.models import Certificate, CertificateEvent, CertificateHolder, CertificateStatus
from opcert.db import utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.timeutil import from_local, local

SECRET_PREFIX = "opc_"  # noqa: S105 (the prefix that tells an opcert token, no secret)
NUMBER_RE = re.compile(r"^T\d{17}[\dX]$")
CALENDAR_REASONS = {CertificateStatus.EXPIRED: "有效期届满", CertificateStatus.REVIEW_DUE: "到期应复审"}


class TokenError(DomainError):
    """A token that cannot be created or revoked as asked."""


class ApiRefusedError(DomainError):
    """An API call refused: the HTTP status, a stable code for machines, the message for people."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.retry_after = status, code, retry_after


@dataclasses.dataclass(frozen=True)
class NewToken:
    """A created token and its secret, which is shown this once and never again."""

    token: ApiToken
    secret: str


def hash_secret(secret: str) -> str:
    """The stored form of a token's secret (SHA-256: the secret has 256 random bits, no salt or stretching needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# --- tokens (administrators) ------------------------------------------------------------------------


def create_token(
    *, name: str, client: ApiClient, expires_on: dt.date, actor_id: int | None, now: dt.datetime | None = None
) -> NewToken:
    """A new token for the client, valid through `expires_on` (local date); its secret is returned once."""
    now = now or utcnow()
    name = name.strip()
    today = local(now).date()
    if not name:
        raise TokenError.on_field(_("请填写令牌名称。"), "name")
    if len(name) > 60:
        raise TokenError.on_field(_("令牌名称不能超过60个字。"), "name")
    max_days = int(current_app.config["API_TOKEN_MAX_DAYS"])
    if expires_on < today:
        raise TokenError.on_field(_("有效期不能早于今天。"), "expires_on")
    if expires_on > today + dt.timedelta(days=max_days):
        raise TokenError.on_field(_("令牌有效期最长%(days)d天。", days=max_days), "expires_on")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        client=client,
        secret_hash=hash_secret(secret),
        hint=secret[:10],
        created_at=now,
        created_by_id=actor_id,
        expires_at=from_local(dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time())),
        window_calls=0,
    )
    db.session.add(token)
    db.session.flush()
    record_event(
        "api.token_created",
        object_type="api_token",
        object_id=token.id,
        details={"client": client.value, "expires": expires_on.isoformat()},
        actor_id=actor_id,
    )
    return NewToken(token, secret)


def list_tokens() -> list[ApiToken]:
    """Every token, newest first (revoked and expired ones too: they stay on record)."""
    return list(db.session.execute(sa.select(ApiToken).order_by(ApiToken.id.desc())).scalars())


def revoke_token(*, token_id: int, actor_id: int | None, now: dt.datetime | None = None) -> ApiToken:
    """Revoke a token at once: its next call is refused."""
    now = now or utcnow()
    token = db.session.get(ApiToken, token_id, with_for_update=True)
    if token is None:
        raise NotFoundError(_("令牌不存在。"))
    if token.revoked_at is not None:
        raise TokenError(_("该令牌已经吊销。"))
    token.revoked_at, token.revoked_by_id = now, actor_id
    record_event("api.token_revoked", object_type="api_token", object_id=token.id, actor_id=actor_id)
    db.session.flush()
    return token


def token_state(token: ApiToken, now: dt.datetime) -> str:
    """ "active", "expired" or "revoked"."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


# --- authentication and the throttle ----------------------------------------------------------------


def _address_policy() -> throttle.Policy:
    return throttle.Policy.from_settings("API_REFUSAL_THROTTLE", window="LOGIN_THROTTLE_WINDOW_SECONDS")


def _refuse(code: str, message: str, *, key: str, ip: str, now: dt.datetime, token_id: int | None = None) -> NoReturn:
    throttle.get_store().record_failure(key, now, _address_policy())
    record_event(
        "api.refused",
        object_type="api_token" if token_id else "address",
        object_id=token_id or ip[:64],
        details={"code": code},
        actor_label="API",
    )
    raise ApiRefusedError(401, code, message)


def authenticate(*, authorization: str | None, ip: str, now: dt.datetime | None = None) -> ApiToken:
    """The token named by an `Authorization: Bearer` header, counted in its window; refused otherwise."""
    now = now or utcnow()
    key = "api:" + ip
    wait = throttle.get_store().get(key, now).wait_seconds(now)
    if wait:
        record_event("api.refused", object_type="address", object_id=ip[:64], details={"code": "address_throttled"})
        raise ApiRefusedError(
            429, "address_throttled", _("无效令牌过多，请在%(seconds)d秒后再试。", seconds=wait), retry_after=wait
        )
    scheme, _sep, secret = (authorization or "").strip().partition(" ")
    if not authorization:
        _refuse("token_missing", _("缺少访问令牌：请在 Authorization 头中提供 Bearer 令牌。"), key=key, ip=ip, now=now)
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or len(secret) > 200:
        _refuse("token_malformed", _("Authorization 头格式应为“Bearer 令牌”。"), key=key, ip=ip, now=now)
    token = db.session.execute(
        sa.select(ApiToken).where(ApiToken.secret_hash == hash_secret(secret)).with_for_update()
    ).scalar()
    if token is None:
        _refuse("token_wrong", _("访问令牌无效。"), key=key, ip=ip, now=now)
    state = token_state(token, now)
    if state == "revoked":
        _refuse("token_revoked", _("访问令牌已被吊销。"), key=key, ip=ip, now=now, token_id=token.id)
    if state == "expired":
        _refuse("token_expired", _("访问令牌已过期，请联系发证机关更换。"), key=key, ip=ip, now=now, token_id=token.id)
    _count_call(token, now)
    return token


def _count_call(token: ApiToken, now: dt.datetime) -> None:
    window = int(current_app.config["API_RATE_WINDOW_SECONDS"])
    limit = int(current_app.config["API_RATE_LIMIT"])
    if token.window_started_at is None or (now - token.window_started_at).total_seconds() >= window:
        token.window_started_at, token.window_calls = now, 0
    token.window_calls += 1
    token.last_used_at = now
    db.session.flush()
    if token.window_calls > limit:
        wait = max(1, math.ceil(window - (now - token.window_started_at).total_seconds()))
        if token.window_calls == limit + 1:  # the first call over the limit is audited, not each one after it
            record_event("api.throttled", object_type="api_token", object_id=token.id, actor_label="API")
        raise ApiRefusedError(
            429, "rate_limited", _("调用过于频繁，请在%(seconds)d秒后再试。", seconds=wait), retry_after=wait
        )


# --- reading certificates ---------------------------------------------------------------------------


def _bad(message: str) -> ApiRefusedError:
    return ApiRefusedError(400, "bad_parameter", message)


def encode_cursor(event_id: int) -> str:
    """The opaque cursor for "after event `event_id`"."""
    return base64.urlsafe_b64encode(f"v1:{event_id}".encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The event id inside a cursor; a 400 refusal for anything that is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    version, _sep, number = text.partition(":")
    if version != "v1" or not number.isdigit() or len(number) > 18:
        raise _bad(_("cursor 参数无效：请使用上一页返回的 next_cursor。"))
    return int(number)


def parse_since(value: str) -> dt.datetime:
    """An ISO 8601 time with its offset (2026-11-01T00:00:00+08:00 or …Z); a 400 refusal otherwise."""
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise _bad(_("since 参数应为带时区的 ISO 8601 时间，例如 2026-11-01T00:00:00+08:00。")) from None
    if moment.tzinfo is None:
        raise _bad(_("since 参数须带时区，例如 2026-11-01T00:00:00+08:00。"))
    return moment.astimezone(dt.UTC)


def parse_limit(value: str | None) -> int:
    """The page size: API_PAGE_SIZE by default, 1 to API_MAX_PAGE_SIZE; a 400 refusal otherwise."""
    largest = int(current_app.config["API_MAX_PAGE_SIZE"])
    if value is None:
        return min(int(current_app.config["API_PAGE_SIZE"]), largest)
    if not value.strip().isdigit() or not 1 <= int(value) <= largest:
        raise _bad(_("limit 参数应为1至%(largest)d之间的整数。", largest=largest))
    return int(value)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def certificate_record(certificate: Certificate, today: dt.date) -> dict[str, Any]:
    """One certificate as the API gives it (docs/api.md: what authorities receive and why)."""
    holder, item = certificate.holder, certificate.item
    status = services.status_on(certificate, today)
    if status is certificate.status:
        reason, since = certificate.status_reason, certificate.status_on
    else:  # the calendar's status, before the daily command has recorded it
        reason = CALENDAR_REASONS.get(status, "")
        since = certificate.valid_until if status is CertificateStatus.EXPIRED else certificate.review_due_on
    return {
        "number": holder.number,
        "name": holder.name,
        "id_number": holder.id_number,
        "sex": holder.sex,
        "category_code": item.category.code,
        "category_name": item.category.name,
        "item_code": item.code,
        "item_name": item.name,
        "first_issued_on": certificate.first_issued_on.isoformat(),
        "valid_until": certificate.valid_until.isoformat(),
        "review_due_on": certificate.review_due_on.isoformat(),
        "issued_at": _iso(certificate.issued_at),
        "status": status.value,
        "status_reason": reason,
        "status_date": since.isoformat(),
        "authority": certificate.authority,
        "history": [
            {"status": e.status.value, "reason": e.reason, "date": e.on.isoformat(), "at": _iso(e.at)}
            for e in certificate.events
        ],
    }


def _loaded() -> sa.Select[tuple[Certificate]]:
    return sa.select(Certificate).options(
        selectinload(Certificate.holder),
        selectinload(Certificate.item).selectinload(Item.category),
        selectinload(Certificate.events),
    )


def _audited(endpoint: str, token: ApiToken, read: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Every answer is on the audit log (which client read how many certificates), and so is every refusal."""
    try:
        body = read()
    except ApiRefusedError as exc:
        record_event(
            "api.refused",
            object_type="api_token",
            object_id=token.id,
            details={"code": exc.code, "endpoint": endpoint},
            actor_label=f"API: {token.name}"[:60],
        )
        raise
    record_event(
        "api.read",
        object_type="api_token",
        object_id=token.id,
        details={"endpoint": endpoint, "count": len(body["data"])},
        actor_label=f"API: {token.name}"[:60],
    )
    return body


def changed_certificates(
    *, token: ApiToken, since: str | None, cursor: str | None, limit: str | None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """One page of the change feed: certificates changed since a time (or after a cursor), oldest change first."""
    return _audited("changes", token, lambda: _changes(since, cursor, limit, now or utcnow()))


def _changes(since: str | None, cursor: str | None, limit: str | None, now: dt.datetime) -> dict[str, Any]:
    if since is not None and cursor is not None:
        raise _bad(_("since 与 cursor 只能提供一个：第一页用 since，之后用 next_cursor。"))
    if since is None and cursor is None:
        raise _bad(_("请提供 since（起始时间）或 cursor（上一页的 next_cursor）。"))
    after = decode_cursor(cursor) if cursor is not None else 0
    start = parse_since(since) if since is not None else None
    size = parse_limit(limit)
    settled = now - dt.timedelta(seconds=int(current_app.config["API_SETTLE_SECONDS"]))
    change_id = sa.func.max(CertificateEvent.id).label("change_id")
    query = sa.select(CertificateEvent.certificate_id, change_id).where(
        CertificateEvent.id > after, CertificateEvent.at <= settled
    )
    if start is not None:
        query = query.where(CertificateEvent.at >= start)
    rows = db.session.execute(query.group_by(CertificateEvent.certificate_id).order_by(change_id).limit(size + 1)).all()
    has_more = len(rows) > size
    rows = rows[:size]
    found = {c.id: c for c in db.session.execute(_loaded().where(Certificate.id.in_([r[0] for r in rows]))).scalars()}
    today = local(now).date()
    data = []
    for certificate_id, event_id in rows:
        certificate = found[certificate_id]
        record = certificate_record(certificate, today)
        event = next(e for e in certificate.events if e.id == event_id)
        record["change"] = {"id": event_id, "at": _iso(event.at)}
        data.append(record)
    if has_more:
        next_after = rows[-1][1]
    else:  # everything settled so far was read (or is before `since`): the next call starts from here
        newest = db.session.execute(
            sa.select(sa.func.max(CertificateEvent.id)).where(CertificateEvent.at <= settled)
        ).scalar()
        next_after = max(after, newest or 0, rows[-1][1] if rows else 0)
    return {"data": data, "has_more": has_more, "next_cursor": encode_cursor(next_after)}


def certificates_by_number(*, token: ApiToken, number: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """Every certificate of the holder with this number ("T" + ID number); 400 for a malformed one, 404 unknown."""
    return _audited("certificate", token, lambda: _by_number(number, now or utcnow()))


def _by_number(number: str, now: dt.datetime) -> dict[str, Any]:
    cleaned = number.strip().upper()
    if not NUMBER_RE.match(cleaned):
        raise _bad(_("证号格式应为“T”加18位居民身份证号码。"))
    certificates = list(
        db.session.execute(
            _loaded().join(Certificate.holder).where(CertificateHolder.number == cleaned).order_by(Certificate.id)
        ).scalars()
    )
    if not certificates:
        raise ApiRefusedError(404, "not_found", _("没有该证号的证书。"))
    today = local(now).date()
    return {"data": [certificate_record(c, today) for c in certificates]}
