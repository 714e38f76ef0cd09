"""Account rules: registration, login, sessions, two-factor codes, staff and organisations."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
from collections.abc import Callable, Collection
from typing import NamedTuple, TypedDict, TypeVar

import pyotp
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from opcert.access import STAFF_ROLES, Role
from opcert.accounts import throttle
from opcert.accounts.idnumber import IdNumber, IdNumberError, normalise, parse_id_number
from opcert.accounts.models import ROLE_ORG_KIND, Organisation, OrgKind, User, UserSession
from opcert.accounts.passwords import check_password_policy, hash_password, needs_rehash, verify_password
from opcert.audit.services import record_event
from opcert.db import Page, flush_unique, paginate, rowcount, utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.timeutil import local_today

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
NAME_RE = re.compile(r"^[\u3400-\u9fffA-Za-z][\u3400-\u9fffA-Za-z·• .-]*$")
NAME_MAX = 30
ORG_NAME_MAX, ORG_ADDRESS_MAX, ORG_CONTACT_MAX = 100, 200, 100
T = TypeVar("T")
# Verified against when the account does not exist, so that the answer takes as long either way.
_DUMMY_HASH: dict[str, str] = {}


class LoginRefusedError(DomainError):
    """Login refused: wrong credentials, locked, or disabled."""


def _field_error(field: str, message: str) -> DomainError:
    return DomainError(message, {field: message})


def _check_name(real_name: str) -> str:
    name = real_name.strip()
    if not name:
        raise _field_error("real_name", _("请输入姓名。"))
    if len(name) > NAME_MAX:
        raise _field_error("real_name", _("姓名不能超过%(n)d个字符。", n=NAME_MAX))
    if not NAME_RE.match(name):
        raise _field_error("real_name", _("姓名只能包含汉字、字母、间隔号“·”和空格。"))
    return name


def _check_mobile(mobile: str) -> str:
    value = normalise(mobile)
    if not MOBILE_RE.match(value):
        raise _field_error("mobile", _("请输入11位中国大陆手机号码。"))
    return value


def _id_number_taken(number: str, *, except_user: int | None = None) -> bool:
    query = sa.select(User.id).where(User.id_number == number)
    if except_user is not None:
        query = query.where(User.id != except_user)
    return db.session.execute(query).first() is not None


class RegistrationThrottledError(DomainError):
    """Too many registration attempts from one address: wait before the next."""


def _count_registration(ip: str, now: dt.datetime) -> None:
    """Count one registration attempt from `ip`, refusing it while the address is held back (no enumeration)."""
    store = throttle.get_store()
    key = "register:" + ip
    wait = store.get(key, now).wait_seconds(now)
    if wait:
        record_event("user.register_throttled", object_type="address", object_id=ip[:64])
        raise RegistrationThrottledError(_("注册尝试过于频繁，请在%(when)s后再试。", when=_wait_text(wait)))
    # Every attempt counts, successful or not: a valid submission is the only one that can tell "registered".
    store.record_failure(key, now, throttle.registration_policy())


class Registration(TypedDict):
    """What a trainee types to register, as `**values` for `registration_problems` and `register_trainee`."""

    real_name: str
    id_number: str
    mobile: str
    password: str


def _check_trainee_id(id_number: str, today: dt.date) -> IdNumber:
    try:
        parsed = parse_id_number(id_number, today=today)
    except IdNumberError as exc:
        raise _field_error("id_number", str(exc.message)) from None
    minimum = current_app.config["MIN_AGE"]
    if parsed.age_on(today) < minimum:
        raise _field_error("id_number", _("未满%(n)d周岁，不能申请特种作业操作证。", n=minimum))
    return parsed


def _check_registration(
    *, real_name: str, id_number: str, mobile: str, password: str, today: dt.date
) -> tuple[dict[str, str], tuple[str, IdNumber, str] | None]:
    """Every fault of a registration by field, and (name, ID number, mobile) when there is none."""
    reasons: dict[str, str] = {}
    name = _collect(reasons, "real_name", lambda: _check_name(real_name))
    parsed = _collect(reasons, "id_number", lambda: _check_trainee_id(id_number, today))
    phone = _collect(reasons, "mobile", lambda: _check_mobile(mobile))
    personal = (parsed.number if parsed else normalise(id_number), phone or normalise(mobile))
    _collect(reasons, "password", lambda: check_password_policy(password, personal=personal))
    if reasons or name is None or parsed is None or phone is None:
        return reasons, None
    return reasons, (name, parsed, phone)


def registration_problems(
    *, real_name: str, id_number: str, mobile: str, password: str, today: dt.date | None = None
) -> dict[str, str]:
    """Every fault of a registration's name, ID number, age, mobile and password, by field, for a form whose own
    checks failed too. Whether the ID number is registered is not told here (only after a valid submission)."""
    reasons, _values = _check_registration(
        real_name=real_name, id_number=id_number, mobile=mobile, password=password, today=today or local_today()
    )
    return reasons


def register_trainee(
    *,
    real_name: str,
    id_number: str,
    mobile: str,
    password: str,
    ip: str | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> User:
    """Create a trainee account after checking identity data, age, password and uniqueness; every fault is reported.

    With `ip` (self-registration on the web) attempts are throttled per address. "Already registered" is said only
    when everything else is valid, so the form cannot be used cheaply to test whose ID numbers are registered.
    The refusals raise before anything but the attempt counter is written: the caller may commit it.
    """
    if ip is not None:
        _count_registration(ip, now or utcnow())
    reasons, values = _check_registration(
        real_name=real_name, id_number=id_number, mobile=mobile, password=password, today=today or local_today()
    )
    if values is None:
        raise _refusal(reasons)
    name, parsed, phone = values
    duplicate = _("该身份证号码已注册。如忘记密码，请联系考点或发证机关重置。")
    if _id_number_taken(parsed.number):
        raise _field_error("id_number", duplicate)
    user = User(
        role=Role.TRAINEE, id_number=parsed.number, real_name=name, mobile=phone, password_hash=hash_password(password)
    )
    db.session.add(user)
    flush_unique(duplicate, "id_number")
    record_event(
        "user.registered", object_type="user", object_id=user.id, actor_id=user.id, actor_label=user.login_name
    )
    return user


def find_user_by_login(account: str) -> User | None:
    """The user an account name (ID number or username) refers to."""
    value = normalise(account)
    if not value:
        return None
    query = sa.select(User).where(sa.or_(User.id_number == value, User.username == value.lower()))
    return db.session.execute(query).scalars().first()


def _dummy_hash() -> str:
    key = repr(
        (
            current_app.config["ARGON2_TIME_COST"],
            current_app.config["ARGON2_MEMORY_KIB"],
            current_app.config["ARGON2_PARALLELISM"],
        )
    )
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH[key]


def _wait_text(seconds: int) -> str:
    if seconds >= 3600:
        text = _("%(n)d小时", n=(seconds + 3599) // 3600)
    elif seconds >= 60:
        text = _("%(n)d分钟", n=(seconds + 59) // 60)
    else:
        text = _("%(n)d秒", n=seconds)
    return str(text)


def _locked_error(seconds: int) -> LoginRefusedError:
    return LoginRefusedError(_("登录失败次数过多，请在%(when)s后再试。", when=_wait_text(seconds)))


def authenticate(*, account: str, password: str, ip: str, now: dt.datetime | None = None) -> User:
    """Check an account name and password under throttling; return the user or raise LoginRefusedError."""
    now = now or utcnow()
    store = throttle.get_store()
    account_key = "acct:" + normalise(account).lower()[:100]
    ip_key = "ip:" + ip
    account_wait = store.get(account_key, now).wait_seconds(now)
    ip_wait = store.get(ip_key, now).wait_seconds(now)
    if account_wait or ip_wait:
        # Knocking on a locked door counts against the address, never the account: an attacker's address is
        # held back longer and longer while the account's own delay stays short for its owner (docs/security.md).
        ip_wait = max(ip_wait, store.record_failure(ip_key, now, throttle.ip_policy()).wait_seconds(now))
        record_event("login.throttled", object_type="account", object_id=account_key[5:][:64])
        raise _locked_error(max(account_wait, ip_wait))
    user = find_user_by_login(account)
    ok = verify_password(user.password_hash if user else _dummy_hash(), password) and user is not None
    if not ok or user is None:
        policy = throttle.account_policy()
        state = store.record_failure(account_key, now, policy)
        store.record_failure(ip_key, now, throttle.ip_policy())
        record_event("login.failed", object_type="account", object_id=account_key[5:][:64])
        wait = state.wait_seconds(now)
        if wait:
            raise _locked_error(wait)
        left = policy.threshold - state.failures
        message = _("账号或密码错误。")
        if left <= 2:
            message += _("再失败%(n)d次，账号将被暂时锁定。", n=left)
        raise LoginRefusedError(message)
    store.reset(account_key)
    if not user.is_active:
        record_event("login.disabled_account", object_type="user", object_id=user.id)
        raise LoginRefusedError(_("该账号已停用，请联系管理员。"))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start_session(*, user: User, ip: str, user_agent: str) -> str:
    """Open a server-side session for a fully authenticated user; return its cookie token."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, token_hash=_token_hash(token), ip=ip[:45], user_agent=user_agent[:200]))
    user.last_login_at = utcnow()
    user.session_token = token
    db.session.flush()
    record_event(
        "login.succeeded", object_type="user", object_id=user.id, actor_id=user.id, actor_label=user.login_name
    )
    return token


