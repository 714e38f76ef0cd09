"""Training pages: providers write courses, administrators publish them, trainees enrol and study.

The lesson page's script (static/training/study.js) talks JSON to start, heartbeat and stop; every answer it gets
is computed from the server's clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from opcert.access import Role, allow
from opcert.catalogue.services import offered_items
from opcert.db import utcnow, writes
from opcert.errors import DomainError, report_refusal
from opcert.extensions import csrf, db
from opcert.forms import ConfirmForm
from opcert.timeutil import local_today
from opcert.training import evidence, facechecks, services, study
from opcert.training.forms import AlternativeForm, CourseForm, EnrolForm, LessonForm, MoveLessonForm, ReviewForm
from opcert.training.models import EDITABLE, Course, CoursePurpose, CourseStatus

bp = Blueprint("training", __name__, template_folder="templates")
MANAGERS = (Role.PROVIDER, Role.ADMIN)


def _flash_form_errors(form: Any) -> None:
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "danger")


# --- providers and administrators ----------------------------------------------------------------


@bp.route("/training/courses")
@allow(*MANAGERS)
def list_courses() -> str:
    """The courses the viewer manages."""
    return render_template("training/courses.html", courses=services.list_courses(viewer=current_user))


def _course_form() -> CourseForm:
    form = CourseForm()
    form.item_id.choices = [(i.id, f"{i.code} {i.name}") for i in offered_items()]
    return form


@bp.route("/training/courses/new", methods=["GET", "POST"])
@allow(Role.PROVIDER)
def new_course() -> str | Response:
    """Start a course for an operation item."""
    form = _course_form()
    if form.validate_on_submit():
        try:
            course = services.create_course(
                author=current_user,
                item_id=form.item_id.data,
                purpose=CoursePurpose(form.purpose.data),
                title=form.title.data or "",
                description=form.description.data or "",
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("课程已创建，请添加课时。"), "success")
            return redirect(url_for("training.course", course_id=course.id))
    return render_template("training/course_form.html", form=form)


@bp.route("/training/courses/<int:course_id>")
@allow(*MANAGERS)
def course(course_id: int) -> str:
    """A course with its lessons, the lesson form while it is being written, the review form when submitted."""
    found = services.visible_course(viewer=current_user, course_id=course_id)
    return render_template(
        "training/course.html",
        course=found,
        required=services.required_minutes(found.item, found.purpose),
        lesson_form=LessonForm(formdata=None),
        move_form=MoveLessonForm(formdata=None),
        review_form=ReviewForm(formdata=None),
        confirm=ConfirmForm(formdata=None),
        editable=found.status in EDITABLE and current_user.role is Role.PROVIDER,
        reviewable=found.status is CourseStatus.SUBMITTED and current_user.role is Role.ADMIN,
    )


def _course_post(course_id: int, form: Any, action: Callable[[Course], object], done: str) -> Response:
    """A form's POST on a course: check its shape, run one service, commit, say so; back to the course page."""
    found = services.visible_course(viewer=current_user, course_id=course_id)
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("training.course", course_id=course_id))
    try:
        action(found)
    except DomainError as exc:
        report_refusal(exc)
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("training.course", course_id=course_id))


@bp.route("/training/courses/<int:course_id>/lessons", methods=["POST"])
@allow(Role.PROVIDER)
def add_lesson(course_id: int) -> Response:
    """Append a lesson (text, video or PDF)."""
    form = LessonForm()
    return _course_post(
        course_id, form, lambda course: services.add_lesson(course=course, draft=form.draft()), _("课时已添加。")
    )


@bp.route("/training/courses/<int:course_id>/lessons/<int:lesson_id>/remove", methods=["POST"])
@allow(Role.PROVIDER)
def remove_lesson(course_id: int, lesson_id: int) -> Response:
    """Take a lesson out of a course being written."""
    return _course_post(
        course_id,
        ConfirmForm(),
        lambda course: services.remove_lesson(course=course, lesson_id=lesson_id),
        _("课时已删除。"),
    )


