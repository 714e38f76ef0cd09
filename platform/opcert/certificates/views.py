"""Certificate pages: the public key list, public verification, the holder's certificates and their PDFs."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from opcert.access import PUBLIC, Role, allow
from opcert.certificates import applications, photo_grants, public, renewal, seal, services, statuslist
from opcert.certificates.applications_models import CertificateApplication, Delivery
from opcert.certificates.document import certificate_html, render_certificate_pdf
from opcert.certificates.forms import (
    ActionForm,
    ApplyForm,
    ApproveForm,
    MailFields,
    NumberVerifyForm,
    QrVerifyForm,
    RefuseForm,
    ReissueForm,
    RenewalForm,
    ReturnForm,
)
from opcert.certificates.verify import MAX_IMAGE_BYTES
from opcert.db import writes
from opcert.errors import DomainError, flash_form_errors, show_errors
from opcert.extensions import db
from opcert.forms import WebForm
from opcert.timeutil import local_today

bp = Blueprint("certificates", __name__, template_folder="templates")
bp.record_once(photo_grants.register)
VIEWERS = (Role.TRAINEE, Role.OFFICER, Role.ADMIN)


@bp.route("/certificates/keys.json")
@allow(PUBLIC)
def public_keys() -> Response:
    """The seal's public keys, current and retired, with their validity periods (what offline verifiers load)."""
    response = jsonify(seal.published_keys())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/certificates/status-list.json")
@allow(PUBLIC)
@writes
def status_list() -> Response:
    """The sealed status list (revocation and suspension bits), rebuilt when old or after any status change."""
    document = statuslist.current_status_list()
    db.session.commit()  # a rebuilt list is stored, so every worker serves the same one
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.route("/certificates/mine")
@allow(Role.TRAINEE)
def my_certificates() -> str:
    """The person's certificates with today's status and what can be applied for on each (and from when)."""
    return render_template("certificates/mine.html", rows=renewal.holder_overview(current_user, local_today()))


@bp.route("/certificates/<int:certificate_id>")
@allow(*VIEWERS)
def show_certificate(certificate_id: int) -> str:
    """The electronic certificate as a page (one's own; officers and administrators any)."""
    certificate = services.visible_certificate(current_user, certificate_id)
    today = local_today()
    doc = services.document_for(certificate, today=today)
    own = certificate.holder.user_id == current_user.id
    return certificate_html(
        doc,
        pdf_url=url_for("certificates.certificate_pdf", certificate_id=certificate_id),
        card_url=url_for("certificates.certificate_pdf", certificate_id=certificate_id, size="card"),
        openings=renewal.openings(certificate, today) if own else [],
        certificate_id=certificate_id,
    )


@bp.route("/certificates/<int:certificate_id>.pdf")
@allow(*VIEWERS)
def certificate_pdf(certificate_id: int) -> Response:
    """The electronic certificate as a PDF: A4, or card size with ?size=card."""
    certificate = services.visible_certificate(current_user, certificate_id)
    size = "card" if request.args.get("size") == "card" else "a4"
    pdf = render_certificate_pdf(services.document_for(certificate, today=local_today()), size=size)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{certificate.holder.number}-{size}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/certificates/verify", methods=["GET", "POST"])
@allow(PUBLIC)
@writes
def verify() -> str:
    """Public verification: by number and name, or by the QR code (text, a photo of it, or the code's address)."""
    number_form = NumberVerifyForm(prefix="n")
    qr_form = QrVerifyForm(prefix="q")
    result = None
    try:
        if request.method == "POST" and request.form.get("method") == "number" and number_form.validate_on_submit():
            result = public.verify_by_number(
                number=number_form.number.data or "", name=number_form.name.data or "", ip=request.remote_addr or ""
            )
        elif request.method == "POST" and request.form.get("method") == "qr" and qr_form.validate_on_submit():
            result = public.verify_by_qr(
                scanned=qr_form.text.data or "", image=_image(qr_form), ip=request.remote_addr or ""
            )
    except DomainError as exc:
        db.session.commit()  # the refusal's audit row and the address's counter are kept; nothing else was written
        show_errors(exc)
    else:
        db.session.commit()  # every verification is logged
    return render_template("certificates/verify.html", number_form=number_form, qr_form=qr_form, result=result)


