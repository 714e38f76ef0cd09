"""The public home page, the language switch and a health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from opcert.access import PUBLIC, allow
from opcert.accounts import throttle
from opcert.extensions import db
from opcert.home import home_for
from opcert.web import safe_next

bp = Blueprint("main", __name__)


@bp.route("/")
@allow(PUBLIC)
def index() -> str:
    """Home page: what the platform does; signed in, the person's next steps and shortcuts for their role."""
    home = home_for(current_user) if current_user.is_authenticated else None
    db.session.commit()  # a photo fetched from the unified library for the photo step is cached
    return render_template("index.html", home=home)


@bp.route("/language/<lang>", methods=["POST"])
@allow(PUBLIC)
def set_language(lang: str) -> Response:
    """Switch the interface language (zh_CN or en) and go back."""
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))


@bp.route("/healthz")
@allow(PUBLIC)
def health() -> tuple[Response, int]:
    """Each dependency's state for the load balancer: 200 ok or degraded (still serving), 503 without a database."""
    checks = {"database": _database_state(), "redis": _redis_state()}
    if checks["database"] != "ok":
        return jsonify(status="down", checks=checks), 503
    status = "ok" if all(state in {"ok", "not_configured"} for state in checks.values()) else "degraded"
    return jsonify(status=status, checks=checks), 200


def _database_state() -> str:
    try:
        db.session.execute(db.text("SELECT 1"))
    except SQLAlchemyError as exc:
        # One line per check: the load balancer asks every few seconds.
        current_app.logger.warning("health check: database unreachable (%s)", exc.__class__.__name__)
        db.session.rollback()
        return "unreachable"
    return "ok"


def _redis_state() -> str:
    # Redis only holds login-failure counters; without it logins count in the database (degraded, not down).
    link = throttle.redis_link()
    if link is None:
        return "not_configured"
    return "ok" if link.ping() else "unreachable"
