"""Certificate forms: shape only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

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