@functools.cache
def _session_query() -> sa.Select[tuple[User, int, dt.datetime | None, dt.datetime, dt.datetime]]:
    """The user and their session's times in one query, run on every signed-in request: built once (building it and
    its cache key cost more than running it), the token's hash bound on each call. The session row is read as
    columns, not as an object: one entity to load, not two."""
    token_hash = sa.bindparam("token_hash", type_=sa.String())
    return (
        sa.select(User, UserSession.id, UserSession.revoked_at, UserSession.created_at, UserSession.last_seen_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == token_hash)
    )


@functools.cache
def _session_update() -> sa.Update:
    """One session row's times and state, by id (a touch, or its end when idle or expired)."""
    return sa.update(UserSession).where(UserSession.id == sa.bindparam("session_id", type_=sa.Integer()))


class SessionCheck(NamedTuple):
    """Who a session token belongs to; `reason` when nobody (unknown, revoked, disabled, idle, expired);
    `wrote` when the check changed the session row (touched, or ended it), for the caller to commit."""

    user: User | None
    reason: str | None
    wrote: bool = False


def load_session(token: str, *, now: dt.datetime | None = None, write: bool = True) -> SessionCheck:
    """The user behind a session token, or the reason there is none: unknown, revoked, idle or expired. An idle or
    expired session is ended, and an active one's last-seen time touched (at most every SESSION_TOUCH_SECONDS),
    unless `write` is False (the database is busy: the answer is the same, the row is left)."""
    now = now or utcnow()
    row = db.session.execute(_session_query(), {"token_hash": _token_hash(token)}).first()
    if row is None or row.revoked_at is not None:
        return SessionCheck(None, "revoked")
    user, session_id = row[0], row.id
    cfg = current_app.config
    if not user.is_active:
        return SessionCheck(None, "disabled")
    if now - row.last_seen_at > dt.timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        return SessionCheck(None, "idle", write and _update_session(session_id, revoked_at=now, revoked_reason="idle"))
    if now - row.created_at > current_app.permanent_session_lifetime:
        ended = write and _update_session(session_id, revoked_at=now, revoked_reason="expired")
        return SessionCheck(None, "expired", ended)
    touched = write and (now - row.last_seen_at).total_seconds() > cfg["SESSION_TOUCH_SECONDS"]
    if touched:
        _update_session(session_id, last_seen_at=now)
    user.session_token = token
    return SessionCheck(user, None, touched)


