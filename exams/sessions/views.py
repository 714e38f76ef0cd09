"""Session and booking pages: thin views over the scoping, planning, applications and bookings services."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from exams.sessions import applications, bookings, planning, scoping
from exams.sessions.eligibility import current_commitment, eligibility_problems
from exams.sessions.forms import (
    BookForm,
    CancelBookingForm,
    CancelSessionForm,
    CommitmentForm,
    RescheduleForm,
    RoomForm,
    SessionForm,
    SessionStatusForm,
)
from exams.sessions.models import (
    SESSION_TRANSITIONS,
    Booking,
    BookingStatus,
    ExamSession,
    Room,
    RoomLayout,
    SessionStatus,
)
from exams.sessions.tickets import render_ticket_pdf, ticket_html
from opcert.access import Role, allow
from opcert.catalogue.services import offered_items
from opcert.db import utcnow, writes
from opcert.errors import DomainError, add_rule_errors, report_refusal
from opcert.extensions import db
from opcert.forms import ConfirmForm
from opcert.timeutil import to_local

bp = Blueprint("sessions", __name__, template_folder="templates")
MANAGERS = (Role.CENTRE_STAFF, Role.ADMIN)


# --- trainee pages ---------------------------------------------------------------------------------


@bp.route("/exams/sessions")
@allow(Role.TRAINEE)
def list_sessions() -> str:
    """Open sessions for offered items."""
    return render_template(
        "sessions/list.html",
        sessions=bookings.bookable_sessions(),
        commitment=current_commitment(current_user),
    )


def _book_form(session: ExamSession) -> BookForm:
    form = BookForm()
    form.item_id.choices = [(i.id, f"{i.code} {i.name}") for i in session.items if i.offered]
    return form


@bp.route("/exams/sessions/<int:session_id>")
@allow(Role.TRAINEE)
def session_detail(session_id: int) -> str:
    """A session, with the booking (or waitlist) form and what still stands in the way."""
    session = scoping.bookable_session(session_id=session_id)
    problems = {
        item.id: eligibility_problems(
            trainee=current_user, item=item, exam_day=bookings.exam_day(session), part=session.part
        )
        for item in session.items
    }
    has_photo = bookings.has_reference_photo(current_user)
    db.session.commit()  # a library photo fetched to answer has_photo is kept
    return render_template(
        "sessions/detail.html",
        session=session,
        form=_book_form(session),
        problems=problems,
        has_photo=has_photo,
        now=utcnow(),
    )


def _book(session_id: int, *, waitlist: bool) -> Response:
    session = scoping.bookable_session(session_id=session_id)
    form = _book_form(session)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
        return redirect(url_for("sessions.session_detail", session_id=session_id))
    action = bookings.join_waitlist if waitlist else bookings.book_seat
    try:
        booking = action(trainee=current_user, session_id=session_id, item_id=form.item_id.data)
    except DomainError as exc:
        report_refusal(exc)
        return redirect(url_for("sessions.session_detail", session_id=session_id))
    has_photo = bookings.has_reference_photo(current_user)
    db.session.commit()
    if waitlist:
        flash(_("已登记候补。有人取消时将按登记顺序自动为您安排座位，并通知您。"), "success")
    else:
        flash(_("预约成功，座位号%(seat)s。", seat=booking.seat_label), "success")
    if not has_photo:
        flash(
            _("您还没有可用的照片，准考证上将没有照片。请在“我的照片”上传本人照片；入场时将核对您的居民身份证。"),
            "warning",
        )
    return redirect(url_for("sessions.my_bookings"))


@bp.route("/exams/sessions/<int:session_id>/book", methods=["POST"])
@allow(Role.TRAINEE)
def book(session_id: int) -> Response:
    """Book a seat."""
    return _book(session_id, waitlist=False)


@bp.route("/exams/sessions/<int:session_id>/waitlist", methods=["POST"])
@allow(Role.TRAINEE)
def join_waitlist(session_id: int) -> Response:
    """Join a full session's waitlist."""
    return _book(session_id, waitlist=True)


@bp.route("/bookings")
@allow(Role.TRAINEE)
def my_bookings() -> str:
    """The trainee's bookings."""
    return render_template(
        "sessions/my_bookings.html",
        bookings=bookings.my_bookings(trainee=current_user),
        now=utcnow(),
        can_cancel=bookings.can_cancel,
        can_reschedule=bookings.can_reschedule,
        BookingStatus=BookingStatus,
    )


@bp.route("/bookings/<int:booking_id>/cancel", methods=["GET", "POST"])
@allow(Role.TRAINEE)
def cancel_booking(booking_id: int) -> str | Response:
    """Cancel one's own booking, once the trainee has ticked the confirmation."""
    booking = scoping.own_booking(trainee=current_user, booking_id=booking_id)
    form = CancelBookingForm()
    if form.validate_on_submit():
        try:
            bookings.cancel_booking(trainee=current_user, booking_id=booking_id)
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("已取消预约。"), "success")
            return redirect(url_for("sessions.my_bookings"))
    return render_template("sessions/cancel_booking.html", booking=booking, form=form)


