"""Results on the trainee's home page: the next step per item, and the link to all results."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from exams.results.services import my_items, next_step
from opcert.access import Role
from opcert.accounts.models import User
from opcert.home import Card, Entry, Link, register_panel
from opcert.timeutil import local_today


def results_card(user: User) -> list[Card]:
    """The trainee's next step in each item with a published result."""
    items = my_items(person_id=user.id)
    if not items:
        return []
    today = local_today()
    return [
        Card(
            title=_("我的成绩"),
            entries=[Entry(item.name, None, next_step(person_id=user.id, item=item, on=today)) for item in items],
            links=(Link(_("查看成绩"), url_for("results.my_results")),),
        )
    ]


def register_home_panels() -> None:
    """The results card, after the exam steps."""
    register_panel(Role.TRAINEE, results_card, order=30)
