"""Throttling of logins, TOTP codes and registrations: after N attempts a growing delay, shared by every worker.

Counts live in Redis when OPCERT_REDIS_URL is set, otherwise in the database. When Redis does not answer, the
counts go to the database until it answers again (tried every REDIS_RETRY_SECONDS): logins keep working.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

import redis
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from opcert.accounts.models import LoginThrottle
from opcert.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")


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

    @classmethod
    def from_settings(cls, prefix: str, *, window: str | None = None) -> Policy:
        """The policy the settings PREFIX_THRESHOLD, _BASE_SECONDS, _MAX_SECONDS and _WINDOW_SECONDS (or the
        setting named by `window`) describe."""
        cfg = current_app.config
        return cls(
            int(cfg[f"{prefix}_THRESHOLD"]),
            int(cfg[f"{prefix}_BASE_SECONDS"]),
            int(cfg[f"{prefix}_MAX_SECONDS"]),
            int(cfg[window or f"{prefix}_WINDOW_SECONDS"]),
        )

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
        if self._forgotten(row, now, current_app.config["LOGIN_THROTTLE_WINDOW_SECONDS"]):
            return ThrottleState()
        return ThrottleState(row.failures, row.locked_until)

    @staticmethod
    def _forgotten(row: LoginThrottle, now: dt.datetime, window: int) -> bool:
        """Failures are forgotten `window` seconds after the last one or after the lock's end, whichever is later
        (as the Redis key's expiry): a lock longer than the window does not wipe the count when it ends."""
        last = max(row.last_failure_at, row.locked_until or row.last_failure_at)
        return last + dt.timedelta(seconds=window) < now

    def record_failure(self, key: str, now: dt.datetime, policy: Policy) -> ThrottleState:
        """Count one more failure and lock when past the threshold."""
        row = db.session.get(LoginThrottle, key, with_for_update=True)
        if row is None:
            row = self._insert_or_lock(key, now)
        elif self._forgotten(row, now, policy.window_seconds):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        lock = policy.lock_for(row.failures)
        row.locked_until = now + dt.timedelta(seconds=lock) if lock else None
        db.session.flush()
        return ThrottleState(row.failures, row.locked_until)

    @staticmethod
    def _insert_or_lock(key: str, now: dt.datetime) -> LoginThrottle:
        """Create the row; when a concurrent failure created it first, lock theirs instead of failing with a 500."""
        try:
            with db.session.begin_nested():
                db.session.add(LoginThrottle(key=key, failures=0, last_failure_at=now))
        except IntegrityError:
            pass
        query = sa.select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
        return db.session.execute(query).scalar_one()

    def reset(self, key: str) -> None:
        """Forget the failures of `key`."""
        row = db.session.get(LoginThrottle, key)
        if row is not None:
            db.session.delete(row)
            db.session.flush()


class RedisLink:
    """One Redis client and whether Redis answers; an outage is logged once, and Redis is tried again later."""

    def __init__(self, client: redis.Redis, retry_seconds: float) -> None:
        self.client = client
        self.retry_seconds = retry_seconds
        self.down = False
        self.retry_at = 0.0
        self._lock = threading.Lock()

    def failed(self, error: Exception) -> None:
        """Redis did not answer: use the database until the next retry."""
        with self._lock:
            if not self.down:
                log.warning("Redis unreachable (%s): login throttling uses the database until it answers again", error)
            self.down = True
            self.retry_at = time.monotonic() + self.retry_seconds

    def answered(self) -> None:
        """Redis answered again."""
        with self._lock:
            if self.down:
                log.warning("Redis reachable again: login throttling uses Redis")
            self.down = False

    def ping(self) -> bool:
        """Ask Redis now; record the answer."""
        try:
            self.client.ping()
        except redis.RedisError as exc:
            self.failed(exc)
            return False
        self.answered()
        return True

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()

    def usable(self) -> bool:
        """Whether to use Redis for this request: it answered last time, or it is time to try again."""
        if not self.down:
            return True
        return time.monotonic() >= self.retry_at and self.ping()


class RedisStore:
    """Counts in Redis, shared by every gunicorn worker and host.

    With a link, a Redis failure in the middle of a login marks Redis down and the database store answers instead.
    """

    # Same formula as Policy.lock_for, run inside Redis so concurrent workers cannot interleave.
    RECORD_SCRIPT = """
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local threshold, base, max, window, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
    tonumber(ARGV[4]), tonumber(ARGV[5])
local lock = 0
if failures >= threshold then lock = math.min(max, base * 2 ^ (failures - threshold)) end
local locked = 0
if lock > 0 then
  locked = now + lock
  redis.call('HSET', KEYS[1], 'locked_until', tostring(locked))
end
redis.call('EXPIRE', KEYS[1], math.ceil(window + lock))
return {failures, tostring(locked)}
"""

    def __init__(self, client: redis.Redis, prefix: str = "opcert:throttle:", link: RedisLink | None = None) -> None:
        self.client = client
        self.prefix = prefix
        self.link = link
        self._record = client.register_script(self.RECORD_SCRIPT)

    def _either(self, with_redis: Callable[[], T], with_database: Callable[[DatabaseStore], T]) -> T:
        """Run the Redis operation; once Redis has failed (and only with a link), the database store's instead."""
        if self.link is None or not self.link.down:
            try:
                return with_redis()
            except redis.RedisError as exc:
                if self.link is None:
                    raise
                self.link.failed(exc)
        return with_database(DatabaseStore())

    def get(self, key: str, now: dt.datetime) -> ThrottleState:
        """Current state of `key`."""
        return self._either(lambda: self._get(key), lambda store: store.get(key, now))

    def _get(self, key: str) -> ThrottleState:
        failures, locked = cast(list[Any], self.client.hmget(self.prefix + key, ["failures", "locked_until"]))
        if failures is None:
            return ThrottleState()
        until = dt.datetime.fromtimestamp(float(locked), dt.UTC) if locked else None
        return ThrottleState(int(failures), until)

    def record_failure(self, key: str, now: dt.datetime, policy: Policy) -> ThrottleState:
        """Count one more failure, set the lock and the expiry in one atomic step (a Lua script)."""
        return self._either(
            lambda: self._record_failure(key, now, policy), lambda store: store.record_failure(key, now, policy)
        )

    def _record_failure(self, key: str, now: dt.datetime, policy: Policy) -> ThrottleState:
        failures, until = cast(
            list[Any],
            self._record(
                keys=[self.prefix + key],
                args=[
                    policy.threshold,
                    policy.base_seconds,
                    policy.max_seconds,
                    policy.window_seconds,
                    now.timestamp(),
                ],
            ),
        )
        locked = dt.datetime.fromtimestamp(float(until), dt.UTC) if float(until) > 0 else None
        return ThrottleState(int(failures), locked)

    def reset(self, key: str) -> None:
        """Forget the failures of `key`."""
        self._either(lambda: self.client.delete(self.prefix + key), lambda store: store.reset(key))


def redis_link() -> RedisLink | None:
    """This app's link to the configured Redis (None when OPCERT_REDIS_URL is unset)."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    links = current_app.extensions.setdefault("opcert_redis", {})
    if url not in links:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        links[url] = RedisLink(client, float(current_app.config["REDIS_RETRY_SECONDS"]))
    link: RedisLink = links[url]
    return link


def get_store() -> ThrottleStore:
    """The configured store: Redis when OPCERT_REDIS_URL is set and Redis answers, else the database."""
    link = redis_link()
    if link is None or not link.usable():
        return DatabaseStore()
    prefix = current_app.config.get("REDIS_PREFIX", "opcert:")
    return RedisStore(link.client, prefix=f"{prefix}throttle:", link=link)


def account_policy() -> Policy:
    """Policy for one account name, whoever tries it: a short delay, capped low, so that a stranger cannot keep
    the owner out for long (docs/security.md)."""
    return Policy.from_settings("LOGIN_THROTTLE")


def ip_policy() -> Policy:
    """Policy for one client address: a higher threshold (many people share an exam centre's address), then a
    delay that keeps doubling up to a long cap, so that guessing from one address soon becomes pointless."""
    return Policy.from_settings("LOGIN_THROTTLE_IP", window="LOGIN_THROTTLE_WINDOW_SECONDS")


def totp_policy() -> Policy:
    """Policy for one user's TOTP codes: only someone who knows the password gets here, so it may grow long."""
    return dataclasses.replace(account_policy(), max_seconds=current_app.config["LOGIN_THROTTLE_TOTP_MAX_SECONDS"])


def registration_policy() -> Policy:
    """Policy for registrations from one client address (every attempt counts, not only failures)."""
    return Policy.from_settings("REGISTER_THROTTLE")
