"""Result pages: the candidate's results and next step; staff publish and export a session's results."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from exams.results import export, services
from exams.sessions import scoping
from opcert.access import Role, allow
from opcert.extensions import db
from opcert.forms import ConfirmForm
from opcert.timeutil import local_today

bp = Blueprint("results", __name__, template_folder="templates")
MANAGERS = (Role.CENTRE_STAFF, Role.ADMIN)


@bp.route("/exams/results")
@allow(Role.TRAINEE)
def my_results() -> str:
    """The candidate's published results and, per item, the next step."""
    return render_template(
        "results/mine.html",
        results=services.my_results(person_id=current_user.id),
        steps=services.my_next_steps(person_id=current_user.id, on=local_today()),
    )


@bp.route("/exams/results/sessions/<int:session_id>")
@allow(*MANAGERS)
def session_results(session_id: int) -> str:
    """A session's results, with publication and the exports."""
    session = scoping.managed_session(viewer=current_user, session_id=session_id)
    return render_template(
        "results/session.html",
        session=session,
        results=services.session_results(session_id=session.id),
        publish_form=ConfirmForm(),
    )


@bp.route("/exams/results/sessions/<int:session_id>/publish", methods=["POST"])
@allow(*MANAGERS)
def publish(session_id: int) -> BaseResponse:
    """Publish the session's unpublished results; each candidate is told the next step."""
    session = scoping.managed_session(viewer=current_user, session_id=session_id)
    if ConfirmForm().validate_on_submit():
        rows = services.publish_results(session_id=session.id)
        db.session.commit()
        flash(_("已发布%(n)d条成绩。", n=len(rows)), "success")
    return redirect(url_for("results.session_results", session_id=session_id))


def _download(data: bytes, name: str, mimetype: str) -> Response:
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/exams/results/sessions/<int:session_id>/results.csv")
@allow(*MANAGERS)
def results_csv(session_id: int) -> Response:
    """The session's results as CSV."""
    session = scoping.managed_session(viewer=current_user, session_id=session_id)
    return _download(export.results_csv(session), f"results-{session.id}.csv", "text/csv")


@bp.route("/exams/results/sessions/<int:session_id>/results.pdf")
@allow(*MANAGERS)
def results_pdf(session_id: int) -> Response:
    """The session's results as a signed PDF."""
    session = scoping.managed_session(viewer=current_user, session_id=session_id)
    return _download(export.results_pdf(session), f"results-{session.id}.pdf", "application/pdf")
