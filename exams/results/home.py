"""Results on the trainee's home page: the next step per item, and the link to all results."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from exams.results.services import my_next_steps
from opcert.access import Role
from opcert.accounts.models import User
from opcert.home import Card, Entry, Link, register_panel
from opcert.timeutil import local_today


def results_card(user: User) -> list[Card]:
    """The trainee's next step in each item with a published result."""
    steps = my_next_steps(person_id=user.id, on=local_today())
    if not steps:
        return []
    return [
        Card(
            title=_("我的成绩"),
            entries=[Entry(item.name, None, step) for item, step in steps],
            links=(Link(_("查看成绩"), url_for("results.my_results")),),
        )
    ]


def register_home_panels() -> None:
    """The results card, after the exam steps."""
    register_panel(Role.TRAINEE, results_card, order=30)