def _update_session(session_id: int, **values: object) -> bool:
    rowcount(_session_update().values(**values), params={"session_id": session_id})
    return True


def end_session(*, token: str) -> None:
    """Revoke the session behind `token` (logout): a copied cookie stops working."""
    row = (
        db.session.execute(sa.select(UserSession).where(UserSession.token_hash == _token_hash(token))).scalars().first()
    )
    if row is not None and row.revoked_at is None:
        row.revoked_at, row.revoked_reason = utcnow(), "logout"
        record_event("logout", object_type="user", object_id=row.user_id)
        db.session.flush()


def revoke_user_sessions(*, user: User, reason: str, keep_token: str | None = None) -> int:
    """Revoke every open session of `user` except `keep_token`; return how many."""
    query = sa.update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep_token:
        query = query.where(UserSession.token_hash != _token_hash(keep_token))
    return rowcount(query.values(revoked_at=utcnow(), revoked_reason=reason), synchronize="auto")


def list_open_sessions(*, user: User) -> list[UserSession]:
    """A user's sessions that are still open, newest first."""
    query = (
        sa.select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    )
    return list(db.session.execute(query).scalars())


def revoke_own_session(*, user: User, session_id: int) -> None:
    """Let a user end one of their own sessions; someone else's is 'not found'."""
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFoundError(_("会话不存在。"))
    if row.revoked_at is None:
        row.revoked_at, row.revoked_reason = utcnow(), "revoked_by_user"
        record_event("session.revoked", object_type="user_session", object_id=row.id)
        db.session.flush()


