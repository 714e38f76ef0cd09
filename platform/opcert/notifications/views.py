"""The signed-in user's notifications page and the navbar's unread badge."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, has_request_context, render_template
from flask_login import current_user

from opcert.access import AUTHENTICATED, allow
from opcert.db import writes
from opcert.extensions import db
from opcert.notifications import services

# The endpoint prefix stays "notify" (notify.index), as the templates name it.
bp = Blueprint("notify", __name__, template_folder="templates")


@bp.app_context_processor
def inject_unread() -> dict[str, Any]:
    """`notify_unread()` for the navbar badge: the signed-in user's unread count (0 when signed out)."""

    def notify_unread() -> int:
        signed_in = has_request_context() and current_user.is_authenticated
        return services.unread_count(user_id=current_user.id) if signed_in else 0

    return {"notify_unread": notify_unread}


@bp.route("/notifications")
@allow(AUTHENTICATED)
@writes
def index() -> str:
    """The user's own notifications, newest first; showing them marks them read."""
    rows = services.list_notifications(user_id=current_user.id)
    unread = {row.id for row in rows if row.read_at is None}
    page = render_template("notifications/index.html", notifications=rows, unread_ids=unread)
    if unread:
        services.mark_read(user_id=current_user.id, ids=unread)
    db.session.commit()
    return page
