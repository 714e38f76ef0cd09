"""opcert: the special-operation personnel certification platform (特种作业人员安全技术培训考核发证)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from babel import Locale
from flask import Flask, current_app, has_request_context, request, session
from sqlalchemy import event

from opcert.config import default_instance_path, load_config
from opcert.db import view_writes


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, access control, blueprints, error pages, headers."""
    app = Flask(__name__, instance_path=str(default_instance_path()), instance_relative_config=True)
    load_config(app, config)
    register_proxy_fix(app)
    register_input_guards(app)
    register_extensions(app)
    register_blueprints(app)
    register_home_panels()
    register_audit_labels()
    register_commands(app)
    register_template_helpers(app)
    from opcert.errors import register_error_handlers
    from opcert.security import register_security_headers

    register_error_handlers(app)
    register_security_headers(app)
    return app


def register_proxy_fix(app: Flask) -> None:
    """Trust one reverse proxy's X-Forwarded-* headers when configured (client IPs in the audit log)."""
    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]


def register_input_guards(app: Flask) -> None:
    """Bounded integers in paths and the NUL / client-address checks, ahead of every other hook and route."""
    from opcert import guards

    guards.register_input_guards(app)


def _select_locale() -> str:
    languages = _current_languages()
    if not has_request_context():
        return languages[0]
    chosen = session.get("lang")
    return chosen if chosen in languages else languages[0]


@functools.cache
def _parsed_locale(code: str) -> Locale:
    return Locale.parse(code)


def _request_locale() -> Locale:
    """The request's language as a parsed Locale: Flask-Babel parses a selector's string again on every request,
    and a Locale it is given is used as it is."""
    return _parsed_locale(_select_locale())


def _current_languages() -> tuple[str, ...]:
    from flask import current_app

    return tuple(current_app.config["LANGUAGES"])


def register_extensions(app: Flask) -> None:
    """Bind the app-less extensions; access control runs before CSRF so refusals are 403, not 400."""
    from opcert.access import register_access_control
    from opcert.extensions import babel, bootstrap, csrf, db, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = None
    register_access_control(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_request_locale)
    bootstrap.init_app(app)


def _migrations_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "migrations"


def _configure_sqlite(engine: Any) -> None:
    """Foreign keys on, WAL, a busy timeout, and transactions that pysqlite does not hide (SAVEPOINTs work)."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: no fsync per commit, still consistent after a crash
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        # A request that may write takes the write lock up front: a deferred transaction that read first and
        # then writes fails at once ("database is locked") when another worker committed in between, while
        # BEGIN IMMEDIATE waits its turn (busy_timeout). Reads (GET) stay deferred and run side by side, except
        # the GET views marked @writes (they audit a photo view, cache a library photo, mark notices read).
        writing = has_request_context() and (
            request.method not in {"GET", "HEAD", "OPTIONS"}
            or view_writes(current_app.view_functions.get(request.endpoint or ""))
        )
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def register_blueprints(app: Flask) -> None:
    """Import and register every domain's blueprint."""
    from exams import blueprints as exam_blueprints
    from opcert.accounts import bp as accounts_bp
    from opcert.audit import bp as audit_bp
    from opcert.calendar import bp as calendar_bp
    from opcert.catalogue import bp as catalogue_bp
    from opcert.certificates import bp as certificates_bp
    from opcert.certificates.api_views import api_bp, tokens_bp
    from opcert.certificates.authority_views import bp as authority_bp
    from opcert.certificates.stats_views import bp as cert_stats_bp
    from opcert.main import bp as main_bp
    from opcert.notifications import bp as notifications_bp
    from opcert.training import bp as training_bp
    from photos import bp as photos_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(catalogue_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(photos_bp)
    app.register_blueprint(training_bp)
    for blueprint in exam_blueprints():
        app.register_blueprint(blueprint)
    app.register_blueprint(certificates_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(cert_stats_bp)
    app.register_blueprint(authority_bp)


def register_home_panels() -> None:
    """Each domain's steps and cards for the signed-in home page (core cannot import photos or exams)."""
    from exams.home import register_home_panels as exam_panels
    from opcert.certificates.authority_home import register_home_panels as authority_panels
    from opcert.certificates.home import register_home_panels as certificate_panels
    from opcert.home import register_core_panels
    from opcert.training.home import register_home_panels as training_panels
    from photos.home import register_home_panels as photo_panels

    for register in (
        register_core_panels,
        photo_panels,
        training_panels,
        exam_panels,
        certificate_panels,
        authority_panels,
    ):
        register()


def register_audit_labels() -> None:
    """Each domain's names for the audit codes it writes, for the administrators' audit log."""
    from exams import audit_labels as exam_labels
    from exams.cbt import audit_labels as cbt_labels
    from exams.checkin import audit_labels as checkin_labels
    from exams.practice import audit_labels as practice_labels
    from opcert.audit.labels import register_labels
    from opcert.calendar import audit_labels as calendar_labels
    from opcert.certificates import audit_labels as certificate_labels
    from opcert.certificates import authority_labels
    from opcert.training import audit_labels as training_labels
    from photos import audit_labels as photo_labels

    for module in (
        calendar_labels,
        photo_labels,
        training_labels,
        exam_labels,
        practice_labels,
        checkin_labels,
        cbt_labels,
        certificate_labels,
        authority_labels,
    ):
        register_labels(module.LABELS)


def register_commands(app: Flask) -> None:
    """Attach every domain's command group to app.cli (`flask --app wsgi ...` and the test runner)."""
    from exams.cli import exams_cli
    from opcert.accounts.cli import users_cli
    from opcert.audit.cli import audit_cli
    from opcert.calendar.cli import calendar_cli
    from opcert.catalogue.cli import catalogue_cli
    from opcert.certificates.cli import certificates_cli
    from opcert.cli import demo_command
    from opcert.training.cli import training_cli
    from photos.cli import photos_cli

    for group in (
        users_cli,
        catalogue_cli,
        audit_cli,
        calendar_cli,
        photos_cli,
        training_cli,
        exams_cli,
        certificates_cli,
        demo_command,
    ):
        app.cli.add_command(group)


def register_template_helpers(app: Flask) -> None:
    """Globals and filters the templates use (dates in the user's language and the TIMEZONE, masked ID numbers)."""
    from opcert.access import Role
    from opcert.accounts.idnumber import mask_id_number
    from opcert.forms import ConfirmForm
    from opcert.timeutil import show_date, show_datetime

    app.jinja_env.filters["date"] = lambda value: show_date(value) if value else ""
    app.jinja_env.filters["datetime"] = lambda value: show_datetime(value) if value else ""
    app.jinja_env.filters["mask_id"] = mask_id_number

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {"Role": Role, "nav_form": nav_form, "current_lang": _select_locale(), "request_path": request.path}

    def nav_form() -> ConfirmForm:
        # The layout's buttons never read the request's form data: an error page for a body too large (413)
        # would otherwise parse that body again while rendering and fail a second time.
        return ConfirmForm(formdata=None)
