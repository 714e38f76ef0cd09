"""The administrators' home-page card for the competent authority: calendar, routing rules, service guides."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from opcert.access import Role
from opcert.accounts.models import User
from opcert.home import Card, Entry, register_panel


def admin_card(_user: User) -> list[Card]:
    """Shortcuts to the pages administrators keep for the authority."""
    return [
        Card(
            title=_("发证机关事务"),
            entries=(
                Entry(_("节假日与调休"), url_for("calendar.admin_calendar"), _("法定节假日和调休上班日，用于计算期限")),
                Entry(_("发证机关分派规则"), url_for("authority.admin_rules"), _("事权下放：哪个机关办理哪类申请")),
                Entry(_("办事指南"), url_for("authority.guide_index"), _("各事项的办事指南及其修订记录")),
            ),
        )
    ]


def register_home_panels() -> None:
    """Register the card."""
    register_panel(Role.ADMIN, admin_card, order=40)