def change_password(*, user: User, current: str, new: str) -> None:
    """Change a password after checking the current one; other sessions are ended."""
    if not verify_password(user.password_hash, current):
        raise _field_error("current_password", _("当前密码不正确。"))
    try:
        check_password_policy(new, personal=(user.id_number or "", user.mobile, user.username or ""))
    except DomainError as exc:
        raise _field_error("new_password", exc.message) from None
    user.password_hash = hash_password(new)
    revoke_user_sessions(user=user, reason="password_changed", keep_token=user.session_token)
    record_event("user.password_changed", object_type="user", object_id=user.id)
    db.session.flush()


# --- two-factor (TOTP) ---------------------------------------------------------------------------


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret."""
    return pyotp.random_base32()


def totp_provisioning_uri(*, user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app scans."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.login_name, issuer_name=current_app.config["TOTP_ISSUER"])


def _matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    code = normalise(code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def _check_totp(*, user: User, secret: str, code: str, now: dt.datetime) -> None:
    store = throttle.get_store()
    key = f"totp:{user.id}"
    wait = store.get(key, now).wait_seconds(now)
    if wait:
        raise _locked_error(wait)
    step = _matching_step(secret, code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        store.record_failure(key, now, throttle.totp_policy())
        record_event("login.totp_failed", object_type="user", object_id=user.id)
        message = _("动态验证码不正确或已使用，请输入验证器应用中当前显示的6位数字。")
        raise _field_error("code", message)
    store.reset(key)
    user.totp_last_step = step


def confirm_totp_enrolment(*, user: User, secret: str, code: str, now: dt.datetime | None = None) -> None:
    """Bind a TOTP secret to the user once they prove their app produces its codes."""
    _check_totp(user=user, secret=secret, code=code, now=now or utcnow())
    user.totp_secret = secret
    record_event(
        "user.totp_enrolled", object_type="user", object_id=user.id, actor_id=user.id, actor_label=user.login_name
    )
    db.session.flush()


def verify_totp(*, user: User, code: str, now: dt.datetime | None = None) -> None:
    """Check a login's second factor; each code is accepted once."""
    if not user.totp_secret:
        raise _field_error("code", _("尚未绑定动态验证码。"))
    _check_totp(user=user, secret=user.totp_secret, code=code, now=now or utcnow())
    db.session.flush()


def reset_totp(*, user: User) -> None:
    """Administrator: unbind a user's authenticator (lost phone); they enrol again at next login."""
    user.totp_secret = None
    user.totp_last_step = None
    revoke_user_sessions(user=user, reason="totp_reset")
    record_event("user.totp_reset", object_type="user", object_id=user.id)
    db.session.flush()


# --- staff and organisations ---------------------------------------------------------------------


def _check_binding(role: Role, organisation_id: int | None) -> Organisation | None:
    wanted = ROLE_ORG_KIND.get(role)
    if wanted is None:
        if organisation_id:
            raise _field_error("organisation_id", _("该角色不隶属于任何机构，请不要选择机构。"))
        return None
    org = db.session.get(Organisation, organisation_id) if organisation_id else None
    if org is None or org.kind != wanted:
        raise _field_error("organisation_id", _("该角色必须隶属于一个%(kind)s。", kind=wanted.label))
    return org


def _collect(reasons: dict[str, str], field: str, check: Callable[[], T]) -> T | None:
    """Run one rule; on refusal note its message under `field` (first one wins) and return None."""
    try:
        return check()
    except DomainError as exc:
        reasons.setdefault(field, next(iter(exc.reasons.values()), exc.message))
        return None


def _refusal(reasons: dict[str, str]) -> DomainError:
    """Every collected reason in one refusal, so the form shows them all together."""
    return DomainError(_("请更正标出的内容。"), reasons)


def _check_username(username: str) -> str:
    login = username.strip().lower()
    if not login:
        raise _field_error("username", _("请输入用户名。"))
    if not USERNAME_RE.match(login):
        raise _field_error("username", _("用户名须以字母开头，3至40位，只能包含小写字母、数字、下划线、点和连字符。"))
    if db.session.execute(sa.select(User.id).where(User.username == login)).first():
        raise _field_error("username", _("该用户名已被使用。"))
    return login


