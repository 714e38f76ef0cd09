"""Certificate forms: shape only."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from opcert.certificates.applications_models import REFUSAL_REASONS, Delivery
from opcert.forms import WebForm


class NumberVerifyForm(WebForm):
    """Verification by certificate number and name."""

    number = StringField(
        _l("证号"), validators=[DataRequired(message=_l("请输入证号。")), Length(max=19, message=_l("证号为19位。"))]
    )
    name = StringField(
        _l("姓名"), validators=[DataRequired(message=_l("请输入姓名。")), Length(max=30, message=_l("姓名过长。"))]
    )
    submit = SubmitField(_l("查询"))


class QrVerifyForm(WebForm):
    """Verification by the QR code: its text (scanned or pasted), or a photo of it."""

    text = TextAreaField(_l("二维码内容"), validators=[Optional(), Length(max=2000, message=_l("二维码内容过长。"))])
    image = FileField(_l("或上传二维码图片（JPEG或PNG）"))
    submit = SubmitField(_l("核验二维码"))


class MailFields(WebForm):
    """The delivery of a card, as in the first application."""

    delivery = RadioField(
        _l("领证方式"),
        choices=lambda: [(d.value, d.label) for d in Delivery],
        default="electronic",
        validators=[DataRequired(message=_l("请选择领证方式。"))],
    )
    address = StringField(_l("邮寄地址"), validators=[Optional(), Length(max=200, message=_l("地址过长。"))])
    recipient = StringField(_l("收件人"), validators=[Optional(), Length(max=30, message=_l("收件人姓名过长。"))])
    phone = StringField(_l("收件人电话"), validators=[Optional(), Length(max=20, message=_l("电话过长。"))])


class ApplyForm(MailFields):
    """The application: the signed commitment and the delivery (everything else is prefilled)."""

    signed = BooleanField(_l("本人已阅读并签署以上告知承诺"))
    submit = SubmitField(_l("提交申请"))


class ActionForm(WebForm):
    """A review action without fields (accept, approve)."""

    submit = SubmitField(_l("确定"))


class ReturnForm(WebForm):
    """Return for correction: one correction a line, all at once."""

    corrections = TextAreaField(
        _l("需要补正的内容（每行一条，一次列全）"),
        validators=[DataRequired(message=_l("请逐条列出需要补正的全部内容。")), Length(max=4000)],
    )
    submit = SubmitField(_l("退回补正"))


class RefuseForm(WebForm):
    """Refusal: a reason code and its explanation."""

    code = SelectField(_l("不予发证理由"), choices=lambda: list(REFUSAL_REASONS.items()))
    text = TextAreaField(
        _l("具体理由"), validators=[DataRequired(message=_l("请写明不予发证的具体理由。")), Length(max=4000)]
    )
    submit = SubmitField(_l("不予发证"))


class ApproveForm(WebForm):
    """Approval; for a review or extension, the officer may apply the 6-year rule."""

    six_years = BooleanField(_l("适用每6年复审一次（连续从业10年以上且无不良记录）"))
    submit = SubmitField(_l("批准"))


class RenewalForm(MailFields):
    """The review (复审) or extension (延期复审) application: the commitment and the 6-year rule's declaration."""

    signed = BooleanField(_l("本人已阅读并签署以上告知承诺"))
    work_years = IntegerField(
        _l("在本工种连续从业年限（年，可不填）"),
        validators=[Optional(), NumberRange(min=0, max=60, message=_l("连续从业年限应在0到60年之间。"))],
    )
    employer = StringField(_l("用人单位"), validators=[Optional(), Length(max=100, message=_l("单位名称过长。"))])
    submit = SubmitField(_l("提交申请"))


class ReissueForm(MailFields):
    """The reissue (补办) of a lost or damaged card."""

    reason = TextAreaField(
        _l("补办原因"),
        validators=[
            DataRequired(message=_l("请写明补办原因（如遗失、损毁）。")),
            Length(max=200, message=_l("原因过长。")),
        ],
    )
    submit = SubmitField(_l("申请补办"))


class DayField(DateField):
    """A date (YYYY-MM-DD) whose parse error is in the user's language."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse the date, or say in Chinese that it is not one."""
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("日期格式不正确，请按“年-月-日”填写。"))) from None


class SanctionForm(WebForm):
    """A sanction's confirmation: the legal ground, the facts, a suspension's end, the officer's confirmation."""

    ground = SelectField(_l("法律依据"), validate_choice=False)
    text = TextAreaField(
        _l("具体事实和理由"),
        validators=[DataRequired(message=_l("请写明具体事实和理由。")), Length(max=500, message=_l("理由过长。"))],
    )
    until = DayField(_l("暂扣截止日期"), validators=[Optional()])
    confirm = BooleanField(
        _l("我已核实以上事实和依据，确认执行"), validators=[DataRequired(message=_l("请勾选确认。"))]
    )
    submit = SubmitField(_l("确认"))


class CancellationRequestForm(WebForm):
    """The holder's request to cancel their certificate: an optional explanation and the confirmation."""

    text = TextAreaField(_l("说明（可不填）"), validators=[Optional(), Length(max=500, message=_l("说明过长。"))])
    confirm = BooleanField(
        _l("本人申请注销该证书，知悉注销后证书不再有效"), validators=[DataRequired(message=_l("请勾选确认。"))]
    )
    submit = SubmitField(_l("提交注销申请"))