@bp.route("/bookings/<int:booking_id>/reschedule", methods=["GET", "POST"])
@allow(Role.TRAINEE)
def reschedule(booking_id: int) -> str | Response:
    """Move a booking to another session of the same item."""
    booking = scoping.own_booking(trainee=current_user, booking_id=booking_id)
    targets = bookings.reschedule_targets(booking=booking)
    form = RescheduleForm()
    form.session_id.choices = [
        (s.id, f"{s.centre.name} {s.room.name} {to_local(s.starts_at):%Y-%m-%d %H:%M}") for s in targets
    ]
    if form.validate_on_submit():
        try:
            new = bookings.reschedule_booking(
                trainee=current_user, booking_id=booking_id, new_session_id=form.session_id.data or 0
            )
        except DomainError as exc:
            report_refusal(exc, form)
            return redirect(url_for("sessions.reschedule", booking_id=booking_id))
        db.session.commit()
        flash(_("改约成功，新座位号%(seat)s。", seat=new.seat_label), "success")
        return redirect(url_for("sessions.my_bookings"))
    return render_template("sessions/reschedule.html", booking=booking, form=form, targets=targets)


@bp.route("/exams/commitment", methods=["GET", "POST"])
@allow(Role.TRAINEE)
def commitment() -> str | Response:
    """Read and sign the commitment (告知承诺); a faulty submission shows every fault at once."""
    signed = current_commitment(current_user)
    form = CommitmentForm()
    if signed is None and form.is_submitted():
        shape_ok = form.validate()
        answers = {
            "healthy": form.healthy.data,
            "no_disqualifying_illness": form.no_disqualifying_illness.data,
            "education": form.education_level(),
            "lives_or_works_in_city": form.lives_or_works_in_city.data,
            "truthful": form.truthful.data,
            "signed_name": form.signed_name.data or "",
        }
        if not shape_ok:
            # The rules' messages join the form's own, one message per field.
            add_rule_errors(form, applications.commitment_problems(trainee=current_user, **answers))
            return render_template("sessions/commitment.html", form=form, signed=signed)
        try:
            applications.sign_commitment(
                trainee=current_user, employer=form.employer.data or "", ip=request.remote_addr or "", **answers
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("已签署《告知承诺书》。"), "success")
            return redirect(url_for("sessions.list_sessions"))
    return render_template("sessions/commitment.html", form=form, signed=signed)


@bp.route("/bookings/<int:booking_id>/ticket")
@allow(Role.TRAINEE)
@writes
def ticket(booking_id: int) -> str:
    """The printable admission ticket of one's own booking."""
    data = bookings.ticket_for(trainee=current_user, booking_id=booking_id)
    db.session.commit()  # the photo view's audit row (and a library photo fetched for the ticket) are kept
    return ticket_html(data, pdf_url=url_for("sessions.ticket_pdf", booking_id=booking_id))


@bp.route("/bookings/<int:booking_id>/ticket.pdf")
@allow(Role.TRAINEE)
@writes
def ticket_pdf(booking_id: int) -> Response:
    """The admission ticket as PDF."""
    data = bookings.ticket_for(trainee=current_user, booking_id=booking_id)
    db.session.commit()  # the photo view's audit row (and a library photo fetched for the ticket) are kept
    try:
        pdf = render_ticket_pdf(data)
    except DomainError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("sessions.ticket", booking_id=booking_id))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="ticket-{booking_id}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- centre staff pages ----------------------------------------------------------------------------


@bp.route("/centres")
@allow(*MANAGERS)
def centres() -> str | Response:
    """Exam centres the user manages (staff go straight to their own)."""
    found = scoping.list_centres(viewer=current_user)
    if current_user.role is not Role.ADMIN and len(found) == 1:
        return redirect(url_for("sessions.centre_sessions", centre_id=found[0].id))
    return render_template("sessions/centres.html", centres=found)


@bp.route("/centres/<int:centre_id>/rooms")
@allow(*MANAGERS)
def centre_rooms(centre_id: int) -> str:
    """A centre's rooms."""
    centre = scoping.visible_centre(viewer=current_user, centre_id=centre_id)
    return render_template("sessions/rooms.html", centre=centre, rooms=planning.list_rooms(centre=centre))


@bp.route("/centres/<int:centre_id>/rooms/new", methods=["GET", "POST"], endpoint="new_room")
@bp.route("/centres/<int:centre_id>/rooms/<int:room_id>/edit", methods=["GET", "POST"])
@allow(*MANAGERS)
def edit_room(centre_id: int, room_id: int | None = None) -> str | Response:
    """Create or change a room."""
    centre = scoping.visible_centre(viewer=current_user, centre_id=centre_id)
    room: Room | None = None
    if room_id is not None:
        room = scoping.visible_room(viewer=current_user, room_id=room_id)
        if room.centre_id != centre.id:
            abort(404)
    form = RoomForm(obj=room)
    if form.validate_on_submit():
        try:
            planning.save_room(
                centre=centre,
                room=room,
                name=form.name.data or "",
                layout=RoomLayout(form.layout.data),
                seats=form.seats.data or 0,
                seats_per_row=form.seats_per_row.data or 0,
                is_active=form.is_active.data,
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("考场已保存。"), "success")
            return redirect(url_for("sessions.centre_rooms", centre_id=centre.id))
    return render_template("sessions/room_form.html", centre=centre, room=room, form=form)


