"""The data-sharing API (/api/v1: JSON, bearer tokens, no cookies, no CSRF) and the administrators' token pages."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from opcert.access import PUBLIC, Role, allow
from opcert.certificates import api
from opcert.certificates.api_models import ApiClient, ApiToken
from opcert.db import utcnow, writes
from opcert.errors import DomainError, report_refusal
from opcert.extensions import csrf, db
from opcert.forms import ConfirmForm, WebForm

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)  # machine clients: a bearer token, never a cookie, so nothing for CSRF to protect
tokens_bp = Blueprint("api_tokens", __name__, template_folder="templates")


def _json(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _refusal(error: api.ApiRefusedError) -> Response:
    response = _json({"error": {"code": error.code, "message": error.message}}, error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="opcert", error="invalid_token"'
    if error.retry_after:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def api_call(view: Callable[..., dict[str, Any]]) -> Callable[..., Response]:
    """Authenticate the bearer token, run the view, commit once; a refusal is JSON and its audit row is kept."""

    @functools.wraps(view)
    def wrapped(**kwargs: Any) -> Response:
        try:
            token = api.authenticate(
                authorization=request.headers.get("Authorization"), ip=request.remote_addr or "", now=utcnow()
            )
            body = view(token, **kwargs)
        except api.ApiRefusedError as exc:
            db.session.commit()  # the refusal's audit row, the address's counter and the token's window stay
            return _refusal(exc)
        db.session.commit()
        return _json(body)

    return wrapped


@api_bp.route("/certificates")
@allow(PUBLIC)
@writes
@api_call
def changed_certificates(token: ApiToken) -> dict[str, Any]:
    """Certificates changed since a time, paged by a cursor (?since=… first, then ?cursor=next_cursor)."""
    args = request.args
    return api.changed_certificates(
        token=token, since=args.get("since"), cursor=args.get("cursor"), limit=args.get("limit")
    )


@api_bp.route("/certificates/<string:number>")
@allow(PUBLIC)
@writes
@api_call
def certificate(token: ApiToken, number: str) -> dict[str, Any]:
    """One holder's certificates by certificate number."""
    return api.certificates_by_number(token=token, number=number)


@api_bp.route("/openapi.json")
@allow(PUBLIC)
def openapi() -> Response:
    """The API's OpenAPI 3.1 description (no token needed)."""
    response = jsonify(openapi_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@functools.cache
def openapi_document() -> dict[str, Any]:
    """certificates/openapi.json, as shipped in the package."""
    text = resources.files("opcert.certificates").joinpath("openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


# --- administrators: tokens -------------------------------------------------------------------------


class TokenForm(WebForm):
    """A new API token."""

    name = StringField(
        _l("名称"),
        validators=[
            DataRequired(message=_l("请填写令牌名称。")),
            Length(max=60, message=_l("令牌名称不能超过60个字。")),
        ],
    )
    client = SelectField(_l("调用方"), choices=lambda: [(c.value, c.label) for c in ApiClient])
    expires_on = DateField(_l("有效期至"), validators=[DataRequired(message=_l("请填写有效期（日期）。"))])
    submit = SubmitField(_l("创建令牌"))


def _tokens_page(form: TokenForm) -> str:
    now = utcnow()
    rows = [(t, api.token_state(t, now)) for t in api.list_tokens()]
    return render_template(
        "certificates/api_tokens.html",
        form=form,
        rows=rows,
        revoke_form=ConfirmForm(),
        openapi_url=url_for("api.openapi"),
        rate=(current_app.config["API_RATE_LIMIT"], current_app.config["API_RATE_WINDOW_SECONDS"]),
    )


@tokens_bp.route("/admin/api-tokens")
@allow(Role.ADMIN)
def list_tokens() -> str:
    """The API tokens: who may read certificates by machine, until when, and the form for a new one."""
    return _tokens_page(TokenForm())


@tokens_bp.route("/admin/api-tokens", methods=["POST"])
@allow(Role.ADMIN)
def create_token() -> ResponseReturnValue:
    """Create a token and show its secret this once (never stored, never put in a cookie or a flash)."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _tokens_page(form), 400
    try:
        created = api.create_token(
            name=form.name.data or "",
            client=ApiClient(form.client.data),
            expires_on=form.expires_on.data,
            actor_id=current_user.id,
        )
    except DomainError as exc:
        report_refusal(exc, form)
        return _tokens_page(form), 400
    db.session.commit()
    return render_template("certificates/api_token_created.html", created=created)


@tokens_bp.route("/admin/api-tokens/<int:token_id>/revoke", methods=["POST"])
@allow(Role.ADMIN)
def revoke_token(token_id: int) -> ResponseReturnValue:
    """Revoke a token: its next call is refused."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _tokens_page(TokenForm()), 400
    try:
        api.revoke_token(token_id=token_id, actor_id=current_user.id)
    except DomainError as exc:
        report_refusal(exc)
        return _tokens_page(TokenForm()), 400
    db.session.commit()
    flash(_("令牌已吊销，此后的调用将被拒绝。"), "success")
    return redirect(url_for("api_tokens.list_tokens"))
