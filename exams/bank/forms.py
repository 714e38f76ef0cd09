"""Question bank forms: shape only; the rules live in services and the importer."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import FieldList, Form, FormField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from exams.bank.importer import FIELDS
from exams.bank.models import KIND_LABELS, OPTION_LETTERS, STATUS_LABELS, Question, QuestionKind
from exams.bank.services import BlueprintSpec, RowSpec
from opcert.forms import WebForm


def _kind_choices() -> list[tuple[str, object]]:
    return [(kind.value, label) for kind, label in KIND_LABELS.items()]


def _status_choices() -> list[tuple[str, object]]:
    return [(status.value, label) for status, label in STATUS_LABELS.items()]


def _difficulty_choices() -> list[tuple[str, str]]:
    return [(str(n), str(n)) for n in range(1, 6)]


class ImportForm(WebForm):
    """A CSV or XLSX file of questions."""

    file = FileField(_l("题库文件（.csv 或 .xlsx）"), validators=[FileRequired(message=_l("请选择要导入的文件。"))])
    submit = SubmitField(_l("导入"))


class QuestionForm(WebForm):
    """One question; field names follow the file format so the importer's messages land on them."""

    kind = SelectField(_l("题型"), choices=_kind_choices)
    stem = TextAreaField(_l("题干"), render_kw={"rows": 3})
    A = StringField(_l("选项A"))
    B = StringField(_l("选项B"))
    C = StringField(_l("选项C"))
    D = StringField(_l("选项D"))
    E = StringField(_l("选项E"))
    F = StringField(_l("选项F"))
    answer = StringField(_l("答案（判断题填“对”或“错”，选择题填字母，如A或ACD）"))
    knowledge_point = StringField(_l("知识点"), validators=[Length(max=60)])
    difficulty = SelectField(_l("难度（1易—5难）"), choices=_difficulty_choices, default="3")
    explanation = TextAreaField(_l("解析"), render_kw={"rows": 2})
    status = SelectField(_l("状态"), choices=_status_choices)
    submit = SubmitField(_l("保存"))

    @classmethod
    def showing(cls, question: Question) -> QuestionForm:
        """The form filled from a stored question, ignoring the request (for pages that show it again)."""
        form = cls(formdata=None)
        form.kind.data, form.stem.data, form.status.data = question.kind.value, question.stem, question.status.value
        for letter, text in zip(OPTION_LETTERS, question.option_list, strict=False):
            form[letter].data = text
        if question.kind == QuestionKind.TRUE_FALSE:
            form.answer.data = "对" if question.answer == "T" else "错"
        else:
            form.answer.data = question.answer
        form.knowledge_point.data, form.difficulty.data = question.knowledge_point, str(question.difficulty)
        form.explanation.data = question.explanation
        return form

    def values(self) -> dict[str, str]:
        """The raw texts by file-format column, for the same checks as an import row."""
        return {name: str(self[name].data or "") for name in FIELDS}


class QuestionImageForm(WebForm):
    """Attach or replace a question's image (JPEG or PNG)."""

    image = FileField(
        _l("题目图片（JPEG或PNG）"),
        validators=[FileRequired(message=_l("请选择要上传的图片。"))],
        render_kw={"accept": "image/jpeg,image/png"},
    )
    submit = SubmitField(_l("上传图片"))


class RemoveImageForm(WebForm):
    """Remove a question's image."""

    submit = SubmitField(_l("删除图片"))


class StatusForm(WebForm):
    """Change a question's status."""

    status = SelectField(_l("状态"), choices=_status_choices)
    submit = SubmitField(_l("更改状态"))


class BlueprintRowForm(Form):
    """One row of a blueprint; a row with no count is ignored."""

    kind = SelectField(_l("题型"), choices=_kind_choices)
    knowledge_point = StringField(_l("知识点（空为不限）"), validators=[Length(max=60)])
    count = IntegerField(_l("题数"), validators=[Optional(), NumberRange(min=0, max=500)])
    points = IntegerField(_l("每题分值"), default=1, validators=[Optional(), NumberRange(min=1, max=100)])


class BlueprintForm(WebForm):
    """An item's paper make-up."""

    rows = FieldList(FormField(BlueprintRowForm), min_entries=1)
    duration_minutes = IntegerField(_l("考试时长（分钟）"), validators=[InputRequired(message=_l("请填写整数。"))])
    pass_mark = IntegerField(_l("合格分"), validators=[InputRequired(message=_l("请填写整数。"))])
    submit = SubmitField(_l("保存"))

    def show(self, spec: BlueprintSpec) -> None:
        """Fill the form from the blueprint in force, with two blank rows to add to it."""
        self.duration_minutes.data, self.pass_mark.data = spec.duration_minutes, spec.pass_mark
        while self.rows.entries:
            self.rows.pop_entry()
        for row in spec.rows:
            self.rows.append_entry(
                {
                    "kind": row.kind.value,
                    "knowledge_point": row.knowledge_point,
                    "count": row.count,
                    "points": row.points,
                }
            )
        for _blank in range(2):
            self.rows.append_entry({"points": 1})

    def row_specs(self) -> list[RowSpec]:
        """The rows as the bank service's values (rows without a count are dropped there)."""
        return [
            RowSpec(
                kind=QuestionKind(entry.form.kind.data),
                knowledge_point=entry.form.knowledge_point.data or "",
                count=entry.form.count.data or 0,
                points=entry.form.points.data or 1,
            )
            for entry in self.rows
        ]


class GenerateForm(WebForm):
    """Draw a sample paper."""

    submit = SubmitField(_l("生成样卷"))
