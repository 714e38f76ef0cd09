"""Administrators read the audit log and check its chain."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from opcert.access import Role, allow
from opcert.accounts.forms import ConfirmForm
from opcert.audit.services import list_events, verify_chain
from opcert.web import page_arg

bp = Blueprint("audit", __name__, template_folder="templates")


@bp.route("/admin/audit")
@allow(Role.ADMIN)
def index() -> str:
    """The newest audit events, filtered by action prefix."""
    action = request.args.get("action", "").strip()
    found = list_events(action_prefix=action, page=page_arg(), per_page=current_app.config["PAGE_SIZE"])
    return render_template(
        "audit/index.html",
        events=found.items,
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        action=action,
        form=ConfirmForm(),
    )


@bp.route("/admin/audit/verify", methods=["POST"])
@allow(Role.ADMIN)
def verify() -> Response:
    """Recompute the chain now and say whether it is intact."""
    if ConfirmForm().validate_on_submit():
        report = verify_chain()
        if report.ok:
            flash(_("审计日志完整：已校验%(n)d条记录，哈希链无断裂。", n=report.checked), "success")
        else:
            flash(
                _(
                    "审计日志校验失败：第%(seq)d条记录处链条断裂（%(reason)s）。",
                    seq=report.broken_seq or 0,
                    reason=report.reason,
                ),
                "danger",
            )
    return redirect(url_for("audit.index"))
