"""Theory-exam pages: the seat (sign-in, the paper, JSON saves and heartbeats) and the invigilator's console.

The seat's pages are public: a candidate is known by the random token in the seat's cookie, bound to their attempt
at sign-in (exams.cbt.services), not by a platform login.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from exams.cbt import services
from exams.cbt.forms import ExtendForm, ReasonForm, SignInForm
from opcert.access import PUBLIC, Role, allow
from opcert.errors import DomainError, NotFoundError, flash_form_errors, report_refusal
from opcert.extensions import db
from opcert.forms import ConfirmForm

bp = Blueprint("cbt", __name__, template_folder="templates")
COOKIE = "opcert_exam_seat"
STAFF = (Role.CENTRE_STAFF,)


def _token() -> str | None:
    return request.cookies.get(COOKIE) or None


def _with_cookie(response: Response, token: str) -> Response:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(current_app.config["CBT_DEVICE_COOKIE_DAYS"]) * 86400,
        httponly=True,
        samesite="Strict",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        path="/exam",
    )
    return response


@bp.route("/exam", methods=["GET", "POST"])
@allow(PUBLIC)
def seat() -> str | Response:
    """The seat: the sign-in form, or the candidate's paper once signed in here."""
    try:
        attempt = services.attempt_for_device(_token())
    except NotFoundError:
        attempt = None
    if attempt is not None and request.method == "GET":
        if attempt.status.value == "submitted":
            return redirect(url_for("cbt.done"))
        state = services.state(attempt, with_answers=True)
        db.session.commit()
        return render_template("cbt/exam.html", attempt=attempt, state=state, **services.exam_view(attempt))
    form = SignInForm()
    if form.validate_on_submit():
        try:
            attempt, token = services.sign_in(
                ticket=form.ticket.data,
                id_number=form.id_number.data,
                ip=request.remote_addr or "",
                terminal=form.terminal.data or "",
                device_token=_token(),
            )
        except services.ExamError as exc:
            db.session.commit()  # the refusal's audit row
            flash(exc.message, "danger")
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            return _with_cookie(redirect(url_for("cbt.seat")), token)
    return render_template("cbt/sign_in.html", form=form)


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else None


def _refused(exc: services.ExamError, status: int = 409) -> tuple[Response, int]:
    db.session.commit()  # the refusal's audit row, and a submission at time end
    return jsonify(ok=False, code=exc.code, message=exc.message, **exc.extra), status


@bp.route("/exam/save", methods=["POST"])
@allow(PUBLIC)
def save() -> Response | tuple[Response, int]:
    """Save one answer: {"seq": n, "number": question number, "answer": "A"}; acknowledged once stored."""
    body = _json_body()
    seq, number, answer = _int(body.get("seq")), _int(body.get("number")), body.get("answer")
    if seq is None or number is None or not isinstance(answer, str) or len(answer) > 12:
        services.attempt_for_device(_token())  # without a seat: 404, as for a well-formed save
        return jsonify(ok=False, code="bad_request", message=_("保存的内容格式不正确。")), 400
    try:
        ack = services.save_for_device(token=_token(), seq=seq, number=number, answer=answer)
    except services.ExamError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify(ok=True, seq=ack.seq, number=ack.number, duplicate=ack.duplicate, state=ack.state)


@bp.route("/exam/heartbeat", methods=["POST"])
@allow(PUBLIC)
def heartbeat() -> Response:
    """The page is alive: the state on server time (time credited, start, submission at time end)."""
    attempt = services.attempt_for_device(_token())
    state = services.contact(attempt)
    db.session.commit()
    return jsonify(ok=True, state=state)


@bp.route("/exam/submit", methods=["POST"])
@allow(PUBLIC)
def submit() -> Response | tuple[Response, int]:
    """Hand in the paper (the candidate, or the page at time end)."""
    attempt = services.attempt_for_device(_token())
    try:
        attempt = services.submit_own(attempt=attempt)
    except services.ExamError as exc:
        return _refused(exc)
    state = services.state(attempt)
    db.session.commit()
    return jsonify(ok=True, state=state)


