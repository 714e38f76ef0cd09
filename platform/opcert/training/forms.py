"""Training forms: shape only; the rules live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional

from opcert.forms import WebForm
from opcert.training.models import CoursePurpose, LessonKind
from opcert.training.services import LessonDraft


class CourseForm(WebForm):
    """A new course: item, purpose, title, description."""

    item_id = SelectField(_l("操作项目"), coerce=int, validators=[InputRequired(message=_l("请选择操作项目。"))])
    purpose = SelectField(
        _l("培训类型"),
        choices=lambda: [(p.value, p.label) for p in CoursePurpose],
        validators=[InputRequired(message=_l("请选择培训类型。"))],
    )
    title = StringField(_l("课程名称"), validators=[InputRequired(message=_l("请填写课程名称。")), Length(max=100)])
    description = TextAreaField(_l("课程简介"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("创建课程"))


class LessonForm(WebForm):
    """A lesson: kind, title, syllabus minutes, and its text or file."""

    kind = SelectField(_l("课时类型"), choices=lambda: [(k.value, k.label) for k in LessonKind])
    title = StringField(_l("课时名称"), validators=[InputRequired(message=_l("请填写课时名称。")), Length(max=100)])
    minutes = IntegerField(
        _l("大纲学时（分钟）"),
        validators=[
            InputRequired(message=_l("请填写课时时长。")),
            NumberRange(min=1, max=100_000, message=_l("课时时长应为1至100000分钟。")),
        ],
    )
    body = TextAreaField(_l("图文内容（可用 p、h3、ul、li、strong 等基本标签）"), validators=[Length(max=100_000)])
    upload = FileField(_l("视频（WebM/MP4）或 PDF 文件"))
    submit = SubmitField(_l("添加课时"))

    def draft(self) -> LessonDraft:
        """The lesson for the service."""
        upload = self.upload.data
        data = upload.read() if upload is not None and hasattr(upload, "read") else b""
        name = getattr(upload, "filename", "") or ""
        return LessonDraft(
            kind=LessonKind(self.kind.data),
            title=self.title.data or "",
            minutes=int(self.minutes.data or 0),
            body=self.body.data or "",
            data=data,
            file_name=name,
        )


class MoveLessonForm(WebForm):
    """Where a lesson goes in its course: the position it should take (the up/down buttons send theirs)."""

    position = IntegerField(
        _l("课时位置"),
        validators=[
            InputRequired(message=_l("请填写课时位置。")),
            NumberRange(min=1, max=10_000, message=_l("课时位置应为1或以上的整数。")),
        ],
    )
    submit = SubmitField(_l("移至"))


class ReviewForm(WebForm):
    """An administrator's decision on a submitted course."""

    decision = SelectField(_l("审核结果"), choices=lambda: [("publish", _l("通过并发布")), ("return", _l("退回修改"))])
    note = TextAreaField(_l("审核意见"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("提交审核结果"))


class EnrolForm(WebForm):
    """A trainee picks an operation item to train for: initial training from the training page, review training
    (复审) from the certificate's renewal page, which posts the purpose."""

    item_id = SelectField(_l("操作项目"), coerce=int, validators=[InputRequired(message=_l("请选择操作项目。"))])
    purpose = HiddenField(
        default=CoursePurpose.INITIAL.value,
        validators=[AnyOf([p.value for p in CoursePurpose], message=_l("培训类型无效，请从页面重新报名。"))],
    )
    submit = SubmitField(_l("报名"))


class AlternativeForm(WebForm):
    """Staff record how they checked a trainee without a face check."""

    note = StringField(
        _l("核验方式"), validators=[InputRequired(message=_l("请写明人工核验的方式。")), Length(max=300)]
    )
    submit = SubmitField(_l("人工核验通过，计入学时"))
