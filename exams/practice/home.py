"""Practice on the trainee's home page: open wrong answers and the latest mock exam."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from exams.practice.mock import list_mocks
from exams.practice.services import total_wrong
from opcert.access import Role
from opcert.accounts.models import User
from opcert.home import Card, Entry, Link, register_panel


def practice_card(user: User) -> list[Card]:
    """练习与模拟考试: how many wrong answers wait for review, the last mock's result."""
    entries = [Entry(_("错题本中待复习%(n)d题", n=total_wrong(trainee_id=user.id)))]
    latest = list_mocks(trainee_id=user.id, limit=1)
    if latest:
        exam = latest[0]
        if exam.finished:
            verdict = _("合格") if exam.passed else _("不合格")
            text = _(
                "最近一次模拟考试：%(item)s %(score)d分，%(verdict)s",
                item=exam.item.name,
                score=exam.score or 0,
                verdict=verdict,
            )
            entries.append(Entry(text, url_for("practice.mock_result", mock_id=exam.id)))
        else:
            entries.append(
                Entry(
                    _("模拟考试进行中：%(item)s", item=exam.item.name),
                    url_for("practice.mock_question", mock_id=exam.id),
                )
            )
    return [
        Card(
            title=_("练习与模拟考试"),
            text=_("按知识点练习，每题即时显示答案和解析；复习错题本；按正式考试题型限时模拟考试。"),
            entries=entries,
            links=(Link(_("开始练习"), url_for("practice.index")),),
        )
    ]


def register_home_panels() -> None:
    """The practice card for trainees, after the exam steps."""
    register_panel(Role.TRAINEE, practice_card, order=30)
