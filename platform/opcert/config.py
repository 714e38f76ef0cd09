"""Configuration: defaults in a class, then OPCERT_* environment variables, then explicit overrides."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from flask import Flask


class DefaultConfig:
    """Defaults for the embedded deployment (SQLite and local disk under instance/)."""

    ENV = "development"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"pool_pre_ping": True}
    REDIS_URL: str | None = None

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")
    BOOTSTRAP_SERVE_LOCAL = True

    SESSION_COOKIE_NAME = "opcert_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = dt.timedelta(hours=12)
    SESSION_IDLE_MINUTES = 30
    SESSION_TOUCH_SECONDS = 60
    WTF_CSRF_TIME_LIMIT = 3600 * 4
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    PROXY_FIX = False

    PASSWORD_MIN_LENGTH = 8
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_KIB = 65536
    ARGON2_PARALLELISM = 4

    LOGIN_THROTTLE_THRESHOLD = 5
    LOGIN_THROTTLE_IP_THRESHOLD = 50
    LOGIN_THROTTLE_BASE_SECONDS = 30
    LOGIN_THROTTLE_MAX_SECONDS = 900
    LOGIN_THROTTLE_WINDOW_SECONDS = 3600
    TOTP_ISSUER = "opcert 特种作业发证平台"
    TOTP_PENDING_SECONDS = 300

    MIN_AGE = 18
    PAGE_SIZE = 50

    # Photos and face matching (photos/). Thresholds calibrated on ../shared/faces with `opcert photos evaluate`.
    PHOTO_STORAGE_DIR: str | None = None  # default: instance/photos
    PHOTO_SUBJECT_KEY: str | None = None  # HMAC key for subject references; default: instance/photo_subject_key
    PHOTO_LIBRARY = "embedded"  # or "remote": the city's unified photo library over HTTPS
    DEMO_PHOTO_PATH: str | None = None  # `opcert demo`: the demo trainee's library photo (else ../shared/faces)
    PHOTO_LIBRARY_URL: str | None = None
    PHOTO_LIBRARY_TOKEN: str | None = None
    PHOTO_LIBRARY_TIMEOUT = 3.0  # seconds per attempt (connect and read)
    PHOTO_LIBRARY_RETRIES = 1  # further attempts after a connection error or a 5xx answer
    PHOTO_LIBRARY_CACHE_HOURS = 24  # a fetched photo is reused this long before asking the library again
    PHOTO_MAX_AGE_YEARS = 3  # older library photos are not used ("ID-card photos kept fresh within 3 years")
    PHOTO_MAX_BYTES = 10 * 1024 * 1024
    PHOTO_MAX_PIXELS = 40_000_000
    PHOTO_MIN_FACE_PX = 60
    PHOTO_MIN_FACE_RATIO = 0.12
    PHOTO_MAX_CENTRE_OFFSET = 0.25
    PHOTO_MIN_SHARPNESS = 12.0
    PHOTO_MIN_BRIGHTNESS = 50.0
    PHOTO_MAX_BRIGHTNESS = 215.0
    PHOTO_CERTIFICATE_SIZE = (358, 441)  # width, height in pixels of the certificate photo
    PHOTO_CAPTURE_RETENTION_DAYS = 90  # check-in captures
    FACE_DECISION_RETENTION_DAYS = 365 * 3
    FACE_MATCH_THRESHOLD = 0.47  # distance at or below: match
    FACE_REVIEW_THRESHOLD = 0.55  # above: no_match; between the two: review by staff
    FACE_FUSION_FRAMES = "mean"  # photos/fusion.py: how a burst's frames combine per template (mean | min)
    FACE_FUSION_TEMPLATES = "min"  # how the reference set's templates combine (min | mean | mean2)
    FACE_CONSENT_VERSION = "2026-11"
    FACE_INDEX_BACKEND = "numpy"  # exact: int8 scan, re-ranked on float32 kept in a TMPDIR file; or "faiss"

    # Exams (exams/).
    EXAM_RETIREMENT_AGE_MALE = 60  # eligibility: below the statutory retirement age on the exam day
    EXAM_RETIREMENT_AGE_FEMALE = 50  # workers' age before the 2025 reform's gradual rise: check local practice
    EXAM_APPLICATION_DAYS = 60  # the exam must take place within this many days of the application
    EXAM_REMINDER_HOURS = 24  # `opcert exams remind` tells candidates this long before the start
    COMMITMENT_VERSION = "2026-11"  # signing again is needed when the statement's text changes
    QUESTION_FACILITY_MIN = 0.2  # item statistics: questions outside these bounds are flagged for checking
    QUESTION_FACILITY_MAX = 0.95
    QUESTION_DISCRIMINATION_MIN = 0.2
    QUESTION_IMAGE_DIR: str | None = None  # question images (re-encoded JPEG); default: instance/question_images
    FACE_INDEX_FAISS_FACTORY = "SQ8"  # int8, exact, the fastest scan; "Flat": float32; "IVF4096,PQ16": approximate
    FACE_INDEX_FAISS_NPROBE = 16  # IVF lists visited per search (more: slower, closer to exact)

    # Notifications (exams/notify.py): in-app rows always; outside delivery after the commit through one sender.
    NOTIFY_SENDER = "log"  # "log": a log line, the last NOTIFY_LOG_KEEP kept in memory; "http": the SMS gateway
    NOTIFY_LOG_KEEP = 100
    NOTIFY_SMS_URL: str | None = None  # the gateway's endpoint; https:// (plain http only on loopback)
    NOTIFY_SMS_TOKEN: str | None = None  # sent as "Authorization: Bearer ..." when set
    NOTIFY_TIMEOUT = 5.0  # seconds to connect and to read the gateway's answer

    # Admission tickets (exams/tickets.py)
    TICKET_FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # else common paths are searched
    TICKET_TOKEN_SALT = "opcert.exams.ticket"  # noqa: S105 (a salt, not a secret)


def default_instance_path() -> Path:
    """instance/ at the repository root in a source checkout, else in the working directory."""
    override = os.environ.get("OPCERT_INSTANCE_PATH")
    if override:
        return Path(override).resolve()
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file():
        return root / "instance"
    return Path.cwd() / "instance"


def _instance_secret_key(instance: Path, name: str = "secret_key") -> str:
    """Read one of the embedded deployment's keys, creating it once with mode 0600."""
    path = instance / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        key = secrets.token_urlsafe(48)
        fh.write(key)
    return key


