"""The statistics page (officers: their authority's figures; administrators: all) and its CSV export."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers import Response

from opcert.access import Role, allow
from opcert.certificates import stats
from opcert.errors import DomainError, show_errors
from opcert.timeutil import local_today

bp = Blueprint("cert_stats", __name__, template_folder="templates")


@bp.route("/certificates/statistics")
@allow(Role.OFFICER, Role.ADMIN)
def statistics() -> ResponseReturnValue:
    """Applications, certificates, the median working days to issue and pass rates for a chosen period."""
    start, end = request.args.get("start"), request.args.get("end")
    try:
        figures = stats.statistics_for(viewer=current_user, start=start, end=end, today=local_today())
    except DomainError as exc:
        show_errors(exc)
        return render_template("certificates/statistics.html", figures=None, start=start, end=end), 400
    return render_template(
        "certificates/statistics.html", figures=figures, start=figures.start.isoformat(), end=figures.end.isoformat()
    )


@bp.route("/certificates/statistics.csv")
@allow(Role.OFFICER, Role.ADMIN)
def statistics_csv() -> ResponseReturnValue:
    """The same figures as CSV."""
    try:
        figures = stats.statistics_for(
            viewer=current_user, start=request.args.get("start"), end=request.args.get("end"), today=local_today()
        )
    except DomainError as exc:
        return Response(exc.message, status=400, mimetype="text/plain")
    response = Response(stats.statistics_csv(figures), mimetype="text/csv")
    name = f"statistics-{figures.start.isoformat()}-{figures.end.isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
