"""Account forms: shape only; the rules live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from opcert.access import STAFF_ROLES, Role
from opcert.accounts.models import OrgKind
from opcert.forms import WebForm


def _required(label: str) -> DataRequired:
    return DataRequired(message=_l("请填写%(label)s。", label=label))


def _max(n: int) -> Length:
    return Length(max=n, message=_l("不能超过%(n)d个字符。", n=n))


class RegisterForm(WebForm):
    """Trainee self-registration."""

    real_name = StringField(_l("姓名"), validators=[_required(_l("姓名")), _max(30)])
    id_number = StringField(_l("居民身份证号码"), validators=[_required(_l("身份证号码")), _max(20)])
    mobile = StringField(_l("手机号码"), validators=[_required(_l("手机号码")), _max(20)])
    password = PasswordField(_l("密码"), validators=[_required(_l("密码")), _max(128)])
    confirm = PasswordField(
        _l("确认密码"),
        validators=[_required(_l("确认密码")), EqualTo("password", message=_l("两次输入的密码不一致。"))],
    )
    submit = SubmitField(_l("注册"))


class LoginForm(WebForm):
    """Account name (ID number or username) and password."""

    account = StringField(_l("账号（身份证号码或用户名）"), validators=[_required(_l("账号")), _max(40)])
    password = PasswordField(_l("密码"), validators=[_required(_l("密码")), _max(128)])
    submit = SubmitField(_l("登录"))


class TotpForm(WebForm):
    """A six-digit code from the authenticator app."""

    code = StringField(
        _l("动态验证码"),
        validators=[_required(_l("动态验证码")), Length(min=6, max=8, message=_l("请输入6位数字验证码。"))],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )
    submit = SubmitField(_l("验证"))


class ChangePasswordForm(WebForm):
    """Change one's own password."""

    current_password = PasswordField(_l("当前密码"), validators=[_required(_l("当前密码")), _max(128)])
    new_password = PasswordField(_l("新密码"), validators=[_required(_l("新密码")), _max(128)])
    confirm = PasswordField(
        _l("确认新密码"),
        validators=[_required(_l("确认新密码")), EqualTo("new_password", message=_l("两次输入的密码不一致。"))],
    )
    submit = SubmitField(_l("修改密码"))


def staff_role_choices() -> list[tuple[str, str]]:
    """Roles an administrator can give (never trainee)."""
    return [(r.value, r.label) for r in Role if r in STAFF_ROLES]


# The staff and organisation forms check only what the service cannot (the choices offered): the service checks
# every other rule at once, so a submission with several faults shows all of them together, not one per attempt.
REQUIRED = {"required": True}


class StaffForm(WebForm):
    """Create or edit a staff account."""

    username = StringField(_l("用户名"), render_kw=REQUIRED)
    real_name = StringField(_l("姓名"), render_kw=REQUIRED)
    mobile = StringField(_l("手机号码"), render_kw=REQUIRED)
    role = SelectField(_l("角色"), validators=[_required(_l("角色"))])
    organisation_id = SelectField(_l("所属机构"), coerce=int, validators=[Optional()])
    password = PasswordField(_l("初始密码"), render_kw=REQUIRED)
    submit = SubmitField(_l("保存"))


class SetPasswordForm(WebForm):
    """Administrator sets a new password."""

    password = PasswordField(_l("新密码"), validators=[_required(_l("新密码")), _max(128)])
    submit = SubmitField(_l("重置密码"))


class OrganisationForm(WebForm):
    """Create or edit an organisation."""

    kind = SelectField(_l("机构类型"), choices=lambda: [(k.value, k.label) for k in OrgKind])
    name = StringField(_l("机构名称"), render_kw=REQUIRED)
    address = StringField(_l("地址"))
    contact = StringField(_l("联系方式"))
    authority_id = SelectField(_l("所属发证机关"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("保存"))
