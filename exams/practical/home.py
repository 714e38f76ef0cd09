"""The practical exam on the home page: examiners' sessions; the agreement report for centre staff and admins."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from exams.practical.services import examiner_sessions
from opcert.access import Role
from opcert.accounts.models import User
from opcert.home import Card, Entry, Link, register_panel
from opcert.timeutil import show_datetime


def examiner_cards(user: User) -> list[Card]:
    """The sessions the examiner is assigned to."""
    sessions = examiner_sessions(examiner=user)
    return [
        Card(
            title=_("实操评分"),
            text="" if sessions else _("暂未被安排评分场次。"),
            entries=[
                Entry(
                    _(
                        "%(start)s %(centre)s %(room)s",
                        start=show_datetime(s.starts_at),
                        centre=s.centre.name,
                        room=s.room.name,
                    ),
                    url_for("practical.my_session", session_id=s.id),
                )
                for s in sessions
            ],
            links=(Link(_("全部评分场次"), url_for("practical.my_sessions")),),
        )
    ]


def agreement_card(user: User) -> list[Card]:
    """The examiners' agreement report."""
    return [
        Card(
            title=_("实操评分一致性"),
            text=_("每位考评员与其他考评员按科目合格判定的一致程度（Cohen κ）。"),
            links=(Link(_("查看"), url_for("practical.agreement")),),
        )
    ]


def task_bank_card(user: User) -> list[Card]:
    """The practical task bank, for training providers and administrators."""
    return [
        Card(
            title=_("实操题库"),
            text=_("K1至K4各科目的实操任务、评分细则和否决项。"),
            links=(Link(_("进入实操题库"), url_for("practical.tasks")),),
        )
    ]


def register_home_panels() -> None:
    """Examiners' sessions; the agreement card for centre staff and administrators."""
    register_panel(Role.EXAMINER, examiner_cards, order=20)
    register_panel(Role.CENTRE_STAFF, agreement_card, order=30)
    register_panel(Role.ADMIN, agreement_card, order=30)
    register_panel(Role.PROVIDER, task_bank_card, order=30)
    register_panel(Role.ADMIN, task_bank_card, order=31)
