"""Photo pages: a trainee's own photo and consent; staff viewing a photo (every view audited)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from opcert.access import Role, allow
from opcert.db import writes
from opcert.errors import DomainError
from opcert.extensions import db
from photos import services
from photos.forms import ConsentForm, StatementForm, UploadForm, WithdrawForm

bp = Blueprint("photos", __name__, template_folder="templates")

# Roles that may ask for a photo by its key; whether they see it depends on a purpose (photos.access). Examiners
# and providers never need a face.
PHOTO_VIEWERS = (Role.TRAINEE, Role.CENTRE_STAFF, Role.OFFICER, Role.ADMIN)


@bp.route("/account/photo", methods=["GET", "POST"])
@allow(Role.TRAINEE)
@writes
def my_photo() -> str | WerkzeugResponse:
    """Which photo the platform will use, the upload form only when the library has none, and consent."""
    id_number = current_user.id_number
    form = UploadForm()
    if form.validate_on_submit():
        try:
            services.upload_reference(id_number=id_number, data=form.photo.data.read())
        except DomainError as exc:
            db.session.rollback()
            form.photo.errors = [*form.photo.errors, exc.message]
        else:
            db.session.commit()
            flash(_("照片已上传并通过质量检查。"), "success")
            return redirect(url_for("photos.my_photo"))
    status = services.reference_status(id_number)
    db.session.commit()  # a fetched library photo is cached for the next visit
    return render_template(
        "photos/my_photo.html",
        status=status,
        form=form,
        consent_form=ConsentForm(),
        withdraw_form=WithdrawForm(),
        consented=services.has_consent(id_number),
        retention_days=current_app.config["PHOTO_CAPTURE_RETENTION_DAYS"],
    )


@bp.route("/account/photo/image")
@allow(Role.TRAINEE)
@writes
def my_photo_image() -> Response:
    """The trainee's own reference photo."""
    data = services.reference_photo_jpeg(current_user.id_number, reason="self")
    if data is None:
        abort(404)
    db.session.commit()
    return _image_response(data)


@bp.route("/account/photo/consent", methods=["POST"])
@allow(Role.TRAINEE)
def consent() -> WerkzeugResponse:
    """Record the trainee's separate consent to face processing."""
    form = ConsentForm()
    if form.validate_on_submit():
        services.record_consent(id_number=current_user.id_number, recorded_by_id=current_user.id)
        db.session.commit()
        flash(_("已记录您对人脸识别核验的同意。"), "success")
    else:
        flash(_("未勾选同意。不同意人脸识别的，考试入场时由工作人员人工核验身份。"), "info")
    return redirect(url_for("photos.my_photo"))


@bp.route("/account/photo/consent/withdraw", methods=["POST"])
@allow(Role.TRAINEE)
def withdraw() -> WerkzeugResponse:
    """Withdraw the consent; later identity checks are done by staff by hand."""
    if WithdrawForm().validate_on_submit():
        services.withdraw_consent(id_number=current_user.id_number)
        db.session.commit()
        flash(_("已撤回同意，今后将由工作人员人工核验身份。"), "success")
    return redirect(url_for("photos.my_photo"))


@bp.route("/photos/<key>")
@allow(*PHOTO_VIEWERS)
@writes
def view(key: str) -> Response | str:
    """A stored photo, by its random key, for a viewer with a purpose (photos.services.view_photo); audited."""
    form = StatementForm(request.args)
    try:
        data = services.view_photo(key=key, viewer=current_user, explanation=form.statement.data)
    except services.StatementRequiredError as exc:
        db.session.rollback()
        if form.statement.data:
            form.statement.errors = [exc.message]
        return render_template("photos/statement.html", form=form, message=exc.message)
    db.session.commit()
    return _image_response(data)


def _image_response(data: bytes) -> Response:
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