@bp.route("/centres/<int:centre_id>/sessions")
@allow(*MANAGERS)
def centre_sessions(centre_id: int) -> str:
    """A centre's sessions."""
    centre = scoping.visible_centre(viewer=current_user, centre_id=centre_id)
    return render_template(
        "sessions/centre_sessions.html", centre=centre, sessions=planning.list_centre_sessions(centre=centre)
    )


def _session_form(rooms: list[Room], session: ExamSession | None) -> SessionForm:
    form = SessionForm()
    if session is not None and request.method == "GET":
        form.show(session)
    form.room_id.choices = [(r.id, f"{r.name}（{r.layout.label}，{r.seats}座）") for r in rooms]
    form.item_ids.choices = [(i.id, f"{i.code} {i.name}") for i in offered_items()]
    return form


@bp.route("/centres/<int:centre_id>/sessions/new", methods=["GET", "POST"], endpoint="new_session")
@bp.route("/centres/<int:centre_id>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@allow(*MANAGERS)
def edit_session(centre_id: int, session_id: int | None = None) -> str | Response:
    """Create or change a session."""
    centre = scoping.visible_centre(viewer=current_user, centre_id=centre_id)
    session = scoping.managed_session(viewer=current_user, session_id=session_id) if session_id is not None else None
    if session is not None and session.centre_id != centre.id:
        abort(404)
    form = _session_form(planning.list_rooms(centre=centre, active_only=True), session)
    if form.validate_on_submit():
        try:
            saved = planning.save_session(centre=centre, session=session, plan=form.plan())
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("场次已保存。"), "success")
            return redirect(url_for("sessions.manage_session", session_id=saved.id))
    return render_template("sessions/session_form.html", centre=centre, session=session, form=form)


@bp.route("/exams/sessions/<int:session_id>/manage")
@allow(*MANAGERS)
def manage_session(session_id: int) -> str:
    """A session's details and bookings, for its centre's staff."""
    session = scoping.managed_session(viewer=current_user, session_id=session_id)
    return render_template(
        "sessions/manage.html",
        session=session,
        bookings=planning.session_bookings(session=session),
        form=ConfirmForm(),
        status_form=SessionStatusForm(),
        now=utcnow(),
        can_mark_no_show=bookings.can_mark_no_show,
        SessionStatus=SessionStatus,
        BookingStatus=BookingStatus,
        transitions=SESSION_TRANSITIONS[session.status],
    )


@bp.route("/exams/sessions/<int:session_id>/status", methods=["POST"])
@allow(*MANAGERS)
def set_session_status(session_id: int) -> Response:
    """Open or close a session (cancelling has its own confirmation page)."""
    session = scoping.managed_session(viewer=current_user, session_id=session_id)
    form = SessionStatusForm()
    target = form.target()
    if target is SessionStatus.CANCELLED:
        return redirect(url_for("sessions.cancel_session", session_id=session_id))
    if form.validate_on_submit() and target is not None:
        try:
            planning.change_session_status(session=session, status=target)
        except DomainError as exc:
            report_refusal(exc)
        else:
            db.session.commit()
            flash(_("场次状态已更新为“%(s)s”。", s=target.label), "success")
    return redirect(url_for("sessions.manage_session", session_id=session_id))


@bp.route("/exams/sessions/<int:session_id>/cancel", methods=["GET", "POST"])
@allow(*MANAGERS)
def cancel_session(session_id: int) -> str | Response:
    """Cancel a session once confirmed, with the reason its candidates are told."""
    session = scoping.managed_session(viewer=current_user, session_id=session_id)
    form = CancelSessionForm()
    if form.validate_on_submit():
        try:
            planning.change_session_status(
                session=session, status=SessionStatus.CANCELLED, reason=form.reason.data or ""
            )
        except DomainError as exc:
            report_refusal(exc, form)
        else:
            db.session.commit()
            flash(_("场次已取消，已通知预约的考生。"), "success")
            return redirect(url_for("sessions.manage_session", session_id=session_id))
    return render_template(
        "sessions/cancel_session.html",
        session=session,
        form=form,
        candidates=len(bookings.active_bookings(session.id)),
    )


@bp.route("/exams/bookings/<int:booking_id>/no-show", methods=["POST"])
@allow(*MANAGERS)
def mark_no_show(booking_id: int) -> Response:
    """Record a no-show."""
    form = ConfirmForm()
    booking: Booking = scoping.booking_for_staff(viewer=current_user, booking_id=booking_id)
    session_id = booking.session_id
    if form.validate_on_submit():
        try:
            bookings.mark_no_show(viewer=current_user, booking_id=booking_id)
        except DomainError as exc:
            report_refusal(exc)
        else:
            db.session.commit()
            flash(_("已登记缺考。"), "success")
    return redirect(url_for("sessions.manage_session", session_id=session_id))
