"""Domain errors raised by services, and the Chinese error pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from flask import Flask, current_app, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException

from opcert.web import format_size


class DomainError(Exception):
    """A rule refused the request; `reasons` maps form field names (or "" for the form) to messages."""

    def __init__(self, message: str, reasons: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reasons = dict(reasons or {})

    @classmethod
    def on_field(cls, message: str, field: str = "") -> Self:
        """The refusal with its message on one form field ("": on the form as a whole)."""
        return cls(message, {field: message})


class NotFoundError(DomainError):
    """The record does not exist or is outside the caller's scope."""


class ForbiddenError(DomainError):
    """The caller may see the record but not change it: answered 403 with the message, nothing kept."""


class RequestRefusedError(BadRequest):
    """A request refused before any view ran (opcert.guards); `description` is the reason shown, in Chinese."""


def too_large_message() -> str:
    """Why a request was 413: the whole body over MAX_CONTENT_LENGTH, or a form field / part count over Flask's."""
    cfg = current_app.config
    limit = cfg["MAX_CONTENT_LENGTH"]
    length = request.content_length
    if limit is not None and (length is None or length > limit):
        return _("提交的内容超过了允许的大小（最大 %(size)s）。", size=format_size(limit))
    return _(
        "表单内容过长或项目过多（每项文字最大 %(size)s，最多 %(parts)d 项）。",
        size=format_size(cfg["MAX_FORM_MEMORY_SIZE"]),
        parts=cfg["MAX_FORM_PARTS"],
    )


def populate_errors(form: FlaskForm, error: DomainError) -> list[str]:
    """Attach a DomainError's reasons to form fields; return messages that fit no field."""
    left: list[str] = []
    for name, message in error.reasons.items():
        field = form._fields.get(name) if name else None
        if field is None:
            left.append(message)
        else:
            field.errors = [*field.errors, message]
    if not error.reasons:
        left.append(error.message)
    return left


def add_rule_errors(form: FlaskForm, problems: Mapping[str, str]) -> None:
    """After the form's own checks failed: add the rules' messages to the fields those checks left without one,
    so that a submission with several faults shows them all at once (one message per field)."""
    for name, message in problems.items():
        field = form._fields.get(name)
        if field is not None and not field.errors:
            field.errors = [message]


def show_errors(error: DomainError, form: FlaskForm | None = None) -> None:
    """Put a refusal's reasons on the form's fields and flash whatever fits no field."""
    for message in populate_errors(form, error) if form is not None else [error.message]:
        flash(message, "danger")


def flash_form_errors(form: FlaskForm) -> None:
    """Flash every message of a form that failed validation (for views that redirect instead of showing it)."""
    for messages in form.errors.values():
        for message in messages:
            flash(str(message), "danger")


def report_refusal(error: DomainError, form: FlaskForm | None = None) -> None:
    """A view's answer to a refused service call: undo the transaction, then show the reasons.

    A NotFoundError or ForbiddenError is raised again: its error handler answers with the 404 or 403 page.
    """
    if isinstance(error, NotFoundError | ForbiddenError):
        raise error
    from opcert.extensions import db

    db.session.rollback()
    show_errors(error, form)


def register_error_handlers(app: Flask) -> None:
    """Render 400/403/404/405/413/500 (and CSRF failures, NotFoundError and ForbiddenError) as Chinese pages."""

    def titles() -> dict[int, tuple[str, str]]:
        return {
            400: (_("请求有误"), _("请求无法处理，请检查后重试。")),
            403: (_("无权访问"), _("您没有访问此页面的权限。如有疑问请联系管理员。")),
            404: (_("页面不存在"), _("您访问的页面或记录不存在，或不在您的权限范围内。")),
            405: (_("请求方式不允许"), _("此页面不支持该请求方式。")),
            413: (_("上传内容过大"), _("提交的内容超过了允许的大小。")),
            429: (_("请求过于频繁"), _("请稍后再试。")),
            500: (_("系统错误"), _("系统发生错误，已记录。请稍后重试。")),
        }

    def render(code: int, detail: str | None = None) -> tuple[str, int]:
        title, message = titles().get(code, titles()[500])
        return render_template("errors/error.html", code=code, title=title, message=detail or message), code

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError) -> tuple[str, int]:
        return render(400, _("页面已过期或缺少安全令牌（CSRF），请返回上一页刷新后重新提交。"))

    @app.errorhandler(NotFoundError)
    def handle_not_found(error: NotFoundError) -> tuple[str, int]:
        # Unknown ids and records outside the caller's scope look the same: 404, and nothing the view did is kept.
        from opcert.extensions import db

        db.session.rollback()
        return render(404)

    @app.errorhandler(ForbiddenError)
    def handle_forbidden(error: ForbiddenError) -> tuple[str, int]:
        from opcert.extensions import db

        db.session.rollback()
        user = getattr(current_user, "id", None)
        app.logger.warning("refused %s %s for user %s: %s", request.method, request.path, user, error.message)
        return render(403, error.message)

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException) -> tuple[str, int]:
        if error.code == 413:
            app.logger.warning(
                "refused %s %s: body too large (%s bytes)", request.method, request.path, request.content_length
            )
            return render(413, too_large_message())
        if isinstance(error, RequestRefusedError):
            return render(400, error.description)
        return render(error.code or 500)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> tuple[str, int]:
        app.logger.exception("unhandled error")
        from opcert.extensions import db

        db.session.rollback()
        return render(500)
