"""Session and booking forms: shape only; the rules live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from exams.sessions.models import ExamPart, RoomLayout, SessionStatus
from opcert.catalogue.models import Education

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _required(label: str) -> InputRequired:
    return InputRequired(message=_l("请填写%(label)s。", label=label))


def _when(label: str) -> DateTimeLocalField:
    return DateTimeLocalField(
        label, format=LOCAL_FORMAT, validators=[DataRequired(message=_l("请填写%(label)s。", label=label))]
    )


class BookForm(FlaskForm):
    """Book a seat (or join the waitlist) for one of the session's items."""

    item_id = SelectField(_l("操作项目"), coerce=int, validators=[DataRequired(message=_l("请选择操作项目。"))])
    submit = SubmitField(_l("预约"))


class RescheduleForm(FlaskForm):
    """Move a booking to another session."""

    session_id = SelectField(_l("新场次"), coerce=int, validators=[DataRequired(message=_l("请选择新场次。"))])
    submit = SubmitField(_l("改约"))


class CommitmentForm(FlaskForm):
    """The commitment (告知承诺): each statement ticked, the education level, the signature."""

    healthy = BooleanField(_l("本人身体健康，能够适应所申请的特种作业。"))
    no_disqualifying_illness = BooleanField(
        _l(
            "本人无妨碍从事特种作业的器质性心脏病、癫痫病、美尼尔氏症、眩晕症、癔病、震颤麻痹症、精神病、痴呆症及其他疾病和生理缺陷。"
        )
    )
    education = SelectField(
        _l("本人学历"),
        choices=lambda: [
            ("", _l("请选择")),
            ("below", _l("初中以下")),
            (Education.JUNIOR.value, _l("初中")),
            (Education.SENIOR.value, _l("高中（含中专）及以上")),
        ],
        validators=[DataRequired(message=_l("请选择学历。"))],
    )
    lives_or_works_in_city = BooleanField(_l("本人在本市居住或工作。"))
    truthful = BooleanField(_l("本人所填信息真实、准确，知悉虚假承诺的后果。"))
    signed_name = StringField(
        _l("签名（请输入本人姓名）"),
        validators=[DataRequired(message=_l("请输入本人姓名作为签名。")), Length(max=30)],
    )
    submit = SubmitField(_l("签署承诺"))


class RoomForm(FlaskForm):
    """A room of an exam centre."""

    name = StringField(_l("考场名称"), validators=[_required(_l("考场名称")), Length(max=60)])
    layout = SelectField(_l("考场类型"), choices=lambda: [(k.value, k.label) for k in RoomLayout])
    seats = IntegerField(_l("座位数"), validators=[_required(_l("座位数")), NumberRange(min=1, max=1000)])
    seats_per_row = IntegerField(
        _l("每排座位数"), default=10, validators=[_required(_l("每排座位数")), NumberRange(min=1, max=100)]
    )
    is_active = BooleanField(_l("启用"), default=True)
    submit = SubmitField(_l("保存"))


class SessionForm(FlaskForm):
    """A session: room, items, part, time (Beijing time), capacity, booking window, cancellation deadline."""

    part = SelectField(_l("考试类型"), choices=lambda: [(k.value, k.label) for k in ExamPart])
    item_ids = SelectMultipleField(
        _l("操作项目"),
        coerce=int,
        validators=[DataRequired(message=_l("请至少选择一个操作项目。"))],
        description=_l("按住Ctrl键（Mac上按⌘键）再点击，可选择或取消多个项目；按住Shift键点击可选择连续的一段。"),
    )
    room_id = SelectField(_l("考场"), coerce=int, validators=[DataRequired(message=_l("请选择考场。"))])
    starts_at = _when(_l("开考时间"))
    duration_minutes = IntegerField(
        _l("考试时长（分钟）"), default=120, validators=[_required(_l("考试时长")), NumberRange(min=1, max=600)]
    )
    capacity = IntegerField(_l("容量（人）"), validators=[_required(_l("容量")), NumberRange(min=1, max=1000)])
    booking_opens_at = _when(_l("预约开始时间"))
    booking_closes_at = _when(_l("预约截止时间"))
    cancel_deadline = _when(_l("取消截止时间"))
    submit = SubmitField(_l("保存"))


class SessionStatusForm(FlaskForm):
    """Open, close or cancel a session."""

    status = HiddenField(validators=[Optional()])
    submit = SubmitField(_l("确定"))

    def target(self) -> SessionStatus | None:
        """The status asked for, if it is one."""
        try:
            return SessionStatus(self.status.data or "")
        except ValueError:
            return None
