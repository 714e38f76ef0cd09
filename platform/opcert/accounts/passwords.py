"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

from opcert.errors import DomainError

MAX_LENGTH = 128
COMMON = frozenset(
    {
        "12345678",
        "123456789",
        "1234567890",
        "password",
        "password1",
        "qwerty123",
        "abc12345",
        "a1234567",
        "aa123456",
        "11111111",
        "88888888",
        "iloveyou",
        "1qaz2wsx",
        "qwertyuiop",
        "abcd1234",
        "admin123",
        "woaini1314",
        "password123",
        "12345678a",
        "zxcvbnm123",
    }
)


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_KIB"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    """Hash with Argon2id at the configured cost."""
    return _hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether `password` matches the stored hash."""
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether the stored hash was made with other parameters than the configured ones."""
    return _hasher().check_needs_rehash(stored)


def check_password_policy(password: str, *, personal: tuple[str, ...] = ()) -> None:
    """Refuse weak passwords with a message that says what is missing."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        msg = _("密码至少需要%(n)d个字符。", n=minimum)
        raise DomainError(msg, {"password": msg})
    if len(password) > MAX_LENGTH:
        msg = _("密码不能超过%(n)d个字符。", n=MAX_LENGTH)
        raise DomainError(msg, {"password": msg})
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        msg = _("密码须同时包含字母和数字。")
        raise DomainError(msg, {"password": msg})
    lowered = password.lower()
    if lowered in COMMON or len(set(password)) < 4:
        msg = _("密码过于简单，容易被猜到，请换一个。")
        raise DomainError(msg, {"password": msg})
    for item in personal:
        if item and len(item) >= 4 and item.lower() in lowered:
            msg = _("密码不能包含您的身份证号、手机号或用户名。")
            raise DomainError(msg, {"password": msg})
