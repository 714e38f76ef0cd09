"""Certificate pages: the public key list, public verification, the holder's certificates and their PDFs."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from opcert.access import PUBLIC, Role, allow
from opcert.certificates import public, seal, services, statuslist
from opcert.certificates.document import certificate_html, render_certificate_pdf
from opcert.certificates.forms import NumberVerifyForm, QrVerifyForm
from opcert.certificates.verify import MAX_IMAGE_BYTES
from opcert.db import writes
from opcert.errors import DomainError, show_errors
from opcert.extensions import db
from opcert.timeutil import local_today

bp = Blueprint("certificates", __name__, template_folder="templates")
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
    """The person's certificates with today's status."""
    certificates = services.holder_certificates(current_user.id)
    today = local_today()
    return render_template(
        "certificates/mine.html",
        rows=[(c, services.status_on(c, today)) for c in certificates],
    )


@bp.route("/certificates/<int:certificate_id>")
@allow(*VIEWERS)
def show_certificate(certificate_id: int) -> str:
    """The electronic certificate as a page (one's own; officers and administrators any)."""
    certificate = services.visible_certificate(current_user, certificate_id)
    doc = services.document_for(certificate, today=local_today())
    return certificate_html(
        doc,
        pdf_url=url_for("certificates.certificate_pdf", certificate_id=certificate_id),
        card_url=url_for("certificates.certificate_pdf", certificate_id=certificate_id, size="card"),
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