@bp.route("/training/courses/<int:course_id>/lessons/<int:lesson_id>/move", methods=["POST"])
@allow(Role.PROVIDER)
def move_lesson(course_id: int, lesson_id: int) -> Response:
    """Put a lesson at another position (up, down, or a number) in a course being written."""
    form = MoveLessonForm()
    return _course_post(
        course_id,
        form,
        lambda course: services.move_lesson(course=course, lesson_id=lesson_id, position=form.position.data or 0),
        _("课时顺序已更新。"),
    )


@bp.route("/training/courses/<int:course_id>/submit", methods=["POST"])
@allow(Role.PROVIDER)
def submit_course(course_id: int) -> Response:
    """Send the course to the administrators for approval."""
    return _course_post(
        course_id, ConfirmForm(), lambda course: services.submit_course(course=course), _("课程已提交审核。")
    )


@bp.route("/training/courses/<int:course_id>/review", methods=["POST"])
@allow(Role.ADMIN)
def review_course(course_id: int) -> Response:
    """Publish a submitted course or return it."""
    form = ReviewForm()
    return _course_post(
        course_id,
        form,
        lambda course: services.review_course(
            course=course, approve=form.decision.data == "publish", note=form.note.data or ""
        ),
        _("审核结果已保存。"),
    )


@bp.route("/training/lessons/<int:lesson_id>/file")
@allow(Role.TRAINEE, *MANAGERS)
def lesson_file(lesson_id: int) -> Response | tuple[str, int]:
    """A lesson's video or PDF, with HTTP range requests (206) so a video seeks."""
    lesson = services.viewable_lesson(viewer=current_user, lesson_id=lesson_id)
    try:
        path, mimetype = services.lesson_file(lesson)
    except services.MissingFileError as exc:
        return render_template("errors/error.html", code=404, title=_("文件缺失"), message=exc.message), 404
    return send_file(path, mimetype=mimetype, conditional=True, etag=True, max_age=0)


# --- trainees ---------------------------------------------------------------------------------------


@bp.route("/training")
@allow(Role.TRAINEE)
@writes
def my_training() -> str:
    """The trainee's courses with hours credited, and enrolment for an offered item."""
    study.settle(trainee=current_user, now=utcnow())
    db.session.commit()
    form = EnrolForm(formdata=None)
    form.item_id.choices = [(i.id, f"{i.code} {i.name}") for i in services.items_to_enrol(current_user)]
    progress = [
        services.course_progress(trainee=current_user, course=e.course) for e in services.enrolments(current_user)
    ]
    return render_template(
        "training/my_training.html",
        form=form,
        progress=progress,
        fmt=services.format_minutes,
        confirm=ConfirmForm(formdata=None),
    )


@bp.route("/training/enrol", methods=["POST"])
@allow(Role.TRAINEE)
def enrol() -> Response:
    """Enrol in the chosen item's published course of the posted purpose (initial training unless said)."""
    form = EnrolForm()
    form.item_id.choices = [(i.id, i.name) for i in offered_items()]
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("training.my_training"))
    purpose = CoursePurpose(form.purpose.data)
    try:
        services.enrol(trainee=current_user, item_id=form.item_id.data, on=local_today(), purpose=purpose)
    except DomainError as exc:
        report_refusal(exc)
        return redirect(url_for("training.my_training"))
    db.session.commit()
    flash(_("报名成功，可以开始学习。"), "success")
    return redirect(url_for("training.my_training"))


