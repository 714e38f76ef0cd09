"""The signed-in home page: each role's next steps and shortcuts, gathered from the domains that own them.

Core may not import photos or exams (core ← photos ← exams), so each domain registers its panels here from its
own `home.py` (`register_panel(role, panel, order=...)`) and the home page only collects them. A panel is a
function of the signed-in user returning steps (a checklist, in `order`) and cards (boxes of facts or links).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from flask import url_for
from flask_babel import gettext as _

from opcert.access import Role
from opcert.accounts.models import User


@dataclasses.dataclass(frozen=True)
class Link:
    """A link with its text."""

    text: str
    url: str


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of the person's way through the platform: done, or still to do (with where to do it)."""

    title: str
    done: bool
    detail: str = ""
    link: Link | None = None


@dataclasses.dataclass(frozen=True)
class Entry:
    """One line of a card: a text, optionally a link and a short note beside it."""

    text: str
    url: str | None = None
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Card:
    """A box on the home page: a title, a sentence, lines and links."""

    title: str
    text: str = ""
    entries: Sequence[Entry] = ()
    links: Sequence[Link] = ()


Panel = Callable[[User], Sequence[Step | Card]]


@dataclasses.dataclass(frozen=True)
class HomePage:
    """What the home page shows one person."""

    steps: list[Step]
    cards: list[Card]

    @property
    def next_step(self) -> Step | None:
        """The first step not done yet."""
        return next((step for step in self.steps if not step.done), None)


_PANELS: dict[Role, list[tuple[int, Panel]]] = {}


def register_panel(role: Role, panel: Panel, *, order: int = 100) -> None:
    """Show `panel`'s steps and cards to people of `role`, sorted by `order` (registering twice changes nothing)."""
    panels = _PANELS.setdefault(role, [])
    if all(known is not panel for _order, known in panels):
        panels.append((order, panel))
        panels.sort(key=lambda entry: entry[0])


def home_for(user: User) -> HomePage:
    """Every registered panel's steps and cards for the user's role, in order."""
    steps: list[Step] = []
    cards: list[Card] = []
    for _order, panel in _PANELS.get(user.role, []):
        for part in panel(user):
            if isinstance(part, Step):
                steps.append(part)
            else:
                cards.append(part)
    return HomePage(steps=steps, cards=cards)


# --- the core's own panels -------------------------------------------------------------------------


def _admin_shortcuts(user: User) -> list[Card]:
    return [
        Card(
            title=_("平台管理"),
            entries=(
                Entry(_("账号管理"), url_for("accounts.admin_users"), _("工作人员账号、角色和所属机构")),
                Entry(_("机构管理"), url_for("accounts.admin_organisations"), _("发证机关、考点和培训机构")),
                Entry(_("目录管理"), url_for("catalogue.admin_index"), _("作业类别、操作项目和开考设置")),
                Entry(_("审计日志"), url_for("audit.index"), _("谁在何时做了什么，可导出")),
            ),
        )
    ]


def register_core_panels() -> None:
    """The panels of the core platform: administrators' shortcuts (officers' queue is certificates', examiners'
    practical scoring exams')."""
    register_panel(Role.ADMIN, _admin_shortcuts, order=10)
