"""Check-in desk forms: shape only; the rules live in exams.checkin.services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import MultipleFileField, PasswordField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from opcert.forms import WebForm


class ScanForm(WebForm):
    """What a handheld scanner types (the ticket's QR text), or a typed 准考证号 or ID number."""

    scanned = StringField(
        _l("准考证二维码 / 准考证号 / 身份证号码"),
        validators=[DataRequired(message=_l("请扫描准考证二维码，或输入准考证号或身份证号码。")), Length(max=400)],
    )
    submit = SubmitField(_l("查找考生"))


class CaptureForm(WebForm):
    """A burst of frames from the desk's camera (or photos taken with a phone)."""

    frames = MultipleFileField(_l("现场照片"))
    submit = SubmitField(_l("拍摄并核验"))


class ManualForm(WebForm):
    """A staff member's check against the ID card, with the capture that becomes the exam's photo."""

    photo = FileField(_l("现场照片"), validators=[FileRequired(message=_l("请拍摄考生的现场照片。"))])
    reason = TextAreaField(_l("核对说明"), validators=[DataRequired(message=_l("请写明决定的理由。")), Length(max=300)])
    submit = SubmitField(_l("已核对身份证，准予入场"))


DECISIONS = [("admit", _l("准予入场")), ("refuse", _l("拒绝入场"))]


class ReviewForm(WebForm):
    """The desk's decision after comparing the library photo and the capture."""

    decision = RadioField(_l("决定"), choices=lambda: DECISIONS, validators=[DataRequired(message=_l("请选择决定。"))])
    reason = TextAreaField(_l("理由"), validators=[DataRequired(message=_l("请写明决定的理由。")), Length(max=300)])
    submit = SubmitField(_l("确认决定"))


class SupervisorForm(ReviewForm):
    """A `no_match` decision: a second centre-staff account confirms with its own password."""

    supervisor_account = StringField(
        _l("主管账号"), validators=[DataRequired(message=_l("请填写主管账号。")), Length(max=100)]
    )
    supervisor_password = PasswordField(
        _l("主管密码"), validators=[DataRequired(message=_l("请填写主管密码。")), Length(max=200)]
    )