def create_staff(
    *, role: Role, username: str, real_name: str, mobile: str, password: str, organisation_id: int | None
) -> User:
    """Administrator: create a staff account bound to the organisation its role needs; every fault is reported."""
    reasons: dict[str, str] = {}
    if role not in STAFF_ROLES:
        reasons["role"] = _("只能在这里创建工作人员账号；学员请自行注册。")
    login = _collect(reasons, "username", lambda: _check_username(username))
    name = _collect(reasons, "real_name", lambda: _check_name(real_name))
    phone = _collect(reasons, "mobile", lambda: _check_mobile(mobile))
    org = _collect(reasons, "organisation_id", lambda: _check_binding(role, organisation_id))
    personal = (login or username.strip().lower(), phone or normalise(mobile))
    _collect(reasons, "password", lambda: check_password_policy(password, personal=personal))
    if reasons:
        raise _refusal(reasons)
    user = User(
        role=role,
        username=login,
        real_name=name,
        mobile=phone,
        password_hash=hash_password(password),
        organisation_id=org.id if org else None,
    )
    db.session.add(user)
    flush_unique(_("该用户名已被使用。"), "username")
    record_event(
        "user.created",
        object_type="user",
        object_id=user.id,
        details={"role": role.value, "organisation": user.organisation_id},
    )
    return user


def _refuse_losing_last_admin(user: User) -> None:
    """The platform must keep at least one enabled administrator."""
    if user.role != Role.ADMIN or not user.is_active:
        return
    others = db.session.execute(
        sa.select(sa.func.count(User.id)).where(User.role == Role.ADMIN, User.is_active.is_(True), User.id != user.id)
    ).scalar_one()
    if others == 0:
        raise _field_error("role", _("这是唯一启用的管理员账号，不能停用或改为其他角色。"))


def update_staff(
    *, user: User, role: Role, real_name: str, mobile: str, organisation_id: int | None, by: User | None = None
) -> User:
    """Administrator: change a staff account's role, binding or contact data; role changes are audited."""
    reasons: dict[str, str] = {}
    if user.role == Role.TRAINEE or role not in STAFF_ROLES:
        reasons["role"] = _("学员账号的角色不能在这里修改。")
    elif role != user.role:
        if by is not None and by.id == user.id:
            reasons["role"] = _("不能修改自己的角色，请由另一名管理员操作。")
        else:
            _collect(reasons, "role", lambda: _refuse_losing_last_admin(user))
    name = _collect(reasons, "real_name", lambda: _check_name(real_name))
    phone = _collect(reasons, "mobile", lambda: _check_mobile(mobile))
    org = _collect(reasons, "organisation_id", lambda: _check_binding(role, organisation_id))
    if reasons or name is None or phone is None:
        raise _refusal(reasons)
    before = {"role": user.role.value, "organisation": user.organisation_id}
    user.role, user.real_name, user.mobile = role, name, phone
    user.organisation_id = org.id if org else None
    after = {"role": role.value, "organisation": user.organisation_id}
    if before != after:
        record_event(
            "user.role_changed", object_type="user", object_id=user.id, details={"before": before, "after": after}
        )
        revoke_user_sessions(user=user, reason="role_changed")
    db.session.flush()
    return user


def set_user_active(*, user: User, active: bool, by: User | None) -> None:
    """Administrator (or the command line, by=None): disable, ending every session at once, or re-enable."""
    if by is not None and user.id == by.id and not active:
        raise DomainError(_("不能停用自己的账号。"))
    if user.is_active == active:
        return
    if not active:
        _refuse_losing_last_admin(user)
    user.is_active = active
    if not active:
        revoke_user_sessions(user=user, reason="disabled")
    record_event("user.enabled" if active else "user.disabled", object_type="user", object_id=user.id)
    db.session.flush()


def set_user_password(*, user: User, password: str) -> None:
    """Administrator: set a new password for someone who lost theirs; their sessions end."""
    check_password_policy(password, personal=(user.id_number or "", user.mobile, user.username or ""))
    user.password_hash = hash_password(password)
    revoke_user_sessions(user=user, reason="password_reset")
    record_event("user.password_reset", object_type="user", object_id=user.id)
    db.session.flush()


