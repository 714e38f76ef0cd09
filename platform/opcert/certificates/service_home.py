"""The home page after issuance: the officer's mailings and follow-ups (overdue ones warned), the report link."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from opcert.access import Role
from opcert.accounts.models import User
from opcert.certificates import mail, ratings
from opcert.certificates.service_models import MailingStatus
from opcert.home import Card, Entry, Link, register_panel
from opcert.timeutil import local_today


def officer_card(user: User) -> list[Card]:
    """Cards to pack and send, cards on their way, open follow-ups of bad ratings and how many are overdue (none:
    no card)."""
    mailings = mail.mail_queue(user)
    queued = sum(m.status is MailingStatus.QUEUED for m in mailings)
    rows = ratings.follow_ups(user, local_today())
    open_rows = [(f, state) for f, state in rows if f.closed_at is None]
    overdue = [f for f, state in open_rows if state == "overdue"]
    if not mailings and not open_rows:
        return []  # nothing to do: no card (the pages stay in the menu)
    text = _(
        "待寄证卡%(q)d件，已寄出待签收%(s)d件；差评整改待办%(f)d件，其中已超期%(o)d件。",
        q=queued,
        s=len(mailings) - queued,
        f=len(open_rows),
        o=len(overdue),
    )
    entries = [Entry(f.rating.user.real_name, url_for("certificates.follow_ups"), _("已超期")) for f in overdue[:5]]
    links = (
        Link(_("证卡邮寄"), url_for("certificates.mail_queue")),
        Link(_("差评整改"), url_for("certificates.follow_ups")),
        Link(_("好差评统计"), url_for("certificates.ratings_report")),
    )
    return [Card(_("邮寄与好差评"), text, entries, links)]


def admin_card(user: User) -> list[Card]:
    """The link to the ratings report of every authority."""
    return [
        Card(
            _("好差评"),
            _("各发证机关的服务评价，按事项和月份统计。"),
            (),
            (Link(_("好差评统计"), url_for("certificates.ratings_report")),),
        )
    ]


def register_home_panels() -> None:
    """Register the mail and 好差评 panels."""
    register_panel(Role.OFFICER, officer_card, order=31)
    register_panel(Role.ADMIN, admin_card, order=31)
