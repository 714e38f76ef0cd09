"""Exams on the home page: the trainee's commitment, booking and ticket steps; the centre's coming sessions;
the question bank for providers and administrators."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import url_for
from flask_babel import format_date, format_datetime, format_time
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from exams.practice.home import register_home_panels as register_practice_panels
from exams.sessions.bookings import my_bookings
from exams.sessions.eligibility import current_commitment
from exams.sessions.models import Booking, BookingStatus, Commitment, ExamSession, SessionStatus
from exams.sessions.scoping import list_centres
from opcert.access import Role
from opcert.accounts.models import Organisation, User
from opcert.db import utcnow
from opcert.extensions import db
from opcert.home import Card, Entry, Link, Step, register_panel
from opcert.timeutil import local_tz

NEXT_SESSIONS = 5


def _upcoming(bookings: list[Booking], status: BookingStatus, now: dt.datetime) -> Booking | None:
    """The soonest booking in `status` whose session has not ended."""
    found = [b for b in bookings if b.status is status and b.session.ends_at > now]
    return min(found, key=lambda b: b.session.starts_at, default=None)


def trainee_steps(user: User) -> list[Step]:
    """Steps 2–4: sign the commitment, book a seat, take the admission ticket."""
    now = utcnow()
    commitment = current_commitment(user)
    bookings = my_bookings(trainee=user)
    seat = _upcoming(bookings, BookingStatus.CONFIRMED, now)
    queued = _upcoming(bookings, BookingStatus.WAITLISTED, now)
    return [
        _commitment_step(commitment),
        _booking_step(seat, queued, signed=commitment is not None),
        _ticket_step(seat),
    ]


def _commitment_step(commitment: Commitment | None) -> Step:
    page = url_for("sessions.commitment")
    if commitment is not None:
        detail = _("已于%(date)s签署《告知承诺书》。", date=format_date(commitment.signed_at, "long"))
        return Step(_("签署承诺"), True, detail, Link(_("查看"), page))
    detail = _("预约考试前，须在线签署《告知承诺书》（身体健康、学历、在本市居住或工作、信息真实），代替相关证明材料。")
    return Step(_("签署承诺"), False, detail, Link(_("去签署"), page))


def _booking_step(seat: Booking | None, queued: Booking | None, *, signed: bool) -> Step:
    title = _("预约考试")
    if seat is not None:
        detail = _(
            "已预约%(item)s %(part)s：%(start)s，%(centre)s %(room)s，座位号%(seat)s。",
            item=seat.item.name,
            part=str(seat.session.part.label),
            start=format_datetime(seat.session.starts_at, "medium"),
            centre=seat.session.centre.name,
            room=seat.session.room.name,
            seat=seat.seat_label,
        )
        return Step(title, True, detail, Link(_("我的预约"), url_for("sessions.my_bookings")))
    if queued is not None:
        detail = _(
            "您已登记%(start)s %(item)s场次的候补，有人取消时将按顺序自动为您安排座位并通知您。",
            start=format_datetime(queued.session.starts_at, "medium"),
            item=queued.item.name,
        )
        return Step(title, False, detail, Link(_("我的预约"), url_for("sessions.my_bookings")))
    if not signed:
        return Step(title, False, _("签署承诺后，即可选择考点和场次预约座位。"))
    link = Link(_("预约考试"), url_for("sessions.list_sessions"))
    return Step(title, False, _("选择考点和场次，预约考试座位。"), link)


def _ticket_step(seat: Booking | None) -> Step:
    title = _("准考证")
    if seat is None:
        return Step(title, False, _("预约到座位后，可在这里查看和打印准考证。"))
    detail = _("考试当天请携带居民身份证和准考证，提前30分钟到达考点。")
    return Step(title, False, detail, Link(_("查看准考证"), url_for("sessions.ticket", booking_id=seat.id)))


def _today_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Midnight today and tomorrow where the centres are, in UTC."""
    zone = local_tz()
    midnight = dt.datetime.combine(now.astimezone(zone).date(), dt.time(), tzinfo=zone)
    return midnight.astimezone(dt.UTC), (midnight + dt.timedelta(days=1)).astimezone(dt.UTC)


