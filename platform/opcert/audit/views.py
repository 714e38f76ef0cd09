"""Administrators read the audit log and check its chain."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from opcert.access import Role, allow
from opcert.audit.present import csv_lines, describe_events
from opcert.audit.services import export_events, list_events, verify_chain
from opcert.db import utcnow
from opcert.extensions import db
from opcert.forms import ConfirmForm
from opcert.web import page_arg

bp = Blueprint("audit", __name__, template_folder="templates")


@bp.route("/admin/audit")
@allow(Role.ADMIN)
def index() -> str:
    """The newest audit events, filtered by action prefix, with names instead of codes."""
    action = request.args.get("action", "").strip()
    found = list_events(action_prefix=action, page=page_arg(), per_page=current_app.config["PAGE_SIZE"])
    return render_template(
        "audit/index.html",
        lines=describe_events(found.items),
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        action=action,
        form=ConfirmForm(),
    )


@bp.route("/admin/audit/export.csv")
@allow(Role.ADMIN)
def export() -> Response:
    """The (filtered) log as CSV with the raw codes, oldest first; the export itself is logged."""
    action = request.args.get("action", "").strip()
    events = export_events(action_prefix=action)
    db.session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def stream() -> Iterator[str]:
        # The body is read after this request has ended: the rows are read in an application context of its own.
        with app.app_context():
            yield from csv_lines(events)

    response = Response(stream(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{utcnow():%Y%m%d-%H%M%S}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


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
