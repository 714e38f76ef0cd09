"""Check-in desk pages: thin views over exams.checkin.services."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from exams.checkin import services
from exams.checkin.forms import CaptureForm, ManualForm, ReviewForm, ScanForm, SupervisorForm
from opcert.access import Role, allow
from opcert.accounts.services import LoginRefusedError
from opcert.db import writes
from opcert.errors import DomainError, report_refusal, show_errors
from opcert.extensions import db
from photos.services import ConsentRequiredError, NoReferencePhotoError

bp = Blueprint("checkin", __name__, template_folder="templates")
STAFF = (Role.CENTRE_STAFF,)


@bp.route("/exams/sessions/<int:session_id>/checkin", methods=["GET", "POST"])
@allow(*STAFF)
def desk(session_id: int) -> str | Response:
    """The desk: scan a ticket (or type a 准考证号 or ID number); the session's candidates and their status."""
    form = ScanForm()
    if form.validate_on_submit():
        try:
            booking = services.find_candidate(viewer=current_user, session_id=session_id, scanned=form.scanned.data)
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            return redirect(url_for("checkin.candidate", session_id=session_id, booking_id=booking.id))
    session, bookings = services.session_candidates(viewer=current_user, session_id=session_id)
    return render_template(
        "checkin/desk.html",
        form=form,
        session=session,
        bookings=bookings,
        checkins=services.session_checkins(session.id),
    )


def _candidate_page(session_id: int, booking_id: int, **forms: object) -> str:
    desk = services.desk(viewer=current_user, session_id=session_id, booking_id=booking_id)
    db.session.commit()  # a library photo fetched for the desk is kept
    checkin = desk.checkin
    reference_key, capture_key = services.decision_photos(checkin) if checkin else (None, None)
    return render_template(
        "checkin/candidate.html",
        desk=desk,
        checkin=checkin,
        reference_key=reference_key,
        capture_key=capture_key,
        capture_form=forms.get("capture_form") or CaptureForm(formdata=None),
        manual_form=forms.get("manual_form") or ManualForm(formdata=None),
        review_form=forms.get("review_form") or ReviewForm(formdata=None),
        supervisor_form=forms.get("supervisor_form") or SupervisorForm(formdata=None),
        manual=bool(forms.get("manual")) or not desk.face_check_possible,
    )


@bp.route("/exams/sessions/<int:session_id>/checkin/<int:booking_id>")
@allow(*STAFF)
@writes
def candidate(session_id: int, booking_id: int) -> str:
    """One candidate at the desk: library photo, live camera, the decision made or awaited."""
    return _candidate_page(session_id, booking_id)


@bp.route("/exams/sessions/<int:session_id>/checkin/<int:booking_id>/face", methods=["POST"])
@allow(*STAFF)
def check_face(session_id: int, booking_id: int) -> str | Response:
    """Compare a captured burst with the candidate's photos."""
    form = CaptureForm()
    if not form.validate_on_submit():
        return _candidate_page(session_id, booking_id, capture_form=form)
    images = [f.read() for f in request.files.getlist("frames") if f.filename is not None]
    try:
        services.check_face(viewer=current_user, session_id=session_id, booking_id=booking_id, images=images)
    except (ConsentRequiredError, NoReferencePhotoError) as exc:
        db.session.commit()  # the refusal's audit row
        show_errors(exc)
        return _candidate_page(session_id, booking_id, manual=True)
    except services.CheckInError as exc:
        report_refusal(exc)
        return _candidate_page(session_id, booking_id)
    except DomainError as exc:
        db.session.commit()  # photos' refusal leaves its audit row for the boundary to commit
        show_errors(exc, form)
        return _candidate_page(session_id, booking_id, capture_form=form)
    db.session.commit()
    return redirect(url_for("checkin.candidate", session_id=session_id, booking_id=booking_id))


@bp.route("/exams/sessions/<int:session_id>/checkin/<int:booking_id>/manual", methods=["POST"])
@allow(*STAFF)
def check_manually(session_id: int, booking_id: int) -> str | Response:
    """Admit after checking the ID card: no face consent or no usable photo."""
    form = ManualForm()
    if form.validate_on_submit():
        try:
            services.check_manually(
                viewer=current_user,
                session_id=session_id,
                booking_id=booking_id,
                image=form.photo.data.read(),
                reason=form.reason.data,
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            return redirect(url_for("checkin.candidate", session_id=session_id, booking_id=booking_id))
    return _candidate_page(session_id, booking_id, manual_form=form, manual=True)


@bp.route("/exams/checkins/<int:checkin_id>/review", methods=["POST"])
@allow(*STAFF)
def decide_review(checkin_id: int) -> str | Response:
    """The desk's decision on a borderline comparison."""
    form = ReviewForm()
    checkin = services.pending_checkin(viewer=current_user, checkin_id=checkin_id)
    if form.validate_on_submit():
        try:
            services.decide_review(
                viewer=current_user, checkin_id=checkin_id, admit=form.decision.data == "admit", reason=form.reason.data
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            return redirect(url_for("checkin.candidate", session_id=checkin.session_id, booking_id=checkin.booking_id))
    return _candidate_page(checkin.session_id, checkin.booking_id, review_form=form)


@bp.route("/exams/checkins/<int:checkin_id>/supervisor", methods=["POST"])
@allow(*STAFF)
def decide_no_match(checkin_id: int) -> str | Response:
    """A supervisor's decision on a failed comparison (a second staff account with its password)."""
    form = SupervisorForm()
    checkin = services.pending_checkin(viewer=current_user, checkin_id=checkin_id)
    if form.validate_on_submit():
        try:
            services.decide_no_match(
                viewer=current_user,
                checkin_id=checkin_id,
                admit=form.decision.data == "admit",
                reason=form.reason.data,
                supervisor_account=form.supervisor_account.data,
                supervisor_password=form.supervisor_password.data,
                ip=request.remote_addr or "",
            )
        except LoginRefusedError as exc:
            db.session.commit()  # the throttle's counters and the audit row, as for a refused login
            show_errors(exc, form)
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            return redirect(url_for("checkin.candidate", session_id=checkin.session_id, booking_id=checkin.booking_id))
    return _candidate_page(checkin.session_id, checkin.booking_id, supervisor_form=form)
