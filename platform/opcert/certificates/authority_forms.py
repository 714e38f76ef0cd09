"""Forms of the competent authority's pages (routing rules, service guides): shape only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from opcert.certificates.authority_models import Matter
from opcert.certificates.guides import SECTIONS
from opcert.certificates.routing import DISTRICTS
from opcert.forms import WebForm

ANY = _l("任意")


class RuleForm(WebForm):
    """A routing rule: conditions left at 任意 match everything (choices of ids are filled by the view)."""

    matter = SelectField(
        _l("办理事项"), choices=lambda: [("", ANY), *((m.value, m.label) for m in Matter)], validators=[Optional()]
    )
    category_id = SelectField(_l("作业类别"), coerce=int, validators=[Optional()])
    item_id = SelectField(_l("操作项目"), coerce=int, validators=[Optional()])
    district = SelectField(_l("申请人所在区"), choices=lambda: [("", ANY), *DISTRICTS.items()], validators=[Optional()])
    authority_id = SelectField(
        _l("办理机关"), coerce=int, validators=[DataRequired(message=_l("请选择一个启用中的发证机关。"))]
    )
    note = StringField(_l("依据或说明"), validators=[Optional(), Length(max=200, message=_l("说明过长。"))])
    submit = SubmitField(_l("保存规则"))


class GuideForm(WebForm):
    """Every section of a service guide, and what the change is."""

    conditions = TextAreaField(SECTIONS["conditions"], validators=[Length(max=5000)])
    materials = TextAreaField(SECTIONS["materials"], validators=[Length(max=5000)])
    time_limit = TextAreaField(SECTIONS["time_limit"], validators=[Length(max=2000)])
    fees = TextAreaField(SECTIONS["fees"], validators=[Length(max=2000)])
    delivery = TextAreaField(SECTIONS["delivery"], validators=[Length(max=2000)])
    faq = TextAreaField(
        SECTIONS["faq"],
        description=_l("每个问题一行“问：……”，其后一行或多行“答：……”。"),
        validators=[Length(max=10000)],
    )
    note = StringField(_l("修改说明"), validators=[Optional(), Length(max=200, message=_l("说明过长。"))])
    submit = SubmitField(_l("保存为新版本"))
