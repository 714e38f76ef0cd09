"""Account pages: thin views over accounts.services."""

from __future__ import annotations

import segno
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response

from opcert.access import AUTHENTICATED, PUBLIC, STAFF_ROLES, Role, allow
from opcert.accounts import services
from opcert.accounts.forms import (
    ChangePasswordForm,
    LoginForm,
    OrganisationForm,
    RegisterForm,
    SetPasswordForm,
    StaffForm,
    TotpForm,
    staff_role_choices,
)
from opcert.accounts.models import Organisation, OrgKind, User
from opcert.db import utcnow
from opcert.errors import DomainError, add_rule_errors, report_refusal, show_errors
from opcert.extensions import db, login_manager
from opcert.forms import ConfirmForm
from opcert.web import page_arg, safe_next

bp = Blueprint("accounts", __name__, template_folder="templates")

PENDING_KEY = "pending_login"


def load_user(token: str) -> User | None:
    """Resolve the cookie's session token against the server-side session table."""
    try:
        user, reason, wrote = services.load_session(token)
        if wrote:
            db.session.commit()
    except OperationalError:
        # Touching last_seen (or ending an idle session) is best effort: a busy embedded database must not fail
        # the page. The same check again, writing nothing.
        db.session.rollback()
        user, reason, _wrote = services.load_session(token, write=False)
    if reason == "idle":
        flash(_("您已长时间未操作，为保护账号安全已自动退出，请重新登录。"), "warning")
    return user


login_manager.user_loader(load_user)


def _client_ip() -> str:
    return request.remote_addr or ""