def _image(form: QrVerifyForm) -> bytes | None:
    upload = form.image.data
    if upload is None or not getattr(upload, "filename", None):
        return None
    return bytes(upload.read(MAX_IMAGE_BYTES + 1))  # one byte more than allowed: decode_image refuses it


# Applications (trainee) and the review queue (officers of the competent authority).


def _mail(form: MailFields) -> applications.MailAddress:
    return applications.MailAddress(
        address=form.address.data or "", recipient=form.recipient.data or "", phone=form.phone.data or ""
    )


def _delivery(form: MailFields) -> Delivery:
    return Delivery.MAIL if form.delivery.data == "mail" else Delivery.ELECTRONIC


@bp.route("/certificates/applications")
@allow(Role.TRAINEE)
def my_applications() -> str:
    """Where the person's applications stand, and the items they may apply for."""
    return render_template(
        "certificates/applications.html",
        rows=applications.my_applications(current_user.id),
        applicable=applications.applicable_items(current_user),
    )


@bp.route("/certificates/apply/<int:item_id>", methods=["GET", "POST"])
@allow(Role.TRAINEE)
@writes
def apply(item_id: int) -> ResponseReturnValue:
    """The prefilled application: confirm, sign the commitment, choose delivery, submit."""
    item = applications.item_to_apply(item_id)
    form = ApplyForm()
    dossier = None
    try:
        dossier = applications.prefill(current_user, item, local_today())
        if form.validate_on_submit():
            applications.submit_application(
                user=current_user, item=item, signed=bool(form.signed.data), delivery=_delivery(form), mail=_mail(form)
            )
            db.session.commit()
            flash(_("申请已提交，请等待发证机关受理。"), "success")
            return redirect(url_for("certificates.my_applications"))
    except DomainError as exc:
        db.session.commit()  # the refusal's audit row is kept; nothing else was written
        show_errors(exc, form)
    version, text = applications.commitment()
    return render_template(
        "certificates/apply.html", form=form, item=item, dossier=dossier, version=version, text=text, application=None
    )


@bp.route("/certificates/applications/<int:application_id>/resubmit", methods=["GET", "POST"])
@allow(Role.TRAINEE)
def resubmit(application_id: int) -> ResponseReturnValue:
    """A returned application, corrected and submitted again."""
    application = applications.own_application(current_user, application_id)
    form = ApplyForm()
    if form.validate_on_submit():
        try:
            applications.resubmit(
                application=application,
                user=current_user,
                signed=bool(form.signed.data),
                delivery=_delivery(form),
                mail=_mail(form),
            )
            db.session.commit()
            flash(_("申请已重新提交。"), "success")
            return redirect(url_for("certificates.my_applications"))
        except DomainError as exc:
            db.session.rollback()
            show_errors(exc, form)
    version, text = applications.commitment()
    return render_template(
        "certificates/apply.html",
        form=form,
        item=application.item,
        dossier=applications.dossier_of(application),
        version=version,
        text=text,
        application=application,
    )


@bp.route("/certificates/review")
@allow(Role.OFFICER)
def review_queue() -> str:
    """The officer's authority's open applications with their deadlines."""
    today = local_today()
    rows = [
        (a, applications.deadline_of(a), applications.deadline_state(a, today))
        for a in applications.queue(current_user)
    ]
    return render_template("certificates/queue.html", rows=rows)


@bp.route("/certificates/review/<int:application_id>")
@allow(Role.OFFICER)
@writes
def review(application_id: int) -> ResponseReturnValue:
    """One application as a dossier, with the review actions."""
    try:
        application = applications.reviewable(current_user, application_id)
    except applications.ApplicationError as exc:
        db.session.commit()  # the refused look at another authority's application is logged
        show_errors(exc)
        return redirect(url_for("certificates.review_queue"))
    refuse_form = RefuseForm()
    return render_template(
        "certificates/dossier.html",
        application=application,
        dossier=applications.dossier_of(application),
        photo_key=applications.photo_key(application),
        deadline=applications.deadline_of(application),
        state=applications.deadline_state(application, local_today()),
        action_form=ActionForm(),
        approve_form=ApproveForm(),
        return_form=ReturnForm(),
        refuse_form=refuse_form,
    )