def _coming_sessions(centre: Organisation, now: dt.datetime) -> tuple[list[ExamSession], list[ExamSession]]:
    """The centre's sessions of today, and the next few after today (cancelled ones left out)."""
    today, tomorrow = _today_bounds(now)
    query = (
        sa.select(ExamSession)
        .where(ExamSession.centre_id == centre.id, ExamSession.status != SessionStatus.CANCELLED)
        .options(selectinload(ExamSession.items), selectinload(ExamSession.room))
        .order_by(ExamSession.starts_at, ExamSession.id)
    )
    todays = list(
        db.session.execute(query.where(ExamSession.starts_at >= today, ExamSession.starts_at < tomorrow)).scalars()
    )
    later = db.session.execute(query.where(ExamSession.starts_at >= tomorrow).limit(NEXT_SESSIONS)).scalars()
    return todays, list(later)


def _waitlisted(sessions: list[ExamSession]) -> dict[int, int]:
    if not sessions:
        return {}
    rows = db.session.execute(
        sa.select(Booking.session_id, sa.func.count(Booking.id))
        .where(Booking.session_id.in_([s.id for s in sessions]), Booking.status == BookingStatus.WAITLISTED)
        .group_by(Booking.session_id)
    )
    return {session_id: int(count) for session_id, count in rows}


def _session_entry(session: ExamSession, when: str, waitlisted: int) -> Entry:
    text = _(
        "%(when)s %(part)s · %(items)s · %(room)s",
        when=when,
        part=str(session.part.label),
        items="、".join(i.name for i in session.items),
        room=session.room.name,
    )
    note = _("已预约%(taken)d/%(capacity)d人", taken=session.seats_taken, capacity=session.capacity)
    if waitlisted:
        note += _("，候补%(n)d人", n=waitlisted)
    return Entry(text, url_for("sessions.manage_session", session_id=session.id), note)


def centre_cards(user: User) -> list[Card]:
    """Today's and the next sessions of the staff member's centre, with how many candidates each has."""
    now = utcnow()
    cards: list[Card] = []
    for centre in list_centres(viewer=user):
        todays, later = _coming_sessions(centre, now)
        waitlisted = _waitlisted(todays + later)
        links = (
            Link(_("全部场次"), url_for("sessions.centre_sessions", centre_id=centre.id)),
            Link(_("新建场次"), url_for("sessions.new_session", centre_id=centre.id)),
        )
        cards.append(
            Card(
                title=_("%(centre)s · 今日场次", centre=centre.name),
                text="" if todays else _("今天没有考试场次。"),
                entries=[_session_entry(s, format_time(s.starts_at, "short"), waitlisted.get(s.id, 0)) for s in todays],
            )
        )
        cards.append(
            Card(
                title=_("接下来的场次"),
                text="" if later else _("今天以后还没有安排考试场次。"),
                entries=[
                    _session_entry(s, format_datetime(s.starts_at, "medium"), waitlisted.get(s.id, 0)) for s in later
                ],
                links=links,
            )
        )
    return cards


def bank_card(user: User) -> list[Card]:
    """The question bank, for training providers."""
    return [
        Card(
            title=_("题库"),
            text=_("按操作项目导入、编辑和导出题目，设置组卷规则，查看试题统计。"),
            links=(Link(_("进入题库"), url_for("bank.index")),),
        )
    ]


def admin_cards(user: User) -> list[Card]:
    """Exams shortcuts for administrators."""
    return [
        Card(
            title=_("考试管理"),
            entries=(
                Entry(_("题库"), url_for("bank.index"), _("题目、组卷规则和试题统计")),
                Entry(_("考点与场次"), url_for("sessions.centres"), _("考场、考试场次和预约名单")),
            ),
        )
    ]


def register_home_panels() -> None:
    """The trainee's exam steps (after the photo step), centre staff's sessions, the bank, admin shortcuts."""
    register_panel(Role.TRAINEE, trainee_steps, order=20)
    register_panel(Role.CENTRE_STAFF, centre_cards, order=20)
    register_panel(Role.PROVIDER, bank_card, order=20)
    register_panel(Role.ADMIN, admin_cards, order=20)
    register_practice_panels()

    from exams.practical.home import register_home_panels as practical_panels
    from exams.results.home import register_home_panels as results_panels

    practical_panels()
    results_panels()
