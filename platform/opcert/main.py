"""The public home page, the language switch and a health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from opcert.access import PUBLIC, allow
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
def health() -> Response:
    """Liveness and database reachability for the load balancer."""
    db.session.execute(db.text("SELECT 1"))
    return jsonify(status="ok")