def load_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Fill app.config; production refuses to start without an explicit secret key and database."""
    app.config.from_object(DefaultConfig)
    app.config.from_prefixed_env("OPCERT")
    if overrides:
        app.config.update(overrides)
    instance = Path(app.instance_path)
    if app.config["ENV"] == "production":
        required = ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "PHOTO_SUBJECT_KEY", "PHOTO_STORAGE_DIR")
        missing = [k for k in required if not app.config.get(k)]
        if missing:
            names = ", ".join(f"OPCERT_{k}" for k in missing)
            raise RuntimeError(f"production configuration incomplete: set {names}")
        app.config["SESSION_COOKIE_SECURE"] = True
        return
    if not all(app.config.get(k) for k in ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "PHOTO_SUBJECT_KEY")):
        instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(instance)
    if not app.config.get("PHOTO_SUBJECT_KEY"):
        app.config["PHOTO_SUBJECT_KEY"] = _instance_secret_key(instance, "photo_subject_key")
    if not app.config.get("PHOTO_STORAGE_DIR"):
        app.config["PHOTO_STORAGE_DIR"] = str(instance / "photos")
    if not app.config.get("QUESTION_IMAGE_DIR"):
        app.config["QUESTION_IMAGE_DIR"] = str(instance / "question_images")
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'opcert.sqlite'}"