@bp.route("/training/courses/<int:course_id>/new-round", methods=["POST"])
@allow(Role.TRAINEE)
def start_new_round(course_id: int) -> Response:
    """Study a completed review course again for the next review period (复审)."""
    course = services.enrolled_course(trainee=current_user, course_id=course_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
        return redirect(url_for("training.my_training"))
    try:
        started = services.start_new_round(trainee=current_user, course=course)
    except DomainError as exc:
        report_refusal(exc)
        return redirect(url_for("training.my_training"))
    db.session.commit()
    if started:
        flash(_("新一轮复审培训已开始：此后的学习计入本轮。"), "success")
    return redirect(url_for("training.my_training"))


@bp.route("/training/lessons/<int:lesson_id>")
@allow(Role.TRAINEE)
def lesson(lesson_id: int) -> str:
    """The lesson page: content, the study clock the server keeps, and the face check when asked."""
    found = services.study_lesson(trainee=current_user, lesson_id=lesson_id)
    progress = services.course_progress(trainee=current_user, course=found.course)
    mine = next(p for p in progress.lessons if p.lesson.id == found.id)
    return render_template(
        "training/lesson.html",
        lesson=found,
        mine=mine,
        fmt=services.format_minutes,
        settings=study.page_settings(),
        alternative=study.needs_alternative(current_user),
    )


def _refused(exc: DomainError, status: int = 409) -> tuple[Response, int]:
    db.session.rollback()
    code = getattr(exc, "code", "refused")
    from flask import current_app

    current_app.logger.info("study refused for trainee %s: %s", current_user.id, code)
    seq = getattr(exc, "seq", None)
    extra = {"seq": seq} if seq is not None else {}
    return jsonify(ok=False, code=code, message=exc.message, **extra), status


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.route("/training/lessons/<int:lesson_id>/start", methods=["POST"])
@allow(Role.TRAINEE)
def start_study(lesson_id: int) -> Response | tuple[Response, int]:
    """Take the study lease for this page (one lesson, one page, one device at a time)."""
    try:
        lease = study.start_study(trainee=current_user, lesson_id=lesson_id, now=utcnow())
    except study.StudyRefusedError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify(ok=True, token=lease.token, seq=lease.seq)


@bp.route("/training/lessons/<int:lesson_id>/beat", methods=["POST"])
@allow(Role.TRAINEE)
@csrf.exempt  # the page's lease token is its anti-forgery secret (docs/decisions/0006-heartbeat-forgery.md)
def heartbeat(lesson_id: int) -> Response | tuple[Response, int]:
    """One heartbeat: the server credits the time since the previous one by its own clock. It acts only for the
    page holding the study lease, named by a token only that page was given (by `start_study`, which takes the
    CSRF token), in a JSON body (a cross-site form cannot send one): a forged request credits nothing."""
    body = _json_body()
    token, seq = body.get("token"), body.get("seq")
    if not isinstance(token, str) or not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < 2**31:
        return jsonify(ok=False, code="malformed", message=_("心跳格式无效，不计学时。")), 400
    try:
        result = study.heartbeat(
            trainee=current_user,
            lesson_id=lesson_id,
            token=token,
            seq=seq,
            visible=body.get("visible") is True,
            active=body.get("active") is True,
            played=body.get("played", []),
            now=utcnow(),
        )
    except study.StudyRefusedError as exc:
        return _refused(exc)
    db.session.commit()
    return jsonify(
        ok=True,
        credited=result.credited,
        lesson_seconds=result.lesson_seconds,
        # The page's text changes only with the total (a beat that credits nothing leaves it as shown).
        lesson_text=services.format_minutes(result.lesson_seconds) if result.total_changed else None,
        reason=result.reason,
        check_due=result.check_due_by is not None,
        blocked=result.blocked,
    )


@bp.route("/training/lessons/<int:lesson_id>/stop", methods=["POST"])
@allow(Role.TRAINEE)
def stop_study(lesson_id: int) -> tuple[str, int]:
    """The page is closing (sent as a beacon): settle its time and free the lease."""
    token = request.form.get("token") or str(_json_body().get("token") or "")
    services.study_lesson(trainee=current_user, lesson_id=lesson_id)
    study.stop_study(trainee=current_user, token=token, now=utcnow())
    db.session.commit()
    return "", 204


@bp.route("/training/lessons/<int:lesson_id>/face", methods=["POST"])
@allow(Role.TRAINEE)
def face_check(lesson_id: int) -> Response | tuple[Response, int]:
    """A capture burst for the face check the page was asked for: pass keeps the clock, failure discards time."""
    services.study_lesson(trainee=current_user, lesson_id=lesson_id)
    images = [upload.read() for upload in request.files.getlist("frame")][:20]
    try:
        passed = facechecks.answer_face_check(
            trainee=current_user,
            lesson_id=lesson_id,
            token=request.form.get("token", ""),
            images=images,
            now=utcnow(),
        )
    except study.StudyRefusedError as exc:
        return _refused(exc)
    except DomainError as exc:
        db.session.commit()  # photos' face.refused audit row is kept, as a refused login's is
        return jsonify(ok=False, code="retake", message=exc.message), 422
    db.session.commit()
    message = _("核验通过，继续计时。") if passed else _("核验未通过：本段学时作废，请本人正对摄像头重新核验。")
    return jsonify(ok=True, passed=passed, message=message)


# --- evidence for staff ------------------------------------------------------------------------------


@bp.route("/training/trainees")
@allow(*MANAGERS)
def trainees() -> str:
    """Trainees in the viewer's courses, those waiting for a flag review marked."""
    found = evidence.trainees_for(current_user)
    flagged = evidence.flagged_ids([t.id for t in found])
    return render_template("training/trainees.html", trainees=found, flagged=flagged)


@bp.route("/training/trainees/<int:trainee_id>")
@allow(*MANAGERS)
def trainee_record(trainee_id: int) -> str:
    """Every credited interval and face check of one trainee, with staff decisions."""
    learner = evidence.trainee_for_staff(viewer=current_user, trainee_id=trainee_id)
    return render_template(
        "training/record.html",
        record=evidence.record_of(learner),
        form=AlternativeForm(formdata=None),
        confirm=ConfirmForm(formdata=None),
        fmt=services.format_minutes,
    )


def _export(trainee_id: int, make: Callable[[Any], Any], mimetype: str, suffix: str) -> Response:
    """One trainee's record in one format (the export is audited, then committed)."""
    learner = evidence.trainee_for_staff(viewer=current_user, trainee_id=trainee_id)
    body = make(learner)
    db.session.commit()
    if mimetype == "application/json":
        return jsonify(body)
    disposition = f"attachment; filename=training-{trainee_id}.{suffix}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": disposition})


