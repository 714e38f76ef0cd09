"""Theory-exam forms: shape only; the rules live in exams.cbt.services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from opcert.forms import WebForm


class SignInForm(WebForm):
    """A candidate at the seat: the ticket number and the ID number."""

    ticket = StringField(_l("准考证号"), validators=[DataRequired(message=_l("请填写准考证号。")), Length(max=40)])
    id_number = StringField(
        _l("身份证号码"), validators=[DataRequired(message=_l("请填写身份证号码。")), Length(max=30)]
    )
    terminal = StringField(_l("终端编号"), validators=[Optional(), Length(max=60)])
    submit = SubmitField(_l("登录考试"))


class ReasonForm(WebForm):
    """An invigilator's action on one candidate, with its reason."""

    reason = TextAreaField(_l("理由"), validators=[DataRequired(message=_l("请写明理由。")), Length(max=300)])
    submit = SubmitField(_l("确定"))


class ExtendForm(ReasonForm):
    """More time for one candidate."""

    minutes = IntegerField(
        _l("延长（分钟）"),
        validators=[
            InputRequired(message=_l("请填写延长的分钟数。")),
            NumberRange(min=1, max=120, message=_l("延长时间应在1至120分钟之间。")),
        ],
    )
