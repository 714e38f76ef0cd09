"""Configuration: defaults in a class, then OPCERT_* environment variables, then explicit overrides."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask


class DefaultConfig:
    """Defaults for the embedded deployment (SQLite and local disk under instance/)."""

    ENV = "development"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"pool_pre_ping": True}
    REDIS_URL: str | None = None
    REDIS_RETRY_SECONDS = 30  # while Redis does not answer, throttling counts in the database; Redis is retried

    BABEL_DEFAULT_LOCALE = "zh_CN"
    TIMEZONE = "Asia/Shanghai"  # times are shown, typed in and counted in days in this zone (opcert.timeutil)
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
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024  # a whole request body (uploads included); larger ones are refused (413)
    MAX_FORM_MEMORY_SIZE = 512 * 1024  # one text field of a form
    MAX_FORM_PARTS = 1000  # fields and files in one form
    PROXY_FIX = False

    PASSWORD_MIN_LENGTH = 8
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_KIB = 65536
    ARGON2_PARALLELISM = 4

    # Throttling (docs/security.md): an account's delay stays short (a stranger must not keep its owner out), an
    # address's delay keeps doubling up to a day, TOTP codes (password already known) up to 15 minutes.
    LOGIN_THROTTLE_THRESHOLD = 5
    LOGIN_THROTTLE_BASE_SECONDS = 30
    LOGIN_THROTTLE_MAX_SECONDS = 60
    LOGIN_THROTTLE_WINDOW_SECONDS = 3600
    LOGIN_THROTTLE_IP_THRESHOLD = 50
    LOGIN_THROTTLE_IP_BASE_SECONDS = 30
    LOGIN_THROTTLE_IP_MAX_SECONDS = 86400
    LOGIN_THROTTLE_TOTP_MAX_SECONDS = 900
    REGISTER_THROTTLE_THRESHOLD = 20  # registrations (tries included) per address before a delay
    REGISTER_THROTTLE_BASE_SECONDS = 60
    REGISTER_THROTTLE_MAX_SECONDS = 3600
    REGISTER_THROTTLE_WINDOW_SECONDS = 3600
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
    # The dlib engine's thresholds, chosen on East Asian faces out of sample by the rule in docs/face-calibration.md.
    FACE_MATCH_THRESHOLD = 0.31  # distance at or below: match
    FACE_REVIEW_THRESHOLD = 0.64  # above: no_match; between the two: review by staff
    FACE_FUSION_FRAMES = "mean"  # photos/fusion.py: how a burst's frames combine per template (mean | min)
    FACE_FUSION_TEMPLATES = "min"  # how the reference set's templates combine (min | mean | mean2)
    # `opcert photos evaluate --degrade`: webcam-like copies (longer side, JPEG quality, Gaussian blur sigma in pixels)
    FACE_DEGRADE_MAX_SIDE = 200
    FACE_DEGRADE_JPEG_QUALITY = 60
    FACE_DEGRADE_BLUR_SIGMA = 1.0
    # Face engines (photos/engines/): the embedded dlib engine's thresholds are FACE_MATCH/REVIEW_THRESHOLD above;
    # the ONNX engine (ArcFace-style model file, cosine distance) has its own, to be validated with
    # `opcert photos evaluate DIR --engine onnx` before `opcert photos reencode onnx` switches to it
    # (docs/face-engines.md). The engine in use is recorded by that command, not set here.
    FACE_ONNX_MODEL_PATH: str | None = None
    FACE_ONNX_MATCH_THRESHOLD = 0.60  # 1 - cosine similarity at or below: match
    FACE_ONNX_REVIEW_THRESHOLD = 0.70
    # Jittered copies averaged for a reference photo's template (off the request path). 1: on the casia5__ webcam
    # people dlib with 4 jitters brought the closest impostor nearer (0.358 → 0.343) and genuine pairs no closer.
    FACE_ENROL_JITTERS = 1
    # A person's reference set: the library/uploaded photo's template plus live captures that passed a check.
    FACE_SET_MAX_TEMPLATES = 3  # templates compared with a capture (the reference photo first, then newest captures)
    FACE_SET_CAPTURE_MAX_DAYS = 90  # older captures leave the set (never longer than PHOTO_CAPTURE_RETENTION_DAYS)
    # Bursts: a capture is 1..FACE_BURST_MAX_FRAMES frames of one size; cheap checks on every frame (detection on a
    # copy shrunk to FACE_BURST_DETECT_SIDE px, face size, centring, exposure, sharpness) choose the best
    # FACE_BURST_ENCODE_FRAMES, which alone are encoded and fused.
    FACE_BURST_MAX_FRAMES = 6
    FACE_BURST_ENCODE_FRAMES = 2
    FACE_BURST_DETECT_SIDE = 320
    # Replay: a frame whose 32x24 grey thumbnail differs from an earlier stored capture's by at most this mean
    # absolute difference (grey levels, 0-255) is refused; re-encoded copies measure < 0.2, new captures > 3.
    FACE_REPLAY_MAX_DIFF = 1.5
    FACE_CONSENT_VERSION = "2026-11"
    # 1:N search, exact in every backend (int8 scan, re-ranked on float32 kept in a TMPDIR file): "auto" = FAISS SQ8
    # when faiss-cpu imports (the faster scan), numpy otherwise (the choice logged once); or "numpy" / "faiss".
    FACE_INDEX_BACKEND = "auto"

    # Exams (exams/).
    EXAM_RETIREMENT_AGE_MALE = 60  # eligibility: below the statutory retirement age on the exam day
    EXAM_RETIREMENT_AGE_FEMALE = 50  # workers' age before the 2025 reform's gradual rise: check local practice
    EXAM_APPLICATION_DAYS = 60  # the exam must take place within this many days of the application
    EXAM_REMINDER_HOURS = 24  # `opcert exams remind` tells candidates this long before the start
    EXAM_PHOTO_ACCESS_DAYS = 30  # centre staff see a candidate's face from booking until this long after the session
    COMMITMENT_VERSION = "2026-11"  # signing again is needed when the statement's text changes
    QUESTION_FACILITY_MIN = 0.2  # item statistics: questions outside these bounds are flagged for checking
    QUESTION_FACILITY_MAX = 0.95
    QUESTION_DISCRIMINATION_MIN = 0.2
    # Question-bank imports: checked while the file is read, so an oversized one is refused after little work.
    QUESTION_IMPORT_MAX_BYTES = 16 * 1024 * 1024  # the file itself (the upload limit also applies on the web)
    QUESTION_IMPORT_MAX_QUESTIONS = 5000  # questions in one file
    QUESTION_IMPORT_MAX_ROWS = 20_000  # rows read, blank ones included
    QUESTION_IMPORT_MAX_COLUMNS = 50  # columns holding text
    QUESTION_IMPORT_MAX_CELL_CHARS = 10_000  # characters in one cell
    QUESTION_IMPORT_MAX_CELLS = 100_000  # cells read in all, empty ones included (about 3 s of XLSX parsing)
    QUESTION_IMPORT_MAX_UNPACKED_BYTES = 32 * 1024 * 1024  # an XLSX's parts once unzipped (zip bombs)
    QUESTION_IMPORT_MAX_LISTED_PROBLEMS = 200  # a refusal lists at most this many problems
    QUESTION_IMAGE_DIR: str | None = None  # question images (re-encoded JPEG); default: instance/question_images
    # Practice and mock exams (exams/practice/): the mock follows the theory exam's format (DOMAIN.md).
    PRACTICE_REVIEW_STREAK = 2  # right answers in a row that take a question off the wrong-answer book
    PRACTICE_MOCK_TRUE_FALSE = 70  # true/false questions on a mock paper
    PRACTICE_MOCK_SINGLE = 30  # single-choice questions on a mock paper
    PRACTICE_MOCK_POINTS = 1  # points per question (70 + 30 at 1 point: 100 points)
    PRACTICE_MOCK_MINUTES = 120  # the mock's time on the server's clock; answers after it are refused
    PRACTICE_MOCK_PASS_MARK = 80  # points needed to pass
    FACE_INDEX_FAISS_FACTORY = "SQ8"  # int8, exact, the fastest scan; "Flat": float32; "IVF4096,PQ16": approximate
    FACE_INDEX_FAISS_NPROBE = 16  # IVF lists visited per search (more: slower, closer to exact)

    # Notifications (opcert/notifications/): in-app rows always; outside delivery after the commit through one sender.
    NOTIFY_SENDER = "log"  # "log": a log line, the last NOTIFY_LOG_KEEP kept in memory; "http": the SMS gateway
    NOTIFY_LOG_KEEP = 100
    NOTIFY_SMS_URL: str | None = None  # the gateway's endpoint; https:// (plain http only on loopback)
    NOTIFY_SMS_TOKEN: str | None = None  # sent as "Authorization: Bearer ..." when set
    NOTIFY_TIMEOUT = 5.0  # seconds to connect and to read the gateway's answer

    # Training (platform/opcert/training/): courses, study hours on the server's clock, face checks while studying.
    TRAINING_FILE_DIR: str | None = None  # lesson videos and PDFs; default: instance/training_files
    TRAINING_REQUIRED = True  # exam eligibility asks training for the item's hours and face checks in order
    STUDY_HEARTBEAT_SECONDS = 30  # the lesson page sends a heartbeat this often while visible and in use
    STUDY_HEARTBEAT_MIN_SECONDS = 20  # a heartbeat sooner than this after the last one is refused (too frequent)
    STUDY_HEARTBEAT_CAP_SECONDS = 40  # one heartbeat credits at most this much server time
    STUDY_HEARTBEAT_GAP_SECONDS = 90  # silence longer than this stops the clock; the lease is free for another page
    STUDY_IDLE_SECONDS = 300  # the page reports itself idle after this long without input (and no video playing)
    STUDY_LESSON_MARGIN_SECONDS = 300  # a lesson never collects more than its syllabus minutes plus this
    STUDY_DAILY_CAP_MINUTES = 480  # study credited per trainee per local day
    STUDY_PLAYBACK_RATE_MAX = 1.1  # video segments played faster than this (against server time) credit nothing
    TRAINING_FACE_CHECKS_PER_HOUR = 2.0  # random face checks while studying (plus one at the start); 0: none
    TRAINING_FACE_WINDOW_SECONDS = 60  # a requested check must pass within this; else the time since the last good
    TRAINING_FACE_FAILURES_FLAG = 3  # failed checks in a row that flag the account for staff review
    TRAINING_RECORD_RETENTION_YEARS = 6  # study records and the captures they rely on are kept this long

    # Documents (opcert/documents.py): PDF pages embed this CJK font; else common font paths are searched.
    # Formerly TICKET_FONT_PATH, still read when PDF_FONT_PATH is not set (see RENAMED_SETTINGS).
    PDF_FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    # Admission tickets (exams/sessions/tickets.py)
    TICKET_TOKEN_SALT = "opcert.exams.ticket"  # noqa: S105 (a salt, not a secret)

    # Practical scoring (exams/practical): blind double marking, the margin that calls a third examiner, and the
    # share of a subject's points that counts as a pass when agreement (Cohen's kappa) is computed.
    PRACTICAL_BLIND = True  # an examiner sees the other marks only once every marking of the candidate is signed
    PRACTICAL_MARGIN = 10  # points (of 100): two totals further apart, or a veto only one marked, call a third
    PRACTICAL_SUBJECT_PASS = 80  # percent of a subject's points that counts as passing it (for kappa)
    # Results (exams/results)
    RESULT_PASS_MARK = 80  # each part; an item's own pass mark applies when higher
    RESULT_MAKEUPS = 1  # makeups per failed part before retraining is required
    RESULT_VALID_MONTHS = 12  # a passed part counts this long from its exam date
    RESULT_PUBLISH_WORKING_DAYS = 10  # results reach the candidate within this many working days (Mon-Fri)
    RESULT_HOLIDAYS: tuple[str, ...] = ()  # ISO dates that are not working days (public holidays)
    RESULT_PDF_SALT = "opcert.exams.results.pdf"  # key derivation for signed result PDFs (not a secret)

    # Exam day (exams/checkin, exams/cbt).
    CHECKIN_STANDIN_K = 5  # identities the 1:N search returns for a check-in capture
    # dlib distance at or below which another identity found by the 1:N search flags a possible stand-in (a flag
    # only asks staff to look: looser than the 1:1 match threshold, stricter than the review band's 0.64).
    CHECKIN_STANDIN_THRESHOLD = 0.40
    # Centre id (as text) -> the networks (CIDR) its exam seats sign in from; a centre not named: any address.
    CBT_ALLOWED_NETWORKS: ClassVar[dict[str, list[str]]] = {}
    CBT_HEARTBEAT_SECONDS = 10  # the exam page says it is alive this often (answers are saved as they are given)
    CBT_OFFLINE_GRACE_SECONDS = 25  # a server-side gap between contacts longer than this is time credited back
    CBT_OFFLINE_CREDIT_MAX_SECONDS = 600  # at most this much time is credited back per attempt
    CBT_SHOW_SCORE = True  # show the theory score to the candidate at submission (a session's run may override)
    CBT_DEVICE_COOKIE_DAYS = 1  # the seat's cookie binding a terminal to an attempt lives this long

    # Certificates (opcert/certificates/).
    CERT_AUTHORITY_NAME = "上海市应急管理局"  # the issuing authority printed on certificates and in the key list
    CERT_VALID_YEARS = 6  # a certificate is valid this long from its issue
    CERT_REVIEW_YEARS = 3  # review (复审) is due this long after issue
    # The seal's keyring (opcert/certificates/seal.py): the secret OPCERT_CERT_SEAL_KEYRING (the JSON itself) wins;
    # else this file (default instance/certificate-seal.json, created with one new key outside production).
    CERT_SEAL_KEYRING: str | None = None
    CERT_SEAL_KEYRING_FILE: str | None = None
    CERT_SEAL_ALGORITHM = "ed25519"  # new keys: "ed25519" or "sm2" (SM2 with SM3)
    # The address printed in the QR code before its payload (the public verification page); default: this site's
    CERT_VERIFY_URL: str | None = None
    CERT_STATUS_LIST_MAX_AGE_SECONDS = 3600  # the signed status list is rebuilt when older than this
    CERT_VERIFY_THROTTLE_THRESHOLD = 20  # refused look-ups (number + name) per address before a delay
    CERT_VERIFY_THROTTLE_BASE_SECONDS = 60
    CERT_VERIFY_THROTTLE_MAX_SECONDS = 3600
    # The verification page's camera frames (a few a second while it looks for a code), counted per address: past
    # the threshold a growing delay; the count is forgotten after the window without frames.
    CERT_VERIFY_FRAME_THRESHOLD = 600
    CERT_VERIFY_FRAME_BASE_SECONDS = 60
    CERT_VERIFY_FRAME_MAX_SECONDS = 3600
    CERT_VERIFY_FRAME_WINDOW_SECONDS = 60
    # Applications and their review (opcert/certificates/applications.py).
    # Routing to the competent authority: the name of the authority organisation whose officers review
    # applications; empty: the city bureau (the first active authority that reports to no other).
    CERT_APPLICATION_AUTHORITY = ""
    CERT_ACCEPT_WORKING_DAYS = 5  # an application is accepted or returned within this many working days
    CERT_DECIDE_WORKING_DAYS = 20  # and decided within this many working days of its acceptance
    CERT_FOUR_EYES = False  # an approval needs a second approval by another officer of the authority
    CERT_DEADLINE_WARN_WORKING_DAYS = 1  # the queue warns when a deadline is this many working days away or less
    CERT_RENEWAL_WINDOW_DAYS = 60  # review (复审) and extension (延期复审) are applied for within this many days before
    CERT_REVIEW_TRAINING_HOURS = 8  # review training hours required (at least; an item's review hours may ask more)
    CERT_SIX_YEAR_WORK_YEARS = 10  # continuous years of work (and a clean record) for a review every 6 years
    CERT_REMINDER_DAYS = "60,30"  # `opcert certificates remind` reminds this many days before review and expiry
    CERT_REAPPLY_BAR_YEARS = 3  # a revocation for false information or fraud bars a new application this long
    CERT_NOTICES_PER_PAGE = 20  # the public list of revocations and cancellations, per page
    CERT_FOLLOWUP_WORKING_DAYS = 15  # a bad rating's follow-up (好差评整改) is closed within this many working days
    # The data-sharing API (/api/v1, docs/api.md): bearer tokens made by administrators, throttled per token.
    API_TOKEN_MAX_DAYS = 366  # a token is valid at most this long
    API_RATE_LIMIT = 120  # calls per token per window; beyond it 429 with Retry-After
    API_RATE_WINDOW_SECONDS = 60
    API_PAGE_SIZE = 100  # certificates per page of the change feed (limit=), at most API_MAX_PAGE_SIZE
    API_MAX_PAGE_SIZE = 500
    API_SETTLE_SECONDS = 5  # the feed leaves changes younger than this for the next call (commit order)
    API_REFUSAL_THROTTLE_THRESHOLD = 10  # refused tokens per address before a delay
    API_REFUSAL_THROTTLE_BASE_SECONDS = 60
    API_REFUSAL_THROTTLE_MAX_SECONDS = 3600
    # The 告知承诺 commitment the applicant signs: its version and text are stored with each application.
    CERT_COMMITMENT_VERSION = "2026-1"
    CERT_COMMITMENT_TEXT = (
        "本人承诺：身体健康，无妨碍从事相应特种作业的器质性心脏病、癫痫病、美尼尔氏症、眩晕症、癔病、震颤麻痹症、"
        "精神病、痴呆症以及其他疾病和生理缺陷；年满18周岁且不超过国家法定退休年龄；在本市居住或工作；"
        "所填信息真实、准确。如有不实，愿承担相应法律责任，发证机关可依法撤销所发证书。"
    )


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


# Old setting name → new name. The old name is still read, with a warning, when only it is set; each entry is
# removed in the release after the one that ships the rename (TICKET_FONT_PATH: renamed after 0.1.0).
RENAMED_SETTINGS = {"TICKET_FONT_PATH": "PDF_FONT_PATH"}


def _apply_renamed_settings(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Copy a renamed setting's old value to its new name unless the new name was given (environment or
    overrides): deployments configured with the old name keep working for one release."""
    given = dict(overrides or {})
    for old, new in RENAMED_SETTINGS.items():
        if old not in app.config:
            continue
        value = app.config.pop(old)
        if new in given or f"OPCERT_{new}" in os.environ:
            app.logger.warning("setting %s is ignored: %s is set (the old name goes in the next release)", old, new)
            continue
        app.logger.warning("setting %s is deprecated: use %s (the old name goes in the next release)", old, new)
        app.config[new] = value


def load_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Fill app.config; production refuses to start without an explicit secret key and database."""
    app.config.from_object(DefaultConfig)
    app.config.from_prefixed_env("OPCERT")
    if overrides:
        app.config.update(overrides)
    _apply_renamed_settings(app, overrides)
    zone = str(app.config["TIMEZONE"])
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuntimeError(f"TIMEZONE {zone!r} is not a known time zone (e.g. Asia/Shanghai)") from None
    app.config["BABEL_DEFAULT_TIMEZONE"] = zone  # the Jinja date filters (Flask-Babel) show times in this zone
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
    if not app.config.get("TRAINING_FILE_DIR"):
        app.config["TRAINING_FILE_DIR"] = str(instance / "training_files")
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'opcert.sqlite'}"