@bp.route("/training/trainees/<int:trainee_id>/record.csv")
@allow(*MANAGERS)
def record_csv(trainee_id: int) -> Response:
    """The record as CSV (audited)."""
    return _export(trainee_id, evidence.evidence_csv, "text/csv", "csv")


@bp.route("/training/trainees/<int:trainee_id>/record.pdf")
@allow(*MANAGERS)
def record_pdf(trainee_id: int) -> Response:
    """The record as PDF (audited)."""
    return _export(trainee_id, evidence.evidence_pdf, "application/pdf", "pdf")


@bp.route("/training/trainees/<int:trainee_id>/xapi.json")
@allow(*MANAGERS)
def record_xapi(trainee_id: int) -> Response:
    """The credited intervals as xAPI statements with the server's durations (audited)."""
    return _export(trainee_id, evidence.xapi_statements, "application/json", "json")


@bp.route("/training/trainees/<int:trainee_id>/alternative", methods=["POST"])
@allow(*MANAGERS)
def approve_alternative(trainee_id: int) -> Response:
    """Staff checked the person another way: the hours waiting for it count."""
    learner = evidence.trainee_for_staff(viewer=current_user, trainee_id=trainee_id)
    form = AlternativeForm()
    if form.validate_on_submit():
        try:
            seconds = evidence.approve_alternative(staff=current_user, trainee=learner, note=form.note.data or "")
        except DomainError as exc:
            report_refusal(exc)
        else:
            db.session.commit()
            flash(_("人工核验已记录，%(t)s学时已计入。", t=services.format_minutes(seconds)), "success")
    else:
        _flash_form_errors(form)
    return redirect(url_for("training.trainee_record", trainee_id=trainee_id))


@bp.route("/training/trainees/<int:trainee_id>/clear-flag", methods=["POST"])
@allow(*MANAGERS)
def clear_flag(trainee_id: int) -> Response:
    """Staff reviewed a flagged account."""
    learner = evidence.trainee_for_staff(viewer=current_user, trainee_id=trainee_id)
    if ConfirmForm().validate_on_submit():
        try:
            evidence.clear_flag(staff=current_user, trainee=learner)
        except DomainError as exc:
            report_refusal(exc)
        else:
            db.session.commit()
            flash(_("复核标记已解除。"), "success")
    return redirect(url_for("training.trainee_record", trainee_id=trainee_id))
