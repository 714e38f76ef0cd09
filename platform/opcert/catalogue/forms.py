"""Catalogue forms: shape only; the rules live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length

from opcert.catalogue.models import EDUCATION_LABELS
from opcert.forms import WebForm


def _int(label: str) -> IntegerField:
    return IntegerField(label, validators=[InputRequired(message=_l("请填写整数。"))])


class CategoryForm(WebForm):
    """A category's code and names."""

    code = StringField(_l("类别代码"), validators=[DataRequired(message=_l("请填写代码。")), Length(max=10)])
    name = StringField(_l("名称"), validators=[DataRequired(message=_l("请填写名称。")), Length(max=60)])
    name_en = StringField(_l("英文名称"), validators=[Length(max=120)])
    submit = SubmitField(_l("保存"))


class ItemForm(WebForm):
    """An item's names, hours and exam formats."""

    category_id = SelectField(_l("作业类别"), coerce=int)
    code = StringField(_l("项目代码"), validators=[DataRequired(message=_l("请填写代码。")), Length(max=10)])
    name = StringField(_l("名称"), validators=[DataRequired(message=_l("请填写名称。")), Length(max=60)])
    name_en = StringField(_l("英文名称"), validators=[Length(max=120)])
    offered = BooleanField(_l("本地开考"))
    education = SelectField(_l("学历要求"), choices=lambda: list(EDUCATION_LABELS.items()))
    theory_hours = _int(_l("理论培训学时"))
    practical_hours = _int(_l("实际操作培训学时"))
    review_hours = _int(_l("复审培训学时"))
    theory_true_false = _int(_l("判断题数量"))
    theory_single = _int(_l("单选题数量"))
    theory_multiple = _int(_l("多选题数量"))
    theory_minutes = _int(_l("理论考试时长（分钟）"))
    theory_pass = _int(_l("理论考试合格分"))
    practical_minutes = _int(_l("实际操作考试时长（分钟）"))
    practical_pass = _int(_l("实际操作考试合格分"))
    weight_k1 = _int(_l("K1 安全用具使用（%）"))
    weight_k2 = _int(_l("K2 安全操作技术（%）"))
    weight_k3 = _int(_l("K3 作业现场安全隐患排除（%）"))
    weight_k4 = _int(_l("K4 作业现场应急处置（%）"))
    submit = SubmitField(_l("保存"))
