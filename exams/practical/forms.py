"""Practical-exam forms: shape only; the ranges and the rules live in services."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, SubmitField
from wtforms.validators import DataRequired, Optional

from exams.practical.models import RubricLine
from opcert.forms import WebForm


class AssignExaminerForm(WebForm):
    """Assign an examiner to a practical session."""

    examiner_id = SelectField(_l("考评员"), coerce=int, validators=[DataRequired(message=_l("请选择考评员。"))])
    submit = SubmitField(_l("安排考评员"))


class TaskFileForm(WebForm):
    """Upload a task bank file (TOML, the format of exams/practical/data/tasks.toml)."""

    file = FileField(_l("实操题库文件（.toml）"), validators=[FileRequired(message=_l("请选择要导入的文件。"))])
    submit = SubmitField(_l("导入"))


class MarkingForm(WebForm):
    """An examiner's marks: one number per point line, one box per veto line (fields added per sheet)."""

    save = SubmitField(_l("保存"))
    sign = SubmitField(_l("签字确认（确认后不能修改）"))

    def points(self, lines: Sequence[RubricLine]) -> dict[int, int | None]:
        """The number typed for each point line (None when left empty)."""
        return {line.id: self[f"line_{line.id}"].data for line in lines if not line.is_veto}

    def vetoes(self, lines: Sequence[RubricLine]) -> set[int]:
        """The veto lines ticked."""
        return {line.id for line in lines if line.is_veto and self[f"line_{line.id}"].data}


def marking_form(lines: Sequence[RubricLine]) -> MarkingForm:
    """A MarkingForm with a field for each rubric line of the sheet's drawn tasks."""

    class SheetMarkingForm(MarkingForm):
        pass

    for line in lines:
        if line.is_veto:
            field = BooleanField(_l("否决项：%(text)s", text=line.text))
        else:
            field = IntegerField(
                _l("%(text)s（0–%(max)d分）", text=line.text, max=line.max_points),
                validators=[Optional()],
                render_kw={"inputmode": "numeric"},
            )
        setattr(SheetMarkingForm, f"line_{line.id}", field)
    return SheetMarkingForm()
