"""Certificates on the home page: the trainee's application step, the officer's review queue."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from opcert.access import Role
from opcert.accounts.models import User
from opcert.advice import register_after_qualifying
from opcert.certificates import applications, service_home, services
from opcert.certificates.applications_models import ApplicationStatus
from opcert.home import Card, Entry, Link, Step, register_panel
from opcert.timeutil import local_today


def trainee_step(user: User) -> list[Step]:
    """Where the person's newest application stands, or that they may apply now."""
    page = url_for("certificates.my_applications")
    mine = applications.my_applications(user.id)
    if mine:
        newest = mine[0]
        done = newest.status is ApplicationStatus.APPROVED
        detail = _("“%(item)s”：%(status)s", item=newest.item.name, status=newest.status.label)
        return [Step(_("申请发证"), done, detail, Link(_("查看申请"), page))]
    ready = [item for item, open_ in applications.applicable_items(user) if open_ is None]
    if not ready:
        return []
    detail = _("“%(item)s”考试已全部合格，可在线申请发证，无需提交材料。", item=ready[0].name)
    return [Step(_("申请发证"), False, detail, Link(_("去申请"), url_for("certificates.apply", item_id=ready[0].id)))]


def officer_card(user: User) -> list[Card]:
    """Open applications of the officer's authority, how many are near or past their deadline."""
    today = local_today()
    rows = applications.queue(user)
    states = [applications.deadline_state(a, today) for a in rows]
    waiting = sum(a.status is ApplicationStatus.SUBMITTED for a in rows)
    text = _(
        "待受理%(w)d件，审核中%(r)d件，即将到期%(s)d件，已超期%(o)d件。",
        w=waiting,
        r=len(rows) - waiting,
        s=states.count("due_soon"),
        o=states.count("overdue"),
    )
    entries = [
        Entry(a.user.real_name, url_for("certificates.review", application_id=a.id), a.status.label)
        for a, state in zip(rows, states, strict=True)
        if state == "overdue"
    ][:5]
    return [Card(_("发证审核"), text, entries, (Link(_("审核队列"), url_for("certificates.review_queue")),))]


def data_card(user: User) -> list[Card]:
    """The authority's statistics, and for administrators the data-sharing API's tokens."""
    links = [Link(_("发证统计"), url_for("cert_stats.statistics"))]
    if user.role is Role.ADMIN:
        links.append(Link(_("数据共享接口令牌"), url_for("api_tokens.list_tokens")))
    text = _("收到申请、发证、申请至发证的工作日中位数和考试合格率，可导出CSV。")
    return [Card(_("统计与数据共享"), text, [], tuple(links))]


def after_qualifying(person_id: int, item_id: int) -> str | None:
    """What the exams' advice says once both parts are passed, when the person already holds the item's
    certificate in force or has an application in progress (else None: apply)."""
    today = local_today()
    for certificate in services.holder_certificates(person_id):
        if certificate.item_id == item_id and services.in_force(certificate, today):
            return str(
                _(
                    "理论和实际操作考试均已合格，已取得特种作业操作证（证号%(number)s），可在“我的证书”查看。",
                    number=certificate.holder.number,
                )
            )
    if applications.open_application(person_id, item_id) is not None:
        return str(_("理论和实际操作考试均已合格，发证申请正在办理中，可在“我的发证申请”查看进度。"))
    return None


def register_home_panels() -> None:
    """Register certificates' panels, and what they add to the exams' advice."""
    register_after_qualifying(after_qualifying)
    register_panel(Role.TRAINEE, trainee_step, order=30)
    register_panel(Role.OFFICER, officer_card, order=30)
    service_home.register_home_panels()
    register_panel(Role.OFFICER, data_card, order=31)
    register_panel(Role.ADMIN, data_card, order=31)
