"""Practice pages for trainees: by knowledge point, the wrong-answer book, timed mock exams (thin views)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from exams.bank import services as bank
from exams.practice import mock, services
from exams.practice.forms import MockAnswerForm, PracticeAnswerForm, StartMockForm, SubmitMockForm
from exams.practice.models import PracticeMode
from opcert.access import Role, allow
from opcert.db import utcnow, writes
from opcert.errors import DomainError, flash_form_errors, report_refusal
from opcert.extensions import db

bp = Blueprint("practice", __name__, url_prefix="/practice", template_folder="templates")


def _mode() -> PracticeMode:
    return PracticeMode.REVIEW if request.args.get("mode") == PracticeMode.REVIEW.value else PracticeMode.POINT


def _point() -> str:
    return request.args.get("point", "")[:60]


@bp.route("/")
@allow(Role.TRAINEE)
def index() -> str:
    """The offered items to practise (those applied for first), with the trainee's open wrong answers."""
    return render_template(
        "practice/index.html",
        choices=services.practice_items(trainee_id=current_user.id),
        wrong=services.total_wrong(trainee_id=current_user.id),
    )


@bp.route("/items/<int:item_id>")
@allow(Role.TRAINEE)
def item(item_id: int) -> str:
    """An item's knowledge points, the wrong-answer book's counts, and its mock exams."""
    item = services.practice_item(item_id)
    return render_template(
        "practice/item.html",
        item=item,
        points=services.point_summaries(trainee_id=current_user.id, item_id=item.id),
        wrong=services.wrong_counts(trainee_id=current_user.id, item_id=item.id),
        mocks=mock.list_mocks(trainee_id=current_user.id, item_id=item.id),
        running=mock.running_mock(trainee_id=current_user.id, item_id=item.id),
        spec=mock.mock_spec(),
        start_form=StartMockForm(),
    )


@bp.route("/items/<int:item_id>/question")
@allow(Role.TRAINEE)
def question(item_id: int) -> str | Response:
    """One question (the least practised of the point, or the wrong answer seen longest ago), one per screen."""
    item = services.practice_item(item_id)
    mode, point = _mode(), _point()
    wanted = request.args.get("question_id", 0, type=int)
    try:
        if 0 < wanted <= 2**31 - 1:
            shown = services.practice_question(item_id=item.id, question_id=wanted)
        elif mode == PracticeMode.REVIEW:
            shown = services.next_review(trainee_id=current_user.id, item_id=item.id, point=point)
        else:
            shown = services.next_question(trainee_id=current_user.id, item_id=item.id, point=point)
    except DomainError as exc:
        report_refusal(exc)
        return redirect(url_for("practice.item", item_id=item.id))
    form = PracticeAnswerForm(formdata=None)
    form.question_id.data = shown.id
    form.after.data = services.last_answer_id(trainee_id=current_user.id, question_id=shown.id)
    form.point.data = point
    return render_template(
        "practice/question.html",
        item=item,
        question=shown,
        letters=services.choice_letters(shown),
        form=form,
        mode=mode,
        point=point,
        wrong=services.open_wrong_answer(trainee_id=current_user.id, question_id=shown.id),
    )


@bp.route("/items/<int:item_id>/answer", methods=["POST"])
@allow(Role.TRAINEE)
def answer(item_id: int) -> Response:
    """Record the answer, then show the feedback page (the key and the explanation)."""
    item = services.practice_item(item_id)
    form = PracticeAnswerForm()
    mode = _mode()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("practice.item", item_id=item.id))
    point = form.point.data or ""
    try:
        given = services.answer_question(
            trainee_id=current_user.id,
            item_id=item.id,
            question_id=form.question_id.data or 0,
            choice=form.choice.data or [],
            mode=mode,
            after=form.after.data or 0,
        )
    except DomainError as exc:
        report_refusal(exc)
        again = {"question_id": form.question_id.data} if "choice" in exc.reasons else {}
        return redirect(url_for("practice.question", item_id=item.id, mode=mode.value, point=point, **again))
    db.session.commit()
    return redirect(url_for("practice.feedback", answer_id=given.id, mode=mode.value, point=point))


@bp.route("/answers/<int:answer_id>")
@allow(Role.TRAINEE)
def feedback(answer_id: int) -> str:
    """Right or wrong, the key, the explanation, and the question's place in the wrong-answer book."""
    given = services.get_answer(trainee_id=current_user.id, answer_id=answer_id)
    return render_template(
        "practice/feedback.html",
        given=given,
        question=given.question,
        letters=services.choice_letters(given.question),
        wrong=services.wrong_row(trainee_id=current_user.id, question_id=given.question_id),
        streak=services.review_streak(),
        mode=_mode(),
        point=_point(),
    )


