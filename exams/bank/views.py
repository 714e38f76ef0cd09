"""Question bank pages for administrators and training providers: thin views over exams.bank.services."""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from exams.bank import importer, services
from exams.bank.forms import (
    BlueprintForm,
    GenerateForm,
    ImportForm,
    QuestionForm,
    QuestionImageForm,
    RemoveImageForm,
    StatusForm,
)
from exams.bank.models import OPTION_LETTERS, Question, QuestionKind, QuestionStatus
from exams.papers import services as papers
from opcert.access import Role, allow
from opcert.catalogue.services import get_item, list_categories
from opcert.errors import DomainError, report_refusal
from opcert.extensions import db

bp = Blueprint("bank", __name__, template_folder="templates", url_prefix="/admin/bank")

MANAGERS = (Role.ADMIN, Role.PROVIDER)
_MIMETYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _caller() -> services.Caller:
    """The caller's role and organisation, as the bank's ownership rules take them."""
    return services.Caller(role=current_user.role, organisation_id=current_user.organisation_id)


def _managed_question(question_id: int) -> Question:
    """A question the caller may change; 404 when unknown, 403 with the reason when another owner's."""
    question = services.get_question(question_id)
    services.check_can_manage(question, **_caller())
    return question


@bp.route("/")
@allow(*MANAGERS)
def index() -> str:
    """Every operation item with the size of its bank."""
    return render_template("bank/index.html", categories=list_categories(), counts=services.count_questions())


@bp.route("/format")
@allow(*MANAGERS)
def file_format() -> str:
    """The question file format, described from the importer's own rules, with the templates to download."""
    return render_template(
        "bank/format.html",
        columns=importer.column_rules(),
        examples=importer.template_rows(),
        max_rows=int(current_app.config["QUESTION_IMPORT_MAX_QUESTIONS"]),
    )


@bp.route("/template.<string:file_format>")
@allow(*MANAGERS)
def download_template(file_format: str) -> Response:
    """An empty bank file (header and two example rows) to fill in, as CSV with BOM or XLSX."""
    try:
        name, data = services.question_template(file_format)
    except DomainError:
        abort(404)
    return send_file(io.BytesIO(data), mimetype=_MIMETYPES[file_format], as_attachment=True, download_name=name)


@bp.route("/items/<int:item_id>")
@allow(*MANAGERS)
def list_questions(item_id: int) -> str:
    """An item's questions, filtered by kind, status, knowledge point and text."""
    item = get_item(item_id)
    kind = request.args.get("kind", "")
    status = request.args.get("status", "")
    point = request.args.get("point", "")
    search = request.args.get("q", "")
    questions = services.list_questions(
        item_id=item.id,
        kind=QuestionKind(kind) if kind in QuestionKind.__members__.values() else None,
        status=QuestionStatus(status) if status in QuestionStatus.__members__.values() else None,
        knowledge_point=point,
        search=search,
    )
    return render_template(
        "bank/questions.html",
        item=item,
        questions=questions,
        manageable={q.id for q in questions if services.can_manage(q, **_caller())},
        points=services.knowledge_points(item.id),
        filters={"kind": kind, "status": status, "point": point, "q": search},
        blueprint=services.effective_blueprint(item),
        letters=OPTION_LETTERS,
        status_form=StatusForm,
    )


@bp.route("/items/<int:item_id>/import", methods=["GET", "POST"])
@allow(*MANAGERS)
def import_questions(item_id: int) -> str | Response:
    """Upload a CSV or XLSX file; every question goes in, or none and every error is listed."""
    item = get_item(item_id)
    form = ImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            added = services.import_questions(
                item_id=item.id,
                filename=upload.filename or "",
                data=upload.read(),
                organisation_id=services.owner_for(**_caller()),
            )
        except services.QuestionImportError as exc:
            db.session.rollback()
            problems = [str(p) for p in exc.problems]
            flash(exc.message, "danger")
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("已导入%(n)d道题。", n=len(added)), "success")
            return redirect(url_for("bank.list_questions", item_id=item.id))
    return render_template("bank/import.html", item=item, form=form, problems=problems)


@bp.route("/items/<int:item_id>/export.<string:file_format>")
@allow(*MANAGERS)
def export_questions(item_id: int, file_format: str) -> Response:
    """Download the item's questions as CSV or XLSX in the import format."""
    item = get_item(item_id)
    try:
        name, data = services.export_questions(item_id=item.id, file_format=file_format)
    except DomainError:
        abort(404)
    return send_file(io.BytesIO(data), mimetype=_MIMETYPES[file_format], as_attachment=True, download_name=name)


@bp.route("/items/<int:item_id>/questions/new", methods=["GET", "POST"], defaults={"question_id": None})
@bp.route("/items/<int:item_id>/questions/<int:question_id>/edit", methods=["GET", "POST"])
@allow(*MANAGERS)
def edit_question(item_id: int, question_id: int | None) -> str | Response:
    """Create or edit one question; another owner's question is shown read-only and a POST to it refused."""
    item = get_item(item_id)
    question = services.get_question(question_id) if question_id is not None else None
    if question is not None and question.item_id != item.id:
        abort(404)
    if question is not None and request.method == "POST":
        services.check_can_manage(question, **_caller())
    form = QuestionForm.showing(question) if question is not None and request.method != "POST" else QuestionForm()
    if form.validate_on_submit():
        try:
            saved = services.save_question(question=question, item_id=item.id, values=form.values(), **_caller())
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("题目%(id)d已保存。", id=saved.id), "success")
            return redirect(url_for("bank.list_questions", item_id=item.id))
    return _question_page(item.id, question, form, QuestionImageForm(formdata=None))


