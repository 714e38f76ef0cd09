"""Forms of the mail queue and of 好差评: shape only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from opcert.certificates.mail import COURIERS
from opcert.certificates.ratings import COMMENT_MAX, NOTE_MAX
from opcert.certificates.service_models import RatingLevel
from opcert.forms import WebForm


class SentForm(WebForm):
    """The card is sent: courier and tracking number (its format is checked by the service)."""

    courier = SelectField(_l("快递公司"), choices=lambda: [(code, c.label) for code, c in COURIERS.items()])
    tracking_number = StringField(
        _l("运单号"),
        validators=[DataRequired(message=_l("请填写运单号。")), Length(max=40, message=_l("运单号过长。"))],
    )
    submit = SubmitField(_l("标记为已寄出"))


class ReturnedForm(WebForm):
    """The card came back, and why."""

    reason = StringField(
        _l("退回原因"),
        validators=[
            DataRequired(message=_l("请写明退回原因。")),
            Length(max=200, message=_l("退回原因不能超过200字。")),
        ],
    )
    submit = SubmitField(_l("标记为已退回"))


class AddressForm(WebForm):
    """A corrected address for a returned card (the rules are the application's)."""

    address = StringField(_l("邮寄地址"), validators=[Optional(), Length(max=200, message=_l("地址过长。"))])
    recipient = StringField(_l("收件人"), validators=[Optional(), Length(max=30, message=_l("收件人姓名过长。"))])
    phone = StringField(_l("收件人电话"), validators=[Optional(), Length(max=20, message=_l("电话过长。"))])
    submit = SubmitField(_l("更正地址并重新邮寄"))


class RateForm(WebForm):
    """A rating: one of the five levels and an optional comment."""

    level = RadioField(
        _l("评价"),
        choices=lambda: [(level.value, level.label) for level in RatingLevel],
        validators=[DataRequired(message=_l("请选择评价等级。"))],
    )
    comment = TextAreaField(
        _l("意见和建议（选填）"),
        validators=[Optional(), Length(max=COMMENT_MAX, message=_l("评价内容不能超过300字。"))],
    )
    submit = SubmitField(_l("提交评价"))


class CloseFollowUpForm(WebForm):
    """Closing a follow-up: what was done."""

    note = TextAreaField(
        _l("核实和整改情况"),
        validators=[
            DataRequired(message=_l("请写明核实和整改的情况。")),
            Length(max=NOTE_MAX, message=_l("整改情况不能超过2000字。")),
        ],
    )
    submit = SubmitField(_l("办结"))
