"""Session and booking forms: shape only; the rules live in services."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from exams.sessions.models import ExamPart, ExamSession, RoomLayout, SessionStatus
from exams.sessions.planning import SessionPlan
from opcert.catalogue.models import Education
from opcert.forms import WebForm, WithinYears
from opcert.timeutil import from_local, to_local

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _required(label: str) -> InputRequired:
    return InputRequired(message=_l("请填写%(label)s。", label=label))


def _when(label: str) -> DateTimeLocalField:
    return DateTimeLocalField(
        label,
        format=LOCAL_FORMAT,
        validators=[DataRequired(message=_l("请填写%(label)s。", label=label)), WithinYears()],
    )


class BookForm(WebForm):
    """Book a seat (or join the waitlist) for one of the session's items."""

    item_id = SelectField(_l("操作项目"), coerce=int, validators=[DataRequired(message=_l("请选择操作项目。"))])
    submit = SubmitField(_l("预约"))


class RescheduleForm(WebForm):
    """Move a booking to another session."""

    session_id = SelectField(_l("新场次"), coerce=int, validators=[DataRequired(message=_l("请选择新场次。"))])
    submit = SubmitField(_l("改约"))


class CancelBookingForm(WebForm):
    """Cancel one's booking: only with the box ticked."""

    confirm = BooleanField(_l("我确认取消该预约"), validators=[DataRequired(message=_l("请勾选确认后再取消。"))])
    submit = SubmitField(_l("确认取消预约"))


class CancelSessionForm(WebForm):
    """Cancel a session: the box ticked, and the reason the candidates are told (required when anyone booked)."""

    confirm = BooleanField(_l("我确认取消该场次"), validators=[DataRequired(message=_l("请勾选确认后再取消。"))])
    reason = TextAreaField(_l("取消原因（将通知已预约的考生）"), validators=[Length(max=200)])
    submit = SubmitField(_l("确认取消场次"))


class CommitmentForm(WebForm):
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
    employer = StringField(_l("工作单位（无则不填）"), validators=[Optional(), Length(max=100)])
    signed_name = StringField(
        _l("签名（请输入本人姓名）"),
        validators=[DataRequired(message=_l("请输入本人姓名作为签名。")), Length(max=30)],
    )
    submit = SubmitField(_l("签署承诺"))

    def education_level(self) -> Education | None:
        """The education level ticked, or None for "below junior middle school" (which cannot apply)."""
        level = self.education.data
        return Education(level) if level in {e.value for e in Education} else None


class RoomForm(WebForm):
    """A room of an exam centre."""

    name = StringField(_l("考场名称"), validators=[_required(_l("考场名称")), Length(max=60)])
    layout = SelectField(_l("考场类型"), choices=lambda: [(k.value, k.label) for k in RoomLayout])
    seats = IntegerField(_l("座位数"), validators=[_required(_l("座位数")), NumberRange(min=1, max=1000)])
    seats_per_row = IntegerField(
        _l("每排座位数"), default=10, validators=[_required(_l("每排座位数")), NumberRange(min=1, max=100)]
    )
    is_active = BooleanField(_l("启用"), default=True)
    submit = SubmitField(_l("保存"))


def _utc(wall_time: dt.datetime | None) -> dt.datetime:
    assert wall_time is not None  # noqa: S101 (DataRequired has run)
    return from_local(wall_time)


class SessionForm(WebForm):
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

    def show(self, session: ExamSession) -> None:
        """Fill the fields from a stored session (times as local wall times)."""
        self.part.data = session.part.value
        self.item_ids.data = [i.id for i in session.items]
        self.room_id.data = session.room_id
        self.starts_at.data = to_local(session.starts_at)
        self.duration_minutes.data = session.duration_minutes
        self.capacity.data = session.capacity
        self.booking_opens_at.data = to_local(session.booking_opens_at)
        self.booking_closes_at.data = to_local(session.booking_closes_at)
        self.cancel_deadline.data = to_local(session.cancel_deadline)

    def plan(self) -> SessionPlan:
        """The validated fields as the planning service's values (times in UTC)."""
        return SessionPlan(
            room_id=self.room_id.data or 0,
            item_ids=list(self.item_ids.data or []),
            part=ExamPart(self.part.data),
            starts_at=_utc(self.starts_at.data),
            duration_minutes=self.duration_minutes.data or 0,
            capacity=self.capacity.data or 0,
            booking_opens_at=_utc(self.booking_opens_at.data),
            booking_closes_at=_utc(self.booking_closes_at.data),
            cancel_deadline=_utc(self.cancel_deadline.data),
        )


class SessionStatusForm(WebForm):
    """Open, close or cancel a session."""

    status = HiddenField(validators=[Optional()])
    submit = SubmitField(_l("确定"))

    def target(self) -> SessionStatus | None:
        """The status asked for, if it is one."""
        try:
            return SessionStatus(self.status.data or "")
        except ValueError:
            return None
