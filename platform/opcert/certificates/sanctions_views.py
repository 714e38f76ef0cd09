"""Sanction pages: officers find a certificate of their authority, see its history, and suspend, lift, revoke or
cancel it on a confirmation form; the public list of revocations and cancellations (撤销、注销公告)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from opcert.access import PUBLIC, Role, allow
from opcert.certificates import sanctions
from opcert.certificates.forms import CancellationRequestForm, SanctionForm
from opcert.certificates.models import Certificate
from opcert.certificates.views import bp
from opcert.db import writes
from opcert.errors import DomainError, NotFoundError, show_errors
from opcert.extensions import db


def _managed(certificate_id: int) -> Certificate:
    """The officer's authority's certificate; another's is 404, and the attempt's audit row is kept."""
    try:
        return sanctions.managed_certificate(officer=current_user, certificate_id=certificate_id)
    except NotFoundError:
        db.session.commit()
        raise


@bp.route("/certificates/sanctions")
@allow(Role.OFFICER)
def find_certificate() -> str:
    """Find a certificate of the officer's authority by number, ID number or name."""
    query = request.args.get("q", "")[:30]
    found = sanctions.find_certificates(officer=current_user, query=query)
    return render_template(
        "certificates/sanctions/find.html",
        query=query,
        found=found,
        requests=sanctions.open_requests(officer=current_user),
    )


@bp.route("/certificates/sanctions/<int:certificate_id>")
@allow(Role.OFFICER)
@writes
def certificate_history(certificate_id: int) -> str:
    """One certificate: its status, its history and sanctions, and the actions its status allows."""
    certificate = _managed(certificate_id)
    return render_template(
        "certificates/sanctions/history.html",
        certificate=certificate,
        sanctions=sanctions.sanctions_of(certificate),
        kinds=sanctions.available_actions(certificate),
    )


@bp.route("/certificates/sanctions/<int:certificate_id>/<kind>", methods=["GET", "POST"])
@allow(Role.OFFICER)
@writes
def sanction(certificate_id: int, kind: str) -> ResponseReturnValue:
    """The confirmation form of one sanction: ground, facts, a suspension's end; applied once confirmed."""
    action = sanctions.sanction_kind(kind)
    certificate = _managed(certificate_id)
    form = SanctionForm()
    form.ground.choices = [("", _("请选择")), *sanctions.ground_choices(action)]
    if form.validate_on_submit():
        try:
            sanctions.apply_sanction(
                officer=current_user,
                certificate=certificate,
                kind=action,
                ground=form.ground.data or "",
                text=form.text.data or "",
                until=form.until.data,
            )
            db.session.commit()
        except DomainError as exc:
            db.session.commit()  # the rules refuse before changing anything: only the refusal's audit row is kept
            show_errors(exc, form)
        else:
            flash(_("已办理，持证人将收到通知。"), "success")
            return redirect(url_for("certificates.certificate_history", certificate_id=certificate_id))
    return render_template("certificates/sanctions/confirm.html", certificate=certificate, action=action, form=form)


@bp.route("/certificates/notices")
@allow(PUBLIC)
def public_notices() -> str:
    """The public list of revocations and cancellations: masked names and numbers, item, ground, date."""
    page = request.args.get("page", 1, type=int) or 1
    per_page = int(current_app.config["CERT_NOTICES_PER_PAGE"])
    return render_template(
        "certificates/sanctions/notices.html", notices=sanctions.public_notices(page=page, per_page=per_page)
    )


@bp.route("/certificates/<int:certificate_id>/cancellation", methods=["GET", "POST"])
@allow(Role.TRAINEE)
def request_cancellation(certificate_id: int) -> ResponseReturnValue:
    """The holder's online request to cancel their own certificate (注销申请), on a confirmation form."""
    certificate = sanctions.own_certificate(user=current_user, certificate_id=certificate_id)
    form = CancellationRequestForm()
    if form.validate_on_submit():
        try:
            sanctions.request_cancellation(user=current_user, certificate=certificate, text=form.text.data or "")
            db.session.commit()
        except DomainError as exc:
            db.session.commit()  # refused before anything was written: only the refusal's audit row is kept
            show_errors(exc, form)
        else:
            flash(_("注销申请已提交，发证机关办理后将通知您。"), "success")
            return redirect(url_for("certificates.my_certificates"))
    return render_template(
        "certificates/sanctions/request.html",
        certificate=certificate,
        form=form,
        pending=sanctions.open_request(certificate.id),
    )
