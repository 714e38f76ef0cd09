"""What exams tell candidates: the kinds of notice and their texts (sent through opcert.notifications)."""

from __future__ import annotations

import enum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from exams.sessions.models import Booking, ExamSession
from opcert.notifications.kinds import register_kinds
from opcert.notifications.services import notify
from opcert.timeutil import show_datetime


class NotificationKind(enum.StrEnum):
    """What an exams notice is about."""

    BOOKING_CONFIRMED = "booking_confirmed"
    WAITLIST_PROMOTED = "waitlist_promoted"
    SESSION_CHANGED = "session_changed"
    SESSION_CANCELLED = "session_cancelled"
    EXAM_REMINDER = "exam_reminder"

    @property
    def label(self) -> LazyString:
        """The kind's name for people."""
        return KIND_LABELS[self]


KIND_LABELS = {
    NotificationKind.BOOKING_CONFIRMED: _l("预约成功"),
    NotificationKind.WAITLIST_PROMOTED: _l("候补转正"),
    NotificationKind.SESSION_CHANGED: _l("场次变更"),
    NotificationKind.SESSION_CANCELLED: _l("场次取消"),
    NotificationKind.EXAM_REMINDER: _l("考前提醒"),
}
register_kinds(KIND_LABELS)


def tell_session_changed(booking: Booking, session: ExamSession) -> None:
    """Tell a candidate that the session's time or room changed."""
    notify(
        user_id=booking.trainee_id,
        kind=NotificationKind.SESSION_CHANGED,
        subject=_("考试场次变更"),
        body=_(
            "您预约的%(part)s场次已变更：%(start)s，%(centre)s %(room)s。",
            part=str(session.part.label),
            start=show_datetime(session.starts_at),
            centre=session.centre.name,
            room=session.room.name,
        ),
    )


def tell_session_cancelled(booking: Booking, session: ExamSession, *, reason: str) -> None:
    """Tell a candidate that the session was cancelled, and why."""
    notify(
        user_id=booking.trainee_id,
        kind=NotificationKind.SESSION_CANCELLED,
        subject=_("考试场次取消"),
        body=_(
            "您预约的%(start)s %(centre)s%(part)s场次已取消，原因：%(reason)s。请重新预约其他场次。",
            start=show_datetime(session.starts_at),
            centre=session.centre.name,
            part=str(session.part.label),
            reason=reason,
        ),
    )


def tell_seat_confirmed(booking: Booking, kind: NotificationKind) -> None:
    """Tell a candidate their seat: a booking confirmed, or a waitlist place promoted."""
    session = booking.session
    subject = _("考试预约成功") if kind is NotificationKind.BOOKING_CONFIRMED else _("候补转正：已为您安排座位")
    notify(
        user_id=booking.trainee_id,
        kind=kind,
        subject=subject,
        body=_(
            "%(item)s %(part)s：%(start)s，%(centre)s（%(address)s）%(room)s，座位号%(seat)s。请携带身份证和准考证按时参加考试。",  # noqa: E501
            item=booking.item.name,
            part=str(session.part.label),
            start=show_datetime(session.starts_at),
            centre=session.centre.name,
            address=session.centre.address,
            room=session.room.name,
            seat=booking.seat_label,
        ),
    )


def tell_reminder(booking: Booking, session: ExamSession) -> None:
    """Remind a candidate with a seat of the exam."""
    notify(
        user_id=booking.trainee_id,
        kind=NotificationKind.EXAM_REMINDER,
        subject=_("考前提醒"),
        body=_(
            "您的%(item)s %(part)s将于%(start)s在%(centre)s（%(address)s）%(room)s举行，座位号%(seat)s。请携带身份证和准考证，提前30分钟到达。",  # noqa: E501
            item=booking.item.name,
            part=str(session.part.label),
            start=show_datetime(session.starts_at),
            centre=session.centre.name,
            address=session.centre.address,
            room=session.room.name,
            seat=booking.seat_label,
        ),
    )
