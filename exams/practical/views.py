"""Practical-exam pages: centre staff assign examiners and draw tasks; examiners mark; agreement report."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from exams.practical import bank, services
from exams.practical.forms import AssignExaminerForm, TaskFileForm, marking_form
from exams.sessions import scoping
from opcert.access import Role, allow
from opcert.errors import DomainError, NotFoundError, report_refusal, show_errors
from opcert.extensions import db
from opcert.forms import ConfirmForm

bp = Blueprint("practical", __name__, template_folder="templates")
MANAGERS = (Role.CENTRE_STAFF, Role.ADMIN)


def _managed(session_id: int):  # type: ignore[no-untyped-def]
    session = scoping.managed_session(viewer=current_user, session_id=session_id)
    try:
        return services.practical_session(session)
    except DomainError:
        raise NotFoundError(_("考试场次不存在。")) from None


def _assign_form() -> AssignExaminerForm:
    form = AssignExaminerForm()
    form.examiner_id.choices = [
        (u.id, f"{u.real_name}（{u.organisation.name if u.organisation else ''}）") for u in services.examiner_choices()
    ]
    return form


@bp.route("/exams/practical/sessions/<int:session_id>")
@allow(*MANAGERS)
def manage(session_id: int) -> str:
    """A practical session: its examiners, the draw, every candidate's sheet."""
    session = _managed(session_id)
    return render_template(
        "practical/manage.html",
        session=session,
        examiners=services.assignments(session_id=session.id),
        sheets=services.session_sheets(session_id=session.id),
        assign_form=_assign_form(),
        draw_form=ConfirmForm(),
    )


@bp.route("/exams/practical/sessions/<int:session_id>/examiners", methods=["POST"])
@allow(*MANAGERS)
def assign(session_id: int) -> Response:
    """Assign an examiner to the session."""
    session = _managed(session_id)
    form = _assign_form()
    if form.validate_on_submit():
        try:
            services.assign_examiner(session=session, examiner_id=form.examiner_id.data, by=current_user)
        except DomainError as exc:
            report_refusal(exc)
        else:
            db.session.commit()
            flash(_("已安排考评员。"), "success")
    else:
        flash(_("请选择考评员。"), "danger")
    return redirect(url_for("practical.manage", session_id=session_id))


@bp.route("/exams/practical/sessions/<int:session_id>/draw", methods=["POST"])
@allow(*MANAGERS)
def draw(session_id: int) -> Response:
    """Draw the tasks for every seated candidate without a sheet."""
    session = _managed(session_id)
    if ConfirmForm().validate_on_submit():
        try:
            made = services.draw_tasks(session=session)
        except DomainError as exc:
            report_refusal(exc)
        else:
            db.session.commit()
            flash(_("已为%(n)d名考生抽取考题。", n=len(made)), "success")
    return redirect(url_for("practical.manage", session_id=session_id))


@bp.route("/exams/practical/agreement")
@allow(*MANAGERS)
def agreement() -> str:
    """Cohen's kappa per examiner (pass/fail per subject against the other examiners of the same candidates)."""
    return render_template("practical/agreement.html", rows=services.agreement_for(viewer=current_user))


@bp.route("/exams/practical/tasks", methods=["GET", "POST"])
@allow(Role.ADMIN, Role.PROVIDER)
def tasks() -> str | Response:
    """The practical task bank with its rubrics; a TOML file replaces tasks by item and code (all or nothing)."""
    form = TaskFileForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            count = bank.load_tasks_data(upload.read(), name=upload.filename or "")
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("已导入%(n)d个实操任务。", n=count), "success")
            return redirect(url_for("practical.tasks"))
    return render_template("practical/tasks.html", tasks=bank.list_tasks(), form=form)


@bp.route("/exams/practical/mine")
@allow(Role.EXAMINER)
def my_sessions() -> str:
    """The sessions the examiner is assigned to."""
    return render_template("practical/my_sessions.html", sessions=services.examiner_sessions(examiner=current_user))


@bp.route("/exams/practical/mine/<int:session_id>")
@allow(Role.EXAMINER)
def my_session(session_id: int) -> str:
    """The candidates of one of the examiner's sessions."""
    session = services.assigned_session(examiner=current_user, session_id=session_id)
    return render_template(
        "practical/my_session.html",
        session=session,
        sheets=services.session_sheets(session_id=session.id),
        me=current_user.id,
    )


@bp.route("/exams/practical/sheets/<int:sheet_id>", methods=["GET", "POST"])
@allow(Role.EXAMINER)
def mark(sheet_id: int) -> str | Response:
    """Mark a candidate: save marks, or sign them off (locked); blind to the other marks until all are signed."""
    try:
        sheet, own = services.sheet_for_examiner(examiner=current_user, sheet_id=sheet_id)
    except services.PracticalError as exc:
        return _refused(sheet_id, exc)
    lines = [line for draw in sheet.draws for line in draw.task.lines]
    form = marking_form(lines)
    if form.validate_on_submit():
        try:
            services.save_marking(
                examiner=current_user,
                sheet_id=sheet_id,
                points=form.points(lines),
                vetoes=form.vetoes(lines),
                sign=bool(form.sign.data),
            )
        except services.PracticalError as exc:
            _log_refusal(sheet_id, exc)
            show_errors(exc, form)  # the typed marks stay on the page; what was saved before is untouched
        else:
            db.session.commit()
            flash(_("评分已签字确认。") if form.sign.data else _("评分已保存。"), "success")
            return redirect(url_for("practical.mark", sheet_id=sheet_id))
    if own is not None and not form.is_submitted():
        for mark in own.marks:
            field = form[f"line_{mark.line_id}"]
            field.data = mark.vetoed if mark.line.is_veto else mark.points
    return render_template(
        "practical/mark.html",
        sheet=sheet,
        own=own,
        form=form,
        others=services.visible_markings(viewer=own) if own is not None else [],
    )


def _log_refusal(sheet_id: int, error: services.PracticalError) -> None:
    """Undo the refused work and keep only its audit row."""
    db.session.rollback()
    services.record_refusal(examiner=current_user, sheet_id=sheet_id, error=error)
    db.session.commit()


def _refused(sheet_id: int, error: services.PracticalError) -> Response:
    """A sheet the examiner may not mark: logged, said, back to their sessions."""
    _log_refusal(sheet_id, error)
    show_errors(error)
    return redirect(url_for("practical.my_sessions"))
