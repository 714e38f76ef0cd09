"""Login throttling: after N failures a growing delay, shared by every worker.

Counts live in Redis when OPCERT_REDIS_URL is set, otherwise in the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any, Protocol, cast

import redis
from flask import current_app

from opcert.accounts.models import LoginThrottle
from opcert.extensions import db


@dataclasses.dataclass(frozen=True)
class ThrottleState:
    """Failures counted for a key, and until when it is locked."""

    failures: int = 0
    locked_until: dt.datetime | None = None

    def wait_seconds(self, now: dt.datetime) -> int:
        """Whole seconds still to wait (0 when not locked)."""
        if self.locked_until is None or self.locked_until <= now:
            return 0
        return math.ceil((self.locked_until - now).total_seconds())


@dataclasses.dataclass(frozen=True)
class Policy:
    """Threshold and delay settings."""

    threshold: int
    base_seconds: int
    max_seconds: int
    window_seconds: int

    def lock_for(self, failures: int) -> int:
        """Seconds to lock after `failures` failures: 0 below the threshold, then doubling."""
        if failures < self.threshold:
            return 0
        return int(min(self.max_seconds, self.base_seconds * 2 ** (failures - self.threshold)))


class ThrottleStore(Protocol):
    """Where failure counts are kept."""

    def get(self, key: str, now: dt.datetime) -> ThrottleState: ...

    def record_failure(self, key: str, now: dt.datetime, policy: Policy) -> ThrottleState: ...

    def reset(self, key: str) -> None: ...


class DatabaseStore:
    """Counts in the login_throttles table; written in the request's transaction."""

    def get(self, key: str, now: dt.datetime) -> ThrottleState:
        """Current state of `key`."""
        row = db.session.get(LoginThrottle, key)
        if row is None:
            return ThrottleState()
        window = current_app.config["LOGIN_THROTTLE_WINDOW_SECONDS"]
        if row.last_failure_at + dt.timedelta(seconds=window) < now and not self._locked(row, now):
            return ThrottleState()
        return ThrottleState(row.failures, row.locked_until)

    @staticmethod
    def _locked(row: LoginThrottle, now: dt.datetime) -> bool:
        return row.locked_until is not None and row.locked_until > now

    def record_failure(self, key: str, now: dt.datetime, policy: Policy) -> ThrottleState:
        """Count one more failure and lock when past the threshold."""
        row = db.session.get(LoginThrottle, key, with_for_update=True)
        if row is None:
            row = LoginThrottle(key=key, failures=0, last_failure_at=now)
            db.session.add(row)
        elif row.last_failure_at + dt.timedelta(seconds=policy.window_seconds) < now and not self._locked(row, now):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        lock = policy.lock_for(row.failures)
        row.locked_until = now + dt.timedelta(seconds=lock) if lock else None
        db.session.flush()
        return ThrottleState(row.failures, row.locked_until)

    def reset(self, key: str) -> None:
        """Forget the failures of `key`."""
        row = db.session.get(LoginThrottle, key)
        if row is not None:
            db.session.delete(row)
            db.session.flush()


class RedisStore:
    """Counts in Redis, shared by every gunicorn worker and host."""

    def __init__(self, client: redis.Redis, prefix: str = "opcert:throttle:") -> None:
        self.client = client
        self.prefix = prefix

    def get(self, key: str, now: dt.datetime) -> ThrottleState:
        """Current state of `key`."""
        failures, locked = cast(list[Any], self.client.hmget(self.prefix + key, ["failures", "locked_until"]))
        if failures is None:
            return ThrottleState()
        until = dt.datetime.fromtimestamp(float(locked), dt.UTC) if locked else None
        return ThrottleState(int(failures), until)

    def record_failure(self, key: str, now: dt.datetime, policy: Policy) -> ThrottleState:
        """Count one more failure atomically and lock when past the threshold."""
        name = self.prefix + key
        failures = int(cast(int, self.client.hincrby(name, "failures", 1)))
        lock = policy.lock_for(failures)
        until = now + dt.timedelta(seconds=lock) if lock else None
        pipe = self.client.pipeline()
        if until is not None:
            pipe.hset(name, "locked_until", str(until.timestamp()))
        pipe.expire(name, policy.window_seconds + lock)
        pipe.execute()
        return ThrottleState(failures, until)

    def reset(self, key: str) -> None:
        """Forget the failures of `key`."""
        self.client.delete(self.prefix + key)


def get_store() -> ThrottleStore:
    """The configured store: Redis when OPCERT_REDIS_URL is set, else the database."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return DatabaseStore()
    ext = current_app.extensions.setdefault("opcert_redis", {})
    if url not in ext:
        ext[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    prefix = current_app.config.get("REDIS_PREFIX", "opcert:")
    return RedisStore(ext[url], prefix=f"{prefix}throttle:")


def account_policy() -> Policy:
    """Policy for one account name."""
    cfg = current_app.config
    return Policy(
        cfg["LOGIN_THROTTLE_THRESHOLD"],
        cfg["LOGIN_THROTTLE_BASE_SECONDS"],
        cfg["LOGIN_THROTTLE_MAX_SECONDS"],
        cfg["LOGIN_THROTTLE_WINDOW_SECONDS"],
    )


def ip_policy() -> Policy:
    """Policy for one client address (looser: many people share an exam centre's address)."""
    cfg = current_app.config
    return dataclasses.replace(account_policy(), threshold=cfg["LOGIN_THROTTLE_IP_THRESHOLD"])
