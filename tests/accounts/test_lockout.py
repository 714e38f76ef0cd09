"""Lock-out by a stranger: an account's delay stays short whoever attacks it, the attacking address's delay grows
(docs/security.md)."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest

from opcert.access import Role
from opcert.accounts import services, throttle
from opcert.accounts.models import LoginThrottle
from opcert.extensions import db
from tests.factories import PASSWORD, staff, trainee

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
STRANGER = "203.0.113.66"
OWNER = "198.51.100.23"


def attempt(account: str, password: str, now: dt.datetime, ip: str) -> str | None:
    """None when the login succeeds, else the refusal's message (committed, as the login page does)."""
    try:
        services.authenticate(account=account, password=password, ip=ip, now=now)
    except services.LoginRefusedError as exc:
        db.session.commit()
        return exc.message
    db.session.commit()
    return None


def wait(key: str, now: dt.datetime) -> int:
    """Seconds the key is still held back."""
    return throttle.get_store().get(key, now).wait_seconds(now)


def test_a_strangers_attack_keeps_the_owner_out_only_briefly_and_holds_the_stranger_back(app) -> None:
    with app.app_context():
        number = trainee().id_number
        account_key = f"acct:{number.lower()}"
        cap = app.config["LOGIN_THROTTLE_MAX_SECONDS"]
        assert cap <= 60
        longest_account_wait, owner_back_at, owner_in_at = 0, None, None
        for second in range(120):  # two minutes of one guess a second from the stranger's address
            now = T0 + dt.timedelta(seconds=second)
            assert attempt(number, f"Guess{second}pw", now, STRANGER) is not None
            longest_account_wait = max(longest_account_wait, wait(account_key, now))
            if second == 40:  # the stranger's sixth guess has just locked the account again
                # The owner, from their own address, is told to wait, but never longer than the short delay.
                owner_wait = wait(account_key, now)
                assert 0 < owner_wait <= cap
                assert "登录失败次数过多" in (attempt(number, PASSWORD, now, OWNER) or "")
                owner_back_at = second + owner_wait
            if second == owner_back_at:
                # Once it has passed the owner is in, while the attack is still going on.
                assert attempt(number, PASSWORD, now, OWNER) is None
                owner_in_at = second
        assert owner_in_at is not None
        assert owner_in_at <= 40 + cap
        assert 0 < longest_account_wait <= cap
        # The stranger's address has been held back far longer than any account ever is, right password or not.
        assert wait(f"ip:{STRANGER}", now) > 3600
        assert "请在24小时后再试" in (attempt(number, PASSWORD, now, STRANGER) or "")


def test_the_address_delay_keeps_growing_beyond_the_counting_window(app) -> None:
    with app.app_context():
        threshold = app.config["LOGIN_THROTTLE_IP_THRESHOLD"]
        base = app.config["LOGIN_THROTTLE_IP_BASE_SECONDS"]
        maximum = app.config["LOGIN_THROTTLE_IP_MAX_SECONDS"]
        for i in range(threshold):  # different accounts: no account's own delay gets in the way
            attempt(f"guess{i:03d}", "Wrong2026pw", T0 + dt.timedelta(milliseconds=i), STRANGER)
        locks = []
        for i in range(13):
            # A patient attacker waits for each lock to end, then tries again.
            row = db.session.get(LoginThrottle, f"ip:{STRANGER}")
            assert row is not None
            assert row.locked_until is not None
            locks.append(round((row.locked_until - row.last_failure_at).total_seconds()))
            attempt(f"patient{i:03d}", "Wrong2026pw", row.locked_until + dt.timedelta(seconds=1), STRANGER)
        assert locks == [min(maximum, base * 2**n) for n in range(13)]
        assert locks[-1] == maximum > app.config["LOGIN_THROTTLE_WINDOW_SECONDS"]


def test_knocking_while_the_account_is_locked_does_not_lengthen_its_lock(app) -> None:
    with app.app_context():
        number = trainee().id_number
        threshold = app.config["LOGIN_THROTTLE_THRESHOLD"]
        for i in range(threshold):
            attempt(number, "Wrong2026pw", T0 + dt.timedelta(seconds=i), STRANGER)
        locked_at = T0 + dt.timedelta(seconds=threshold - 1)
        for i in range(20):
            attempt(number, "Wrong2026pw", locked_at + dt.timedelta(seconds=1 + i), STRANGER)
        row = db.session.get(LoginThrottle, f"acct:{number.lower()}")
        assert row is not None
        assert row.failures == threshold
        assert row.locked_until == locked_at + dt.timedelta(seconds=app.config["LOGIN_THROTTLE_BASE_SECONDS"])
        assert db.session.get(LoginThrottle, f"ip:{STRANGER}").failures == threshold + 20


def wrong_code(secret: str, now: dt.datetime) -> str:
    """A six-digit code that none of the steps accepted at `now` produces."""
    totp = pyotp.TOTP(secret)
    valid = {totp.at(now + dt.timedelta(seconds=30 * step)) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def test_wrong_codes_after_the_right_password_are_held_back_longer(app) -> None:
    with app.app_context():
        user = staff(Role.ADMIN)
        now = T0
        for _ in range(8):  # waiting out each lock before the next wrong code
            with pytest.raises(services.DomainError):
                services.verify_totp(user=user, code=wrong_code(user.totp_secret, now), now=now)
            db.session.commit()
            row = db.session.get(LoginThrottle, f"totp:{user.id}")
            if row is not None and row.locked_until is not None:
                now = row.locked_until + dt.timedelta(seconds=1)
        row = db.session.get(LoginThrottle, f"totp:{user.id}")
        assert row is not None
        assert row.locked_until is not None
        held = (row.locked_until - row.last_failure_at).total_seconds()
        assert app.config["LOGIN_THROTTLE_MAX_SECONDS"] < held <= app.config["LOGIN_THROTTLE_TOTP_MAX_SECONDS"]
        # While the lock lasts even the right code is refused.
        during = row.last_failure_at + dt.timedelta(seconds=1)
        with pytest.raises(services.DomainError, match="登录失败次数过多"):
            services.verify_totp(user=user, code=pyotp.TOTP(user.totp_secret).at(during), now=during)
