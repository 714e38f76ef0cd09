"""Calendar forms: shape only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from opcert.calendar.models import DayKind
from opcert.forms import WebForm, WithinYears


class DayForm(WebForm):
    """A holiday or a 调休 working day."""

    day = DateField(_l("日期"), validators=[DataRequired(message=_l("请选择日期。")), WithinYears()])
    kind = RadioField(
        _l("类型"),
        choices=lambda: [(k.value, k.label) for k in DayKind],
        default=DayKind.HOLIDAY.value,
        validators=[DataRequired(message=_l("请选择类型。"))],
    )
    name = StringField(_l("名称"), validators=[DataRequired(message=_l("请填写名称（如“国庆节”）。")), Length(max=40)])
    submit = SubmitField(_l("保存"))