@bp.route("/items/<int:item_id>/wrong")
@allow(Role.TRAINEE)
def wrong_book(item_id: int) -> str:
    """The open wrong answers of an item, counted per knowledge point."""
    item = services.practice_item(item_id)
    point = _point()
    return render_template(
        "practice/wrong.html",
        item=item,
        rows=services.wrong_answers(trainee_id=current_user.id, item_id=item.id, point=point),
        counts=services.wrong_counts(trainee_id=current_user.id, item_id=item.id),
        point=point,
        streak=services.review_streak(),
    )


@bp.route("/questions/<int:question_id>/image")
@allow(Role.TRAINEE)
def question_image(question_id: int) -> Response:
    """The image of an active question of an offered item (practice and mock pages)."""
    data = bank.question_image(services.question_for_image(question_id))
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- mock exams ------------------------------------------------------------------------------------------------


@bp.route("/items/<int:item_id>/mock", methods=["POST"])
@allow(Role.TRAINEE)
def start_mock(item_id: int) -> Response:
    """Start a mock exam (or go back to the running one); a short bank is named with what it lacks."""
    item = services.practice_item(item_id)
    if not StartMockForm().validate_on_submit():
        return redirect(url_for("practice.item", item_id=item.id))
    try:
        started = mock.start_mock(trainee_id=current_user.id, item_id=item.id)
    except DomainError as exc:
        report_refusal(exc)
        return redirect(url_for("practice.item", item_id=item.id))
    db.session.commit()
    return redirect(url_for("practice.mock_question", mock_id=started.id))


@bp.route("/mock/<int:mock_id>")
@allow(Role.TRAINEE)
@writes
def mock_question(mock_id: int) -> str | Response:
    """One question of the running mock with the server's remaining time; after the time, the result."""
    now = utcnow()
    exam = mock.get_mock(trainee_id=current_user.id, mock_id=mock_id, now=now)
    db.session.commit()  # a mock whose time ran out has just been graded
    if exam.finished:
        return redirect(url_for("practice.mock_result", mock_id=exam.id))
    questions = mock.mock_questions(exam)
    number = min(max(request.args.get("n", 1, type=int), 1), len(questions))
    current = questions[number - 1]
    form = MockAnswerForm(formdata=None)
    form.question_id.data = current.shown.question.id
    return render_template(
        "practice/mock.html",
        exam=exam,
        questions=questions,
        current=current,
        number=number,
        letters=services.choice_letters(current.shown.question),
        form=form,
        submit_form=SubmitMockForm(formdata=None),
        remaining=mock.remaining_seconds(exam, now),
    )


@bp.route("/mock/<int:mock_id>/answer", methods=["POST"])
@allow(Role.TRAINEE)
def mock_answer(mock_id: int) -> Response:
    """Save one answer of the mock (refused after the time or once handed in), then go to the next question."""
    form = MockAnswerForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("practice.mock_question", mock_id=mock_id))
    try:
        outcome, number = mock.save_answer(
            trainee_id=current_user.id,
            mock_id=mock_id,
            question_id=form.question_id.data or 0,
            choice=form.choice.data or [],
        )
    except mock.MockFinishedError as exc:
        report_refusal(exc)
        return redirect(url_for("practice.mock_result", mock_id=mock_id))
    except DomainError as exc:
        report_refusal(exc)
        return redirect(url_for("practice.mock_question", mock_id=mock_id, n=request.args.get("n", 1, type=int)))
    db.session.commit()
    if outcome is mock.SaveOutcome.TIME_UP:
        flash(_("考试时间已到，这次作答没有保存，试卷已自动交卷。"), "warning")
        return redirect(url_for("practice.mock_result", mock_id=mock_id))
    return redirect(url_for("practice.mock_question", mock_id=mock_id, n=number + 1))


@bp.route("/mock/<int:mock_id>/submit", methods=["POST"])
@allow(Role.TRAINEE)
def submit_mock(mock_id: int) -> Response:
    """Hand the mock in; it is graded at once."""
    if not SubmitMockForm().validate_on_submit():
        return redirect(url_for("practice.mock_question", mock_id=mock_id))
    try:
        mock.submit_mock(trainee_id=current_user.id, mock_id=mock_id)
    except mock.MockFinishedError as exc:
        report_refusal(exc)
    else:
        db.session.commit()
    return redirect(url_for("practice.mock_result", mock_id=mock_id))


@bp.route("/mock/<int:mock_id>/result")
@allow(Role.TRAINEE)
@writes
def mock_result(mock_id: int) -> str | Response:
    """The graded mock: score, pass or not, each knowledge point's share, every question with its key."""
    try:
        exam = mock.graded_mock(trainee_id=current_user.id, mock_id=mock_id)
    except DomainError as exc:
        report_refusal(exc)
        return redirect(url_for("practice.mock_question", mock_id=mock_id))
    db.session.commit()
    return render_template(
        "practice/mock_result.html",
        exam=exam,
        points=mock.point_results(exam),
        questions=mock.reviewed_questions(exam),
    )