def get_user(user_id: int) -> User:
    """A user by id, or NotFoundError."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError(_("用户不存在。"))
    return user


def list_users(*, role: Role | None = None, search: str = "", page: int = 1, per_page: int = 50) -> Page[User]:
    """Users filtered by role and a name/account search, one page, with the total count."""
    query = sa.select(User)
    if role is not None:
        query = query.where(User.role == role)
    term = search.strip()
    if term:
        query = query.where(
            sa.or_(
                User.real_name.contains(term, autoescape=True),
                User.username.contains(term.lower(), autoescape=True),
                User.id_number == normalise(term),
            )
        )
    return paginate(db.session, query.order_by(User.id.desc()), page=page, per_page=per_page)


def save_organisation(
    *, org: Organisation | None, kind: OrgKind, name: str, address: str, contact: str, authority_id: int | None
) -> Organisation:
    """Administrator: create or edit an organisation; exam centres and providers name their authority.

    Every rule is checked before anything is refused, so the form shows all faults at once.
    """
    reasons: dict[str, str] = {}
    clean = name.strip()
    taken = _("已有同名机构。")
    if not clean:
        reasons["name"] = _("请输入机构名称。")
    elif len(clean) > ORG_NAME_MAX:
        reasons["name"] = _("机构名称不能超过%(n)d个字符。", n=ORG_NAME_MAX)
    else:
        query = sa.select(Organisation.id).where(Organisation.name == clean)
        if org is not None:
            query = query.where(Organisation.id != org.id)
        if db.session.execute(query).first():
            reasons["name"] = taken
    if len(address.strip()) > ORG_ADDRESS_MAX:
        reasons["address"] = _("地址不能超过%(n)d个字符。", n=ORG_ADDRESS_MAX)
    if len(contact.strip()) > ORG_CONTACT_MAX:
        reasons["contact"] = _("联系方式不能超过%(n)d个字符。", n=ORG_CONTACT_MAX)
    authority = None
    if kind != OrgKind.AUTHORITY:
        authority = db.session.get(Organisation, authority_id) if authority_id else None
        if authority is None or authority.kind != OrgKind.AUTHORITY:
            reasons["authority_id"] = _("请选择所属发证机关。")
    if org is not None and org.kind != kind:
        bound = db.session.execute(sa.select(User.id).where(User.organisation_id == org.id)).first()
        if bound:
            reasons["kind"] = _("该机构已有工作人员，不能更改机构类型。")
    if reasons:
        raise _refusal(reasons)
    if org is None:
        org = Organisation(kind=kind, name=clean)
        db.session.add(org)
    org.kind, org.name, org.address, org.contact = kind, clean, address.strip(), contact.strip()
    org.authority_id = authority.id if authority else None
    flush_unique(taken, "name")
    record_event(
        "organisation.saved", object_type="organisation", object_id=org.id, details={"name": clean, "kind": kind.value}
    )
    return org


def list_organisations(kind: OrgKind | None = None) -> list[Organisation]:
    """Organisations, optionally of one kind, by name."""
    query = sa.select(Organisation).order_by(Organisation.kind, Organisation.name)
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    return list(db.session.execute(query).scalars())


def visible_organisation(*, viewer: User, org_id: int) -> Organisation:
    """An organisation the viewer may see: administrators any, staff only their own."""
    org = db.session.get(Organisation, org_id)
    if org is None or (viewer.role != Role.ADMIN and viewer.organisation_id != org.id):
        raise NotFoundError(_("机构不存在。"))
    return org


def organisation_staff(org: Organisation) -> list[User]:
    """Staff accounts bound to an organisation."""
    query = sa.select(User).where(User.organisation_id == org.id).order_by(User.role, User.real_name)
    return list(db.session.execute(query).scalars())


def users_by_id(ids: Collection[int]) -> dict[int, User]:
    """The users with these ids (unknown ids are left out), for pages that name many people at once."""
    if not ids:
        return {}
    rows = db.session.execute(sa.select(User).where(User.id.in_(list(ids)))).scalars()
    return {user.id: user for user in rows}


def organisations_by_id(ids: Collection[int]) -> dict[int, Organisation]:
    """The organisations with these ids (unknown ids are left out)."""
    if not ids:
        return {}
    rows = db.session.execute(sa.select(Organisation).where(Organisation.id.in_(list(ids)))).scalars()
    return {org.id: org for org in rows}