def clear_session_keeping_language() -> None:
    """Start a fresh cookie session (no fixation), but keep the language the person chose."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _complete_login(user: User) -> Response:
    next_url = safe_next(session.get(PENDING_KEY, {}).get("next")) if PENDING_KEY in session else None
    clear_session_keeping_language()
    services.start_session(user=user, ip=_client_ip(), user_agent=request.headers.get("User-Agent", ""))
    db.session.commit()
    login_user(user)
    session.permanent = True
    flash(_("登录成功，欢迎您，%(name)s。", name=user.real_name), "success")
    return redirect(next_url or url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
@allow(PUBLIC)
def register() -> str | Response:
    """Trainee self-registration; a faulty submission shows every fault at once."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if not form.is_submitted():
        return render_template("accounts/register.html", form=form)
    values = services.Registration(
        real_name=form.real_name.data or "",
        id_number=form.id_number.data or "",
        mobile=form.mobile.data or "",
        password=form.password.data or "",
    )
    if not form.validate():
        # The rules' messages join the form's own, so every fault shows at once (never "already registered").
        add_rule_errors(form, services.registration_problems(**values))
    else:
        try:
            services.register_trainee(**values, ip=_client_ip())
        except DomainError as exc:
            db.session.commit()  # the attempt counter is kept: nothing else has been written
            show_errors(exc, form)
        else:
            db.session.commit()
            flash(_("注册成功，请使用身份证号码和密码登录。"), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
def login() -> str | Response:
    """Password step of the login."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                account=form.account.data or "", password=form.password.data or "", ip=_client_ip()
            )
        except DomainError as exc:
            # Failure counters and the audit row must be kept even though the login is refused.
            db.session.commit()
            show_errors(exc, form)
            return render_template("accounts/login.html", form=form)
        db.session.commit()
        next_url = safe_next(request.args.get("next"))
        if user.needs_two_factor:
            session[PENDING_KEY] = {"uid": user.id, "at": utcnow().timestamp(), "next": next_url}
            if user.totp_secret:
                return redirect(url_for("accounts.verify_totp"))
            return redirect(url_for("accounts.setup_totp"))
        session[PENDING_KEY] = {"next": next_url}
        return _complete_login(user)
    return render_template("accounts/login.html", form=form)


def _pending_user() -> User | None:
    pending = session.get(PENDING_KEY) or {}
    uid, at = pending.get("uid"), pending.get("at")
    if not uid or not at:
        return None
    if utcnow().timestamp() - float(at) > current_app.config["TOTP_PENDING_SECONDS"]:
        session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(User, uid)
    return user if user is not None and user.is_active else None


@bp.route("/login/verify", methods=["GET", "POST"])
@allow(PUBLIC)
def verify_totp() -> str | Response:
    """Second step for officers and administrators: the TOTP code."""
    user = _pending_user()
    if user is None or not user.totp_secret:
        flash(_("登录已超时，请重新输入账号和密码。"), "warning")
        return redirect(url_for("accounts.login"))
    form = TotpForm()
    if form.validate_on_submit():
        try:
            services.verify_totp(user=user, code=form.code.data or "")
        except DomainError as exc:
            db.session.commit()
            show_errors(exc, form)
        else:
            return _complete_login(user)
    return render_template("accounts/totp_verify.html", form=form)


@bp.route("/login/setup-2fa", methods=["GET", "POST"])
@allow(PUBLIC)
def setup_totp() -> str | Response:
    """First login of an officer or administrator: bind an authenticator app."""
    user = _pending_user()
    if user is None or user.totp_secret:
        flash(_("登录已超时，请重新输入账号和密码。"), "warning")
        return redirect(url_for("accounts.login"))
    pending = dict(session[PENDING_KEY])
    secret = pending.get("secret") or services.new_totp_secret()
    if pending.get("secret") != secret:
        pending["secret"] = secret
        session[PENDING_KEY] = pending
    form = TotpForm()
    if form.validate_on_submit():
        try:
            services.confirm_totp_enrolment(user=user, secret=secret, code=form.code.data or "")
        except DomainError as exc:
            db.session.commit()
            show_errors(exc, form)
        else:
            return _complete_login(user)
    uri = services.totp_provisioning_uri(user=user, secret=secret)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4)
    return render_template("accounts/totp_setup.html", form=form, secret=secret, qr_svg=qr_svg)


@bp.route("/logout", methods=["POST"])
@allow(AUTHENTICATED)
def logout() -> Response:
    """End the server-side session and clear the cookie."""
    form = ConfirmForm()
    if form.validate_on_submit() and current_user.session_token:
        services.end_session(token=current_user.session_token)
        db.session.commit()
    logout_user()
    clear_session_keeping_language()
    flash(_("您已安全退出。"), "info")
    return redirect(url_for("main.index"))


@bp.route("/account")
@allow(AUTHENTICATED)
def profile() -> str:
    """One's own account data."""
    return render_template("accounts/profile.html", user=current_user)


@bp.route("/account/sessions")
@allow(AUTHENTICATED)
def sessions() -> str:
    """One's own open sessions."""
    rows = services.list_open_sessions(user=current_user)
    return render_template("accounts/sessions.html", rows=rows, form=ConfirmForm())


@bp.route("/account/sessions/<int:session_id>/revoke", methods=["POST"])
@allow(AUTHENTICATED)
def revoke_session(session_id: int) -> Response:
    """End one of one's own sessions (a lost phone, a shared computer)."""
    form = ConfirmForm()
    if form.validate_on_submit():
        services.revoke_own_session(user=current_user, session_id=session_id)
        db.session.commit()
        flash(_("该会话已结束。"), "success")
    return redirect(url_for("accounts.sessions"))


@bp.route("/account/password", methods=["GET", "POST"])
@allow(AUTHENTICATED)
def change_password() -> str | Response:
    """Change one's own password."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                user=current_user, current=form.current_password.data or "", new=form.new_password.data or ""
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("密码已修改，其他设备上的登录已退出。"), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/password.html", form=form)


@bp.route("/organisations/<int:org_id>")
@allow(*STAFF_ROLES)
def organisation(org_id: int) -> str:
    """An organisation's page: staff see only their own; administrators see all."""
    org = services.visible_organisation(viewer=current_user, org_id=org_id)
    return render_template("accounts/organisation.html", org=org, staff=services.organisation_staff(org))


# --- administration ------------------------------------------------------------------------------


def _org_choices(kinds: tuple[OrgKind, ...] | None = None) -> list[tuple[int, str]]:
    orgs = [o for o in services.list_organisations() if kinds is None or o.kind in kinds]
    return [(0, _("（无）"))] + [(o.id, f"{o.kind.label} / {o.name}") for o in orgs]


def _staff_form(obj: User | None = None) -> StaffForm:
    form = StaffForm(obj=obj)
    form.role.choices = staff_role_choices()
    form.organisation_id.choices = _org_choices()
    if obj is not None and request.method == "GET":
        form.role.data = obj.role.value
        form.organisation_id.data = obj.organisation_id or 0
    return form


@bp.route("/admin/users")
@allow(Role.ADMIN)
def admin_users() -> str:
    """Accounts, filtered by role and search text."""
    role_value = request.args.get("role", "")
    role = Role(role_value) if role_value in {r.value for r in Role} else None
    found = services.list_users(
        role=role, search=request.args.get("q", ""), page=page_arg(), per_page=current_app.config["PAGE_SIZE"]
    )
    return render_template(
        "accounts/admin_users.html",
        users=found.items,
        total=found.total,
        page=found.page,
        pages=found.pages,
        roles=list(Role),
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def admin_new_user() -> str | Response:
    """Create a staff account."""
    form = _staff_form()
    if form.validate_on_submit():
        try:
            user = services.create_staff(
                role=Role(form.role.data),
                username=form.username.data or "",
                real_name=form.real_name.data or "",
                mobile=form.mobile.data or "",
                password=form.password.data or "",
                organisation_id=form.organisation_id.data or None,
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("已创建账号 %(name)s。", name=user.login_name), "success")
            return redirect(url_for("accounts.admin_user", user_id=user.id))
    return render_template("accounts/admin_user_form.html", form=form, user=None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def admin_user(user_id: int) -> str | Response:
    """View an account; edit a staff account's role, binding and contact data."""
    user = services.get_user(user_id)
    form = _staff_form(user)
    del form.password
    del form.username
    if user.role != Role.TRAINEE and form.validate_on_submit():
        try:
            services.update_staff(
                user=user,
                role=Role(form.role.data),
                real_name=form.real_name.data or "",
                mobile=form.mobile.data or "",
                organisation_id=form.organisation_id.data or None,
                by=current_user,
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("账号信息已保存。"), "success")
            return redirect(url_for("accounts.admin_user", user_id=user.id))
    return render_template(
        "accounts/admin_user.html", user=user, form=form, confirm=ConfirmForm(), password_form=SetPasswordForm()
    )


@bp.route("/admin/users/<int:user_id>/active", methods=["POST"])
@allow(Role.ADMIN)
def admin_toggle_active(user_id: int) -> Response:
    """Disable or re-enable an account."""
    user = services.get_user(user_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.set_user_active(user=user, active=not user.is_active, by=current_user)
        except DomainError as exc:
            report_refusal(exc)
        else:
            db.session.commit()
            flash(_("账号已启用。") if user.is_active else _("账号已停用，其所有登录已失效。"), "success")
    return redirect(url_for("accounts.admin_user", user_id=user_id))


@bp.route("/admin/users/<int:user_id>/reset-2fa", methods=["POST"])
@allow(Role.ADMIN)
def admin_reset_totp(user_id: int) -> Response:
    """Unbind an account's authenticator app."""
    user = services.get_user(user_id)
    if ConfirmForm().validate_on_submit():
        services.reset_totp(user=user)
        db.session.commit()
        flash(_("已解除动态验证码绑定，该用户下次登录时需重新绑定。"), "success")
    return redirect(url_for("accounts.admin_user", user_id=user_id))


@bp.route("/admin/users/<int:user_id>/password", methods=["POST"])
@allow(Role.ADMIN)
def admin_set_password(user_id: int) -> str | Response:
    """Set a new password for an account."""
    user = services.get_user(user_id)
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            services.set_user_password(user=user, password=form.password.data or "")
        except DomainError as exc:
            report_refusal(exc)
        else:
            db.session.commit()
            flash(_("密码已重置，该用户的所有登录已失效。"), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
    return redirect(url_for("accounts.admin_user", user_id=user_id))


@bp.route("/admin/organisations")
@allow(Role.ADMIN)
def admin_organisations() -> str:
    """Authorities, exam centres and training providers."""
    return render_template("accounts/admin_organisations.html", orgs=services.list_organisations())


def _org_form(obj: Organisation | None = None) -> OrganisationForm:
    form = OrganisationForm(obj=obj)
    form.authority_id.choices = _org_choices((OrgKind.AUTHORITY,))
    if obj is not None and request.method == "GET":
        form.kind.data = obj.kind.value
        form.authority_id.data = obj.authority_id or 0
    return form


@bp.route("/admin/organisations/new", methods=["GET", "POST"], defaults={"org_id": None})
@bp.route("/admin/organisations/<int:org_id>/edit", methods=["GET", "POST"])
@allow(Role.ADMIN)
def admin_organisation_form(org_id: int | None) -> str | Response:
    """Create or edit an organisation."""
    org = db.session.get(Organisation, org_id) if org_id is not None else None
    if org_id is not None and org is None:
        abort(404)
    form = _org_form(org)
    if form.validate_on_submit():
        try:
            saved = services.save_organisation(
                org=org,
                kind=OrgKind(form.kind.data),
                name=form.name.data or "",
                address=form.address.data or "",
                contact=form.contact.data or "",
                authority_id=form.authority_id.data or None,
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("机构信息已保存。"), "success")
            return redirect(url_for("accounts.organisation", org_id=saved.id))
    return render_template("accounts/admin_organisation_form.html", form=form, org=org)
