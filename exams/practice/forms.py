"""Practice and mock-exam forms: shape only; the letters are checked against the question in the services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, SelectMultipleField, SubmitField
from wtforms.validators import InputRequired, Length, NumberRange

from opcert.forms import WebForm

MAX_ID = 2**31 - 1


def _id_field(message: str) -> IntegerField:
    return IntegerField(validators=[InputRequired(message=message), NumberRange(min=0, max=MAX_ID, message=message)])


class ChoiceField(SelectMultipleField):
    """The letters ticked (one radio button, or several check boxes); which are valid depends on the question."""

    def pre_validate(self, form: object) -> None:
        """Every value is accepted here; the service names the ones that are not options."""


class PracticeAnswerForm(WebForm):
    """One practice answer; `after` is the trainee's latest answer to the question when the page was shown."""

    question_id = _id_field(_l("题目编号无效，请返回重新开始练习。"))
    after = _id_field(_l("页面已过期，请返回重新开始练习。"))
    point = HiddenField(validators=[Length(max=60)])
    choice = ChoiceField(_l("答案"), choices=[], validate_choice=False)
    submit = SubmitField(_l("提交答案"))


class MockAnswerForm(WebForm):
    """The answer to one question of a mock exam."""

    question_id = _id_field(_l("题目编号无效，请返回试卷重新作答。"))
    choice = ChoiceField(_l("答案"), choices=[], validate_choice=False)
    submit = SubmitField(_l("保存，下一题"))


class SubmitMockForm(WebForm):
    """Hand the mock exam in."""

    submit = SubmitField(_l("交卷"))


class StartMockForm(WebForm):
    """Start (or resume) a mock exam."""

    submit = SubmitField(_l("开始模拟考试"))