def _question_page(item_id: int, question: Question | None, form: QuestionForm, image_form: QuestionImageForm) -> str:
    return render_template(
        "bank/question.html",
        item=get_item(item_id),
        question=question,
        form=form,
        image_form=image_form,
        remove_form=RemoveImageForm(formdata=None),
        manageable=question is None or services.can_manage(question, **_caller()),
        letters=OPTION_LETTERS,
    )


@bp.route("/questions/<int:question_id>/image", methods=["POST"])
@allow(*MANAGERS)
def upload_question_image(question_id: int) -> str | Response:
    """Attach or replace the question's image; a refused file leaves everything as it was."""
    question = _managed_question(question_id)
    form = QuestionImageForm()
    if form.validate_on_submit():
        try:
            replaced = services.set_question_image(question=question, data=form.image.data.read(), **_caller())
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            services.discard_image_file(replaced)
            flash(_("题目%(id)d的图片已保存。", id=question.id), "success")
            return redirect(url_for("bank.edit_question", item_id=question.item_id, question_id=question.id))
    return _question_page(question.item_id, question, QuestionForm.showing(question), form)


@bp.route("/questions/<int:question_id>/image/remove", methods=["POST"])
@allow(*MANAGERS)
def remove_question_image(question_id: int) -> Response:
    """Remove the question's image."""
    question = _managed_question(question_id)
    if RemoveImageForm().validate_on_submit():
        removed = services.remove_question_image(question=question, **_caller())
        db.session.commit()
        services.discard_image_file(removed)
        flash(_("题目%(id)d的图片已删除。", id=question.id), "success")
    return redirect(url_for("bank.edit_question", item_id=question.item_id, question_id=question.id))


@bp.route("/questions/<int:question_id>/image")
@allow(*MANAGERS)
def question_image(question_id: int) -> Response:
    """The question's image, for the bank's own pages.

    Candidates are not admitted here: the theory exam page will serve the images of their own paper's questions
    through its own route when it is built.
    """
    question = services.get_question(question_id)
    data = services.question_image(question)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/questions/<int:question_id>/status", methods=["POST"])
@allow(*MANAGERS)
def change_status(question_id: int) -> Response:
    """Activate, retire or reinstate a question."""
    question = _managed_question(question_id)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            services.change_status(question=question, status=QuestionStatus(form.status.data), **_caller())
        except DomainError as exc:
            report_refusal(exc)
        else:
            db.session.commit()
            flash(_("题目状态已更改。"), "success")
    else:
        flash(_("请选择有效的状态。"), "danger")
    return redirect(url_for("bank.list_questions", item_id=question.item_id))


@bp.route("/items/<int:item_id>/blueprint", methods=["GET", "POST"])
@allow(*MANAGERS)
def edit_blueprint(item_id: int) -> str | Response:
    """Edit how many questions of each kind and knowledge point a paper has, points, duration and pass mark."""
    item = get_item(item_id)
    spec = services.effective_blueprint(item)
    form = BlueprintForm()
    if not form.is_submitted():
        form.show(spec)
    if form.validate_on_submit():
        try:
            services.save_blueprint(
                item_id=item.id,
                rows=form.row_specs(),
                duration_minutes=form.duration_minutes.data or 0,
                pass_mark=form.pass_mark.data or 0,
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("组卷规则已保存。"), "success")
            return redirect(url_for("bank.list_questions", item_id=item.id))
    return render_template("bank/blueprint.html", item=item, form=form, spec=spec)


@bp.route("/items/<int:item_id>/sample", methods=["GET", "POST"])
@allow(*MANAGERS)
def generate_sample(item_id: int) -> str | Response:
    """Draw a sample paper to check the bank against the blueprint."""
    item = get_item(item_id)
    form = GenerateForm()
    if form.validate_on_submit():
        try:
            paper = papers.generate_paper(item_id=item.id, purpose="sample")
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            return redirect(url_for("bank.show_paper", paper_id=paper.id))
    return render_template("bank/sample.html", item=item, form=form, spec=services.effective_blueprint(item))


@bp.route("/papers/<int:paper_id>")
@allow(*MANAGERS)
def show_paper(paper_id: int) -> str:
    """A generated paper with its answer key."""
    paper = papers.get_paper(paper_id)
    return render_template(
        "bank/paper.html", paper=paper, questions=papers.paper_questions(paper), letters=OPTION_LETTERS
    )


@bp.route("/items/<int:item_id>/statistics")
@allow(*MANAGERS)
def statistics(item_id: int) -> str:
    """Facility and discrimination of the item's answered questions; questions to check are flagged."""
    item = get_item(item_id)
    return render_template("bank/statistics.html", item=item, report=services.item_statistics(item.id))
