"""Photo forms: shape only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import DataRequired

from opcert.forms import WebForm


class UploadForm(WebForm):
    """A person's own photo, when the library has none."""

    photo = FileField(
        _l("照片（JPEG或PNG，本人近期正面免冠）"), validators=[FileRequired(message=_l("请选择照片文件。"))]
    )
    submit = SubmitField(_l("上传照片"))


class ConsentForm(WebForm):
    """Separate consent to face processing."""

    agree = BooleanField(
        _l("我已阅读并同意上述人脸信息处理规则"),
        validators=[DataRequired(message=_l("如不同意，可在考试入场时由工作人员人工核验，无需勾选。"))],
    )
    submit = SubmitField(_l("同意"))


class WithdrawForm(WebForm):
    """Withdraw the consent."""

    submit = SubmitField(_l("撤回同意"))


class StatementForm(WebForm):
    """An administrator's reason for seeing a face photo (sent with the photo's GET request, so no CSRF token)."""

    class Meta:
        csrf = False

    statement = StringField(_l("查看理由"), render_kw={"maxlength": 200})
    submit = SubmitField(_l("查看照片"))