def _act(application_id: int, form: WebForm, decide: Callable[[CertificateApplication], object]) -> Response:
    """Run one review decision on an application of the officer's authority, then back to its dossier."""
    back = redirect(url_for("certificates.review", application_id=application_id))
    try:
        application = applications.reviewable(current_user, application_id)
        if not form.validate_on_submit():
            flash_form_errors(form)
            return back
        decide(application)
        db.session.commit()
    except DomainError as exc:
        db.session.commit()  # the rules refuse before changing anything: only the refusal's audit row is kept
        show_errors(exc)
        return back
    flash(_("已办理。"), "success")
    return back


@bp.route("/certificates/review/<int:application_id>/accept", methods=["POST"])
@allow(Role.OFFICER)
def accept_application(application_id: int) -> Response:
    """Accept the application (the decision deadline starts)."""
    return _act(application_id, ActionForm(), lambda a: applications.accept(officer=current_user, application=a))


@bp.route("/certificates/review/<int:application_id>/approve", methods=["POST"])
@allow(Role.OFFICER)
def approve_application(application_id: int) -> Response:
    """Approve: the certificate is issued, or the review, extension or reissue carried out (once)."""
    form = ApproveForm()
    six = bool(form.six_years.data)
    return _act(
        application_id, form, lambda a: applications.approve(officer=current_user, application=a, six_years=six)
    )


@bp.route("/certificates/review/<int:application_id>/return", methods=["POST"])
@allow(Role.OFFICER)
def return_application(application_id: int) -> Response:
    """Return the application with the one list of every correction needed."""
    form = ReturnForm()
    lines = (form.corrections.data or "").splitlines()
    return _act(
        application_id,
        form,
        lambda a: applications.return_for_correction(officer=current_user, application=a, corrections=lines),
    )


@bp.route("/certificates/review/<int:application_id>/refuse", methods=["POST"])
@allow(Role.OFFICER)
def refuse_application(application_id: int) -> Response:
    """Refuse with a reason code and its explanation."""
    form = RefuseForm()
    code, reason = form.code.data or "", form.text.data or ""
    return _act(
        application_id, form, lambda a: applications.refuse(officer=current_user, application=a, code=code, text=reason)
    )


# The life of a certificate (holder): review or extension, and reissue of a lost card.


def _apply_for(form: MailFields, submit: Callable[[], object], done: str) -> Response | None:
    """Submit a holder's application for a matter on a certificate; None: show the form again (with errors)."""
    if not form.validate_on_submit():
        return None
    try:
        submit()
        db.session.commit()
    except DomainError as exc:
        db.session.commit()  # the refusal's audit row is kept; nothing else was written
        show_errors(exc, form)
        return None
    flash(done, "success")
    return redirect(url_for("certificates.my_applications"))


@bp.route("/certificates/<int:certificate_id>/renew", methods=["GET", "POST"])
@allow(Role.TRAINEE)
@writes
def renew(certificate_id: int) -> ResponseReturnValue:
    """Apply for the review (复审) or the extension (延期复审) the certificate is due for."""
    certificate = services.visible_certificate(current_user, certificate_id)
    form = RenewalForm()
    done = _apply_for(
        form,
        lambda: renewal.apply_for_renewal(
            user=current_user,
            certificate=certificate,
            signed=bool(form.signed.data),
            work_years=form.work_years.data,
            employer=form.employer.data or "",
            delivery=_delivery(form),
            mail=_mail(form),
        ),
        _("申请已提交，请等待发证机关受理。"),
    )
    version, text = applications.commitment()
    return done or render_template(
        "certificates/renew.html",
        form=form,
        certificate=certificate,
        opening=renewal.openings(certificate, local_today())[:1],
        training_missing=renewal.review_training_missing(current_user, certificate),
        review_enrolment=renewal.review_enrolment(current_user, certificate, local_today()),
        version=version,
        text=text,
    )


@bp.route("/certificates/<int:certificate_id>/reissue", methods=["GET", "POST"])
@allow(Role.TRAINEE)
@writes
def reissue(certificate_id: int) -> ResponseReturnValue:
    """Apply for a new card of a lost or damaged one (补办)."""
    certificate = services.visible_certificate(current_user, certificate_id)
    form = ReissueForm()
    done = _apply_for(
        form,
        lambda: renewal.apply_for_reissue(
            user=current_user,
            certificate=certificate,
            reason=form.reason.data or "",
            delivery=_delivery(form),
            mail=_mail(form),
        ),
        _("补办申请已提交，请等待发证机关受理。"),
    )
    return done or render_template("certificates/reissue.html", form=form, certificate=certificate)