@bp.route("/exam/done")
@allow(PUBLIC)
def done() -> str:
    """After submission: the score when the session's rule shows it (without a seat: where to sign in)."""
    try:
        attempt = services.attempt_for_device(_token())
    except NotFoundError:
        return render_template("cbt/done.html", attempt=None, state={})
    return render_template("cbt/done.html", attempt=attempt, state=services.state(attempt))


# --- invigilator ----------------------------------------------------------------------------------------------------


@bp.route("/exams/sessions/<int:session_id>/invigilate")
@allow(*STAFF)
def console(session_id: int) -> str:
    """Who is checked in, seated, answering, submitted; seconds since each one's last acknowledged save."""
    session, run, rows = services.console(viewer=current_user, session_id=session_id)
    return render_template(
        "cbt/console.html",
        session=session,
        run=run,
        rows=rows,
        form=ConfirmForm(),
        reason_form=ReasonForm(formdata=None),
        extend_form=ExtendForm(formdata=None),
    )


@bp.route("/exams/sessions/<int:session_id>/invigilate/start", methods=["POST"])
@allow(*STAFF)
def start(session_id: int) -> Response:
    """Start the session's theory exam."""
    if ConfirmForm().validate_on_submit():
        try:
            services.start_run(viewer=current_user, session_id=session_id)
        except DomainError as exc:
            report_refusal(exc)
        else:
            db.session.commit()
            flash(_("已开考。"), "success")
    return redirect(url_for("cbt.console", session_id=session_id))


@bp.route("/exams/sessions/<int:session_id>/invigilate/end", methods=["POST"])
@allow(*STAFF)
def end(session_id: int) -> Response:
    """End the session: every open paper is submitted."""
    if ConfirmForm().validate_on_submit():
        try:
            count = services.end_run(viewer=current_user, session_id=session_id)
        except DomainError as exc:
            report_refusal(exc)
        else:
            db.session.commit()
            flash(_("考试已结束，%(n)d份试卷已自动提交。", n=count), "success")
    return redirect(url_for("cbt.console", session_id=session_id))


def _act(attempt_id: int, action: Callable[..., object]) -> Response:
    attempt = services.managed_attempt(viewer=current_user, attempt_id=attempt_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            action(viewer=current_user, attempt_id=attempt_id, reason=form.reason.data)
        except DomainError as exc:
            report_refusal(exc)
        else:
            db.session.commit()
            flash(_("已完成。"), "success")
    else:
        flash(_("请写明理由。"), "danger")
    return redirect(url_for("cbt.console", session_id=attempt.session_id))


@bp.route("/exams/attempts/<int:attempt_id>/pause", methods=["POST"])
@allow(*STAFF)
def pause(attempt_id: int) -> Response:
    """Pause one candidate's clock (reason required, audited)."""
    return _act(attempt_id, services.pause)


@bp.route("/exams/attempts/<int:attempt_id>/resume", methods=["POST"])
@allow(*STAFF)
def resume(attempt_id: int) -> Response:
    """Resume a paused candidate (reason required, audited)."""
    return _act(attempt_id, services.resume)


@bp.route("/exams/attempts/<int:attempt_id>/move", methods=["POST"])
@allow(*STAFF)
def move(attempt_id: int) -> Response:
    """Release a candidate's terminal so they sign in at another one (reason required, audited)."""
    return _act(attempt_id, services.move)


@bp.route("/exams/attempts/<int:attempt_id>/extend", methods=["POST"])
@allow(*STAFF)
def extend(attempt_id: int) -> Response:
    """Give one candidate more time (reason required, audited)."""
    attempt = services.managed_attempt(viewer=current_user, attempt_id=attempt_id)
    form = ExtendForm()
    if form.validate_on_submit():
        try:
            services.extend(
                viewer=current_user, attempt_id=attempt_id, minutes=form.minutes.data, reason=form.reason.data
            )
        except DomainError as exc:
            report_refusal(exc)
        else:
            db.session.commit()
            flash(_("已延长考试时间。"), "success")
    else:
        flash_form_errors(form)
    return redirect(url_for("cbt.console", session_id=attempt.session_id))
