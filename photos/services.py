"""Photo and face rules: the reference photo for a person, storing photos, 1:1 verification, consent, views,
retention. Callers pass resident ID numbers; rows only ever hold the subject reference (an HMAC)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import hmac
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from opcert.access import Role
from opcert.accounts.models import User
from opcert.audit.services import record_event
from opcert.db import rowcount, utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.timeutil import local_today
from photos import burst, engine, storage
from photos.access import granted_purpose
from photos.engines import EngineUnavailableError, FaceEngine, engine_thresholds, load_engine
from photos.fusion import fuse
from photos.images import DecodedImage, ImageRejectedError, crop_to_ratio, decode_image, encode_jpeg
from photos.library import LibraryUnavailableError, remote_library
from photos.models import (
    CaptureFrame,
    FaceConsent,
    FaceDecision,
    FaceEngineActivation,
    FaceTemplate,
    Outcome,
    Photo,
    PhotoSource,
)
from photos.quality import MESSAGES as QUALITY_MESSAGES
from photos.quality import CheckedFace, Purpose, QualityError, QualitySettings, check_image
from photos.retention import kept_decisions

REFERENCE_SOURCES = (PhotoSource.UNIFIED_LIBRARY, PhotoSource.UPLOADED)
VIEW_KEY_RE = re.compile(r"[0-9a-f]{32,64}")
ADMIN_STATEMENT_MIN = 5
ADMIN_STATEMENT_MAX = 200


class PhotoRejectedError(DomainError):
    """The image cannot be used; the message says why and what to do."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, {"photo": message})
        self.code = code


class ConsentRequiredError(DomainError):
    """No recorded consent to face processing: the check must be done by staff by hand."""

    def __init__(self) -> None:
        super().__init__(_("本人尚未同意人脸识别核验，请由工作人员人工核对身份证件。"))


class NoReferencePhotoError(DomainError):
    """Neither the library nor an upload gives a usable reference photo."""

    def __init__(self) -> None:
        super().__init__(_("没有可用于比对的本人照片，请由工作人员人工核对身份证件。"))


class StatementRequiredError(DomainError):
    """An administrator has no standing purpose to see a face: they must say why, and the reason is audited."""

    def __init__(self) -> None:
        message = _("管理员查看人脸照片须说明理由（至少%(n)d个字），理由将记入审计日志。", n=ADMIN_STATEMENT_MIN)
        super().__init__(message, {"statement": message})


BURST_MESSAGES: dict[str, LazyString] = {
    "empty": _l("没有收到任何画面，请重新拍摄。"),
    "too_many": _l("一次最多提交%(max)d帧画面，请重新拍摄。"),
    "sizes": _l("同一次采集的各帧画面尺寸不一致，请重新拍摄。"),
    "two_people": _l("各帧画面中出现了不同的人，请仅本人面对镜头后重新拍摄。"),
    "replay": _l("画面与此前提交过的采集画面相同或几乎相同，疑似重放，已拒绝。请本人在现场重新拍摄。"),
    "frame": _l("第%(n)d帧画面无法使用：%(reason)s"),
    "retake": _l("未采集到可用的人脸画面：%(reason)s"),
    "no_face": _l("画面中未检测到人脸，请正对镜头、露出面部后重新拍摄。"),
}


class BurstRefusedError(PhotoRejectedError):
    """The burst as a whole cannot be used (no frame, too many, sizes differ, two people, a replay)."""

    def __init__(self, code: str, **params: int) -> None:
        super().__init__(str(BURST_MESSAGES[code]) % params if params else str(BURST_MESSAGES[code]), code)


class RetakeRequiredError(PhotoRejectedError):
    """No frame of the burst passed the capture checks: take new frames (no decision was made). `reason` is the
    check most frames failed."""

    def __init__(self, reason: str) -> None:
        detail = BURST_MESSAGES["no_face"] if reason == "no_face" else QUALITY_MESSAGES[reason]
        super().__init__(str(BURST_MESSAGES["retake"]) % {"reason": detail}, "retake")
        self.reason = reason


class ReferenceCase(enum.StrEnum):
    """Which case applies to a person's reference photo (shown on the trainee's page)."""

    LIBRARY = "library"  # the unified library has a usable photo: nothing to upload
    UPLOADED = "uploaded"  # the library has none; the person's own upload is used
    MISSING = "missing"  # neither: the person must upload one
    UNAVAILABLE = "unavailable"  # the remote library is down and nothing is cached


@dataclasses.dataclass(frozen=True)
class ReferenceStatus:
    """The reference photo to use for a person, and why."""

    case: ReferenceCase
    photo: Photo | None = None
    library_photo_too_old: bool = False


def subject_ref(id_number: str) -> str:
    """The stable, non-reversible reference that photo rows carry instead of the ID number."""
    key = str(current_app.config["PHOTO_SUBJECT_KEY"]).encode()
    return hmac.new(key, id_number.strip().upper().encode(), hashlib.sha256).hexdigest()


def quality_settings() -> QualitySettings:
    """Thresholds from the configuration."""
    cfg = current_app.config
    return QualitySettings(
        min_face_px=int(cfg["PHOTO_MIN_FACE_PX"]),
        min_face_ratio=float(cfg["PHOTO_MIN_FACE_RATIO"]),
        max_centre_offset=float(cfg["PHOTO_MAX_CENTRE_OFFSET"]),
        min_sharpness=float(cfg["PHOTO_MIN_SHARPNESS"]),
        min_brightness=float(cfg["PHOTO_MIN_BRIGHTNESS"]),
        max_brightness=float(cfg["PHOTO_MAX_BRIGHTNESS"]),
    )


def _decode(data: bytes) -> DecodedImage:
    cfg = current_app.config
    return decode_image(data, max_bytes=int(cfg["PHOTO_MAX_BYTES"]), max_pixels=int(cfg["PHOTO_MAX_PIXELS"]))


def examine(data: bytes, purpose: Purpose, *, jitters: int = 1) -> tuple[bytes, CheckedFace, tuple[int, int]]:
    """Decode and check an image; return the re-encoded JPEG, the face with its dlib encoding, and (width,
    height)."""
    try:
        decoded = _decode(data)
        checked = check_image(decoded, purpose, quality_settings(), jitters=jitters)
    except (ImageRejectedError, QualityError) as exc:
        raise PhotoRejectedError(exc.message, exc.code) from None
    return encode_jpeg(decoded.rgb), checked, (decoded.width, decoded.height)


def enrol_jitters() -> int:
    """Jittered copies averaged for a reference photo's template (FACE_ENROL_JITTERS)."""
    return max(1, int(current_app.config["FACE_ENROL_JITTERS"]))


def new_template(face_engine: FaceEngine, *, ref: str, encoding: engine.Encoding, jitters: int) -> FaceTemplate:
    """A template row for an encoding made by `face_engine`."""
    return FaceTemplate(
        subject_ref=ref,
        engine=face_engine.key,
        model_name=face_engine.model_name,
        model_version=face_engine.model_version,
        jitters=jitters,
        vector=engine.to_bytes(encoding),
    )


def add_photo(
    *,
    ref: str,
    source: PhotoSource,
    jpeg: bytes,
    checked: CheckedFace,
    size: tuple[int, int],
    captured_on: dt.date,
    library_photo_id: str | None = None,
    source_sha256: str | None = None,
    jitters: int = 1,
) -> Photo:
    """Store file, photo row and templates together; a new reference replaces the old one of its source.

    Templates: dlib's (`checked.encoding`, made with `jitters`; what the 1:N index searches) and, when another
    engine is in use, that engine's too (from the stored JPEG: same pixels, same face box).
    """
    if source in REFERENCE_SOURCES:
        db.session.execute(
            sa.update(Photo)
            .where(Photo.subject_ref == ref, Photo.source == source, Photo.is_current.is_(True))
            .values(is_current=False)
        )
    photo = Photo(
        subject_ref=ref,
        source=source,
        captured_on=captured_on,
        sha256=hashlib.sha256(jpeg).hexdigest(),
        storage_key=storage.save(jpeg),
        width=size[0],
        height=size[1],
        is_current=True,
        library_photo_id=library_photo_id,
        source_sha256=source_sha256,
        fetched_at=utcnow() if source is PhotoSource.UNIFIED_LIBRARY else None,
    )
    dlib = load_engine("dlib")
    photo.templates.append(new_template(dlib, ref=ref, encoding=checked.encoding, jitters=jitters))
    in_use = _engine_in_use_for_enrolment()
    if in_use is not None and in_use.key != dlib.key:
        rgb = _decode(jpeg).rgb
        encoding = in_use.encode_face(rgb, checked.face, jitters=jitters)
        photo.templates.append(new_template(in_use, ref=ref, encoding=encoding, jitters=jitters))
    db.session.add(photo)
    db.session.flush()
    return photo


def _engine_in_use_for_enrolment() -> FaceEngine | None:
    """The engine in use; None (with a logged error) when it cannot be loaded: the photo is stored with its dlib
    template and `opcert photos reencode` adds the missing one later."""
    try:
        return active_engine()
    except EngineUnavailableError as exc:
        current_app.logger.error("face engine unavailable, storing the dlib template only: %s", exc.code)
        return None


def store_photo(
    *,
    id_number: str,
    data: bytes,
    source: PhotoSource,
    captured_on: dt.date | None = None,
    library_photo_id: str | None = None,
) -> Photo:
    """Check and store a photo with its encoding (computed here, once, never on a later request)."""
    purpose = Purpose.CAPTURE if source is PhotoSource.CHECKIN else Purpose.REFERENCE
    jitters = 1 if purpose is Purpose.CAPTURE else enrol_jitters()
    jpeg, checked, size = examine(data, purpose, jitters=jitters)
    photo = add_photo(
        ref=subject_ref(id_number),
        source=source,
        jpeg=jpeg,
        checked=checked,
        size=size,
        captured_on=captured_on or local_today(),
        library_photo_id=library_photo_id,
        jitters=jitters,
    )
    record_event("photo.stored", object_type="photo", object_id=photo.id, details={"source": source.value})
    return photo


def _current(ref: str, source: PhotoSource) -> Photo | None:
    query = (
        sa.select(Photo)
        .where(Photo.subject_ref == ref, Photo.source == source, Photo.is_current.is_(True))
        .order_by(Photo.id.desc())
    )
    return db.session.execute(query).scalars().first()


def _fresh_enough(photo: Photo) -> bool:
    years = int(current_app.config["PHOTO_MAX_AGE_YEARS"])
    today = local_today()
    try:
        limit = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        limit = today.replace(year=today.year - years, day=28)
    return photo.captured_on >= limit


def _library_photo(id_number: str, ref: str) -> Photo | None:
    """The unified library's current photo: embedded rows, or the remote library through the cache."""
    cached = _current(ref, PhotoSource.UNIFIED_LIBRARY)
    if current_app.config["PHOTO_LIBRARY"] != "remote":
        return cached
    hours = float(current_app.config["PHOTO_LIBRARY_CACHE_HOURS"])
    if cached is not None and cached.fetched_at and utcnow() - cached.fetched_at < dt.timedelta(hours=hours):
        return cached
    try:
        record = remote_library().lookup(id_number, known_photo_id=cached.library_photo_id if cached else None)
    except LibraryUnavailableError:
        if cached is not None:
            return cached  # stale but still the library's photo: better than sending everyone to manual checks
        raise
    if record is None:
        if cached is not None:
            cached.is_current = False
        return None
    if cached is not None and cached.library_photo_id == record.photo_id:
        cached.fetched_at = utcnow()
        return cached
    try:
        jpeg, checked, size = examine(record.data, Purpose.REFERENCE, jitters=enrol_jitters())
    except PhotoRejectedError:
        # The library's new photo is unusable: the person uploads one. Retire the old library photo too, so the
        # platform does not keep comparing against a photo the library itself has replaced.
        if cached is not None:
            cached.is_current = False
        return None
    photo = add_photo(
        ref=ref,
        source=PhotoSource.UNIFIED_LIBRARY,
        jpeg=jpeg,
        checked=checked,
        size=size,
        captured_on=record.captured_on,
        library_photo_id=record.photo_id,
        jitters=enrol_jitters(),
    )
    record_event("photo.fetched", object_type="photo", object_id=photo.id, details={"library_id": record.photo_id})
    return photo


def reference_status(id_number: str) -> ReferenceStatus:
    """Which reference photo applies: the library's (preferred), else the person's upload, else none."""
    ref = subject_ref(id_number)
    try:
        library = _library_photo(id_number, ref)
    except LibraryUnavailableError:
        uploaded = _current(ref, PhotoSource.UPLOADED)
        if uploaded is not None:
            return ReferenceStatus(ReferenceCase.UPLOADED, uploaded)
        return ReferenceStatus(ReferenceCase.UNAVAILABLE)
    too_old = library is not None and not _fresh_enough(library)
    if library is not None and not too_old:
        return ReferenceStatus(ReferenceCase.LIBRARY, library)
    uploaded = _current(ref, PhotoSource.UPLOADED)
    if uploaded is not None:
        return ReferenceStatus(ReferenceCase.UPLOADED, uploaded, library_photo_too_old=too_old)
    return ReferenceStatus(ReferenceCase.MISSING, library_photo_too_old=too_old)


def upload_reference(*, id_number: str, data: bytes) -> Photo:
    """A person uploads their own photo: only allowed when the library has no usable one (减照片)."""
    status = reference_status(id_number)
    if status.case is ReferenceCase.LIBRARY:
        raise DomainError(_("本市统一照片库已有您的照片，无需上传。"))
    if status.case is ReferenceCase.UNAVAILABLE:
        raise DomainError(_("本市统一照片库暂时无法访问，暂不能确认是否需要上传，请稍后再试。"))
    return store_photo(id_number=id_number, data=data, source=PhotoSource.UPLOADED)


# --- consent ---------------------------------------------------------------------------------------


def has_consent(id_number: str) -> bool:
    """Whether the person has a standing consent to face processing."""
    query = sa.select(FaceConsent.id).where(
        FaceConsent.subject_ref == subject_ref(id_number), FaceConsent.withdrawn_at.is_(None)
    )
    return db.session.execute(query).first() is not None


def record_consent(*, id_number: str, recorded_by_id: int | None) -> FaceConsent:
    """Record the person's separate consent (idempotent while it stands)."""
    ref = subject_ref(id_number)
    existing = db.session.execute(
        sa.select(FaceConsent).where(FaceConsent.subject_ref == ref, FaceConsent.withdrawn_at.is_(None))
    ).scalar()
    if existing is not None:
        return existing
    consent = FaceConsent(
        subject_ref=ref, statement_version=current_app.config["FACE_CONSENT_VERSION"], recorded_by_id=recorded_by_id
    )
    db.session.add(consent)
    db.session.flush()
    record_event("face.consent_granted", object_type="face_consent", object_id=consent.id)
    return consent


def withdraw_consent(*, id_number: str) -> None:
    """Withdraw consent: later checks fall back to the manual check by staff."""
    ref = subject_ref(id_number)
    db.session.execute(
        sa.update(FaceConsent)
        .where(FaceConsent.subject_ref == ref, FaceConsent.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow())
    )
    record_event("face.consent_withdrawn", object_type="subject", object_id=ref[:16])
    db.session.flush()


# --- engines ---------------------------------------------------------------------------------------


def active_engine() -> FaceEngine:
    """The engine in use: the newest recorded switch (`opcert photos reencode`), else the embedded dlib engine.

    EngineUnavailableError when it cannot be loaded, or when its model file is no longer the one switched to
    (its templates would not be comparable): face checks then go to staff; nothing switches silently.
    """
    row = db.session.execute(
        sa.select(FaceEngineActivation).order_by(FaceEngineActivation.id.desc()).limit(1)
    ).scalar_one_or_none()
    if row is None or row.name == "dlib":
        return load_engine("dlib")
    loaded = load_engine(row.name, onnx_model_path=current_app.config["FACE_ONNX_MODEL_PATH"])
    if loaded.key != row.engine:
        raise EngineUnavailableError("changed")
    return loaded


# --- reference sets ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SetMember:
    """One template of a person's reference set, with the photo it came from."""

    template: FaceTemplate
    photo: Photo
    anchor: bool  # the library or uploaded reference photo (not a live capture)

    def as_evidence(self) -> dict[str, Any]:
        """The template's identity for the decision record."""
        return {
            "template_id": self.template.id,
            "photo_id": self.photo.id,
            "source": self.photo.source.value,
            "captured_on": self.photo.captured_on.isoformat(),
            "created_at": self.template.created_at.isoformat(),
            "jitters": self.template.jitters,
            "anchor": self.anchor,
        }


def _capture_cutoff(now: dt.datetime) -> dt.datetime:
    cfg = current_app.config
    days = min(int(cfg["FACE_SET_CAPTURE_MAX_DAYS"]), int(cfg["PHOTO_CAPTURE_RETENTION_DAYS"]))
    return now - dt.timedelta(days=days)


def reference_set(id_number: str, face_engine: FaceEngine) -> list[SetMember]:
    """A person's reference templates for an engine: the reference photo's (library, else upload) first, then the
    newest live captures that passed a check (within FACE_SET_CAPTURE_MAX_DAYS), FACE_SET_MAX_TEMPLATES in all."""
    size = max(1, int(current_app.config["FACE_SET_MAX_TEMPLATES"]))
    status = reference_status(id_number)
    if status.case is ReferenceCase.UNAVAILABLE:
        raise LibraryUnavailableError("no cached reference")
    members = []
    if status.photo is not None:
        template = status.photo.template_for(face_engine.key)
        if template is not None:
            members.append(SetMember(template=template, photo=status.photo, anchor=True))
    captures = db.session.execute(
        sa.select(FaceTemplate, Photo)
        .join(Photo, FaceTemplate.photo_id == Photo.id)
        .where(
            Photo.subject_ref == subject_ref(id_number),
            Photo.source == PhotoSource.CHECKIN,
            Photo.reference_since.is_not(None),
            Photo.created_at >= _capture_cutoff(utcnow()),
            FaceTemplate.engine == face_engine.key,
        )
        .order_by(Photo.created_at.desc(), Photo.id.desc())
        .limit(size - len(members))
    ).all()
    members.extend(SetMember(template=t, photo=p, anchor=False) for t, p in captures)
    return members


# --- 1:1 verification of a burst --------------------------------------------------------------------


def decide(distance: float, *, match_threshold: float, review_threshold: float) -> Outcome:
    """match at or below the match threshold, no_match above the review threshold, review between."""
    if distance <= match_threshold:
        return Outcome.MATCH
    if distance <= review_threshold:
        return Outcome.REVIEW
    return Outcome.NO_MATCH


def _decode_frames(images: Sequence[bytes]) -> list[DecodedImage]:
    decoded = []
    for number, data in enumerate(images, start=1):
        try:
            decoded.append(_decode(data))
        except ImageRejectedError as exc:
            if len(images) == 1:
                raise PhotoRejectedError(exc.message, exc.code) from None
            message = str(BURST_MESSAGES["frame"]) % {"n": number, "reason": exc.message}
            raise PhotoRejectedError(message, exc.code) from None
    if len({(d.width, d.height) for d in decoded}) > 1:
        raise BurstRefusedError("sizes")
    return decoded


def _is_replay(frames: list[burst.Frame]) -> bool:
    """Whether a frame repeats another of the burst byte for byte, or an earlier stored capture's frame (anyone's,
    within the capture retention) byte for byte or nearly (photos/burst.py)."""
    digests = [f.fingerprint.sha256 for f in frames]
    if len(set(digests)) < len(digests):
        return True
    cfg = current_app.config
    cutoff = utcnow() - dt.timedelta(days=int(cfg["PHOTO_CAPTURE_RETENTION_DAYS"]))
    recent = CaptureFrame.created_at >= cutoff
    if db.session.execute(sa.select(CaptureFrame.id).where(recent, CaptureFrame.sha256.in_(digests)).limit(1)).first():
        return True
    limit = float(cfg["FACE_REPLAY_MAX_DIFF"])
    columns = (CaptureFrame.band0, CaptureFrame.band1, CaptureFrame.band2, CaptureFrame.band3)
    for frame in frames:
        same_band = sa.or_(*(column == band for column, band in zip(columns, frame.fingerprint.bands, strict=True)))
        rows = db.session.execute(sa.select(*columns, CaptureFrame.thumbnail).where(recent, same_band))
        for *bands, thumbnail in rows:
            stored = burst.Fingerprint(sha256="", bands=(bands[0], bands[1], bands[2], bands[3]), thumbnail=thumbnail)
            if burst.hash_bits_apart(stored.dhash, frame.fingerprint.dhash) > 2 * burst.BANDS:
                continue
            if burst.thumbnail_difference(stored.thumbnail, frame.fingerprint.thumbnail) <= limit:
                return True
    return False


def _refusal_code(exc: DomainError) -> str:
    if isinstance(exc, RetakeRequiredError):
        return f"retake:{exc.reason}"
    if isinstance(exc, EngineUnavailableError):
        return f"engine:{exc.code}"
    if isinstance(exc, PhotoRejectedError):
        return exc.code
    names = {ConsentRequiredError: "consent", NoReferencePhotoError: "no_reference"}
    return next((code for kind, code in names.items() if isinstance(exc, kind)), type(exc).__name__)


def verify_face(*, id_number: str, images: Sequence[bytes], requested_by_id: int | None, purpose: str) -> FaceDecision:
    """Compare a burst of 1..FACE_BURST_MAX_FRAMES frames with the person's reference set; store and return the
    decision.

    A refusal (bad input, a replay, a retake, no consent, no reference: see the errors above) stores nothing but a
    `face.refused` audit row, which the calling boundary must commit (as a refused login is), then show the message.
    """
    ref = subject_ref(id_number)
    try:
        with db.session.begin_nested():
            return _verify_burst(
                id_number=id_number, ref=ref, images=images, requested_by_id=requested_by_id, purpose=purpose
            )
    except DomainError as exc:
        record_event(
            "face.refused",
            object_type="subject",
            object_id=ref[:16],
            details={"code": _refusal_code(exc), "purpose": purpose[:40], "frames": len(images)},
        )
        raise


def _verify_burst(
    *, id_number: str, ref: str, images: Sequence[bytes], requested_by_id: int | None, purpose: str
) -> FaceDecision:
    cfg = current_app.config
    max_frames = int(cfg["FACE_BURST_MAX_FRAMES"])
    if not images:
        raise BurstRefusedError("empty")
    if len(images) > max_frames:
        raise BurstRefusedError("too_many", max=max_frames)
    if not has_consent(id_number):
        raise ConsentRequiredError()
    face_engine = active_engine()
    members = reference_set(id_number, face_engine)
    if not members:
        raise NoReferencePhotoError()
    settings = quality_settings()
    side = int(cfg["FACE_BURST_DETECT_SIDE"])
    frames = [
        burst.screen(i, data, image, settings, detect_side=side)
        for i, (data, image) in enumerate(zip(images, _decode_frames(images), strict=True))
    ]
    if _is_replay(frames):
        raise BurstRefusedError("replay")
    wanted = max(1, int(cfg["FACE_BURST_ENCODE_FRAMES"]))
    chosen: list[burst.Frame] = []
    for candidate in burst.ranked(frames):
        refined = burst.refine(candidate, settings, detect_side=side)
        if refined is not None:
            chosen.append(refined)
        if len(chosen) == wanted:
            break
    if not chosen:
        raise RetakeRequiredError(burst.main_problem(frames))
    encodings = np.vstack([face_engine.encode_face(f.image.rgb, f.quality.face) for f in chosen if f.quality])
    match_t, review_t = engine_thresholds(face_engine.name, cfg)
    apart = face_engine.distances(encodings, encodings)
    if float(apart.max()) > review_t:
        raise BurstRefusedError("two_people")
    matrix = face_engine.distances(encodings, np.vstack([engine.from_bytes(m.template.vector) for m in members]))
    frames_method, templates_method = str(cfg["FACE_FUSION_FRAMES"]), str(cfg["FACE_FUSION_TEMPLATES"])
    fused = fuse(matrix, frames=frames_method, templates=templates_method)
    outcome = decide(fused.distance, match_threshold=match_t, review_threshold=review_t)

    best = chosen[0]
    probe = _add_capture(ref=ref, frame=best, face_engine=face_engine, encoding=encodings[0])
    decision = FaceDecision(
        subject_ref=ref,
        reference_photo_id=members[fused.deciding[0]].photo.id,
        probe_photo_id=probe.id,
        distance=fused.distance,
        match_threshold=match_t,
        review_threshold=review_t,
        outcome=outcome,
        engine=face_engine.key,
        model_name=face_engine.model_name,
        model_version=face_engine.model_version,
        fusion=f"{frames_method}/{templates_method}",
        frames_received=len(frames),
        frames_used=len(chosen),
        evidence=_evidence(
            face_engine=face_engine,
            frames=frames,
            chosen=chosen,
            members=members,
            matrix=matrix,
            fused_distance=fused.distance,
            deciding=fused.deciding,
            per_template=fused.per_template,
            thresholds=(match_t, review_t),
            methods=(frames_method, templates_method),
            frames_apart=float(apart.max()),
        ),
        purpose=purpose[:40],
        requested_by_id=requested_by_id,
    )
    db.session.add(decision)
    db.session.flush()
    for frame in frames:
        fp = frame.fingerprint
        db.session.add(
            CaptureFrame(
                subject_ref=ref,
                decision_id=decision.id,
                sha256=fp.sha256,
                band0=fp.bands[0],
                band1=fp.bands[1],
                band2=fp.bands[2],
                band3=fp.bands[3],
                thumbnail=fp.thumbnail,
            )
        )
    db.session.flush()
    record_event(
        "face.verified", object_type="face_decision", object_id=decision.id, details={"outcome": decision.outcome.value}
    )
    return decision


def _add_capture(*, ref: str, frame: burst.Frame, face_engine: FaceEngine, encoding: engine.Encoding) -> Photo:
    """The burst's best frame as a check-in photo with the engine's template (it may join the reference set)."""
    jpeg = encode_jpeg(frame.image.rgb)
    photo = Photo(
        subject_ref=ref,
        source=PhotoSource.CHECKIN,
        captured_on=local_today(),
        sha256=hashlib.sha256(jpeg).hexdigest(),
        storage_key=storage.save(jpeg),
        width=frame.image.width,
        height=frame.image.height,
        is_current=True,
    )
    photo.templates.append(new_template(face_engine, ref=ref, encoding=encoding, jitters=1))
    db.session.add(photo)
    db.session.flush()
    return photo


def _evidence(
    *,
    face_engine: FaceEngine,
    frames: list[burst.Frame],
    chosen: list[burst.Frame],
    members: list[SetMember],
    matrix: np.ndarray,
    fused_distance: float,
    deciding: tuple[int, ...],
    per_template: tuple[float, ...],
    thresholds: tuple[float, float],
    methods: tuple[str, str],
    frames_apart: float,
) -> dict[str, Any]:
    """Everything a decision was made from, as plain JSON values."""
    row_of = {f.index: i for i, f in enumerate(chosen)}
    frame_records = []
    for frame in frames:
        q = chosen[row_of[frame.index]].quality if frame.index in row_of else frame.quality
        record: dict[str, Any] = {
            "index": frame.index,
            "sha256": frame.fingerprint.sha256,
            "width": frame.image.width,
            "height": frame.image.height,
            "passed": q is not None,
            "problem": frame.problem,
            "encoded": frame.index in row_of,
        }
        if q is not None:
            record.update(
                face_px=q.face.width,
                sharpness=round(q.sharpness, 2),
                brightness=round(q.brightness, 2),
                score=round(frame.score, 2),
            )
        if frame.index in row_of:
            record["distances"] = [round(float(d), 6) for d in matrix[row_of[frame.index]]]
        frame_records.append(record)
    return {
        "engine": face_engine.describe(),
        "thresholds": {"match": thresholds[0], "review": thresholds[1]},
        "fusion": {
            "frames": methods[0],
            "templates": methods[1],
            "per_template": [round(d, 6) for d in per_template],
            "deciding_template_ids": [members[i].template.id for i in deciding],
            "distance": round(fused_distance, 6),
        },
        "frames": frame_records,
        "frames_max_distance_apart": round(frames_apart, 6),
        "templates": [m.as_evidence() for m in members],
        "added_to_set": False,
    }


def verify_and_add_to_set(
    *, id_number: str, images: Sequence[bytes], requested_by_id: int | None, purpose: str
) -> FaceDecision:
    """verify_face for higher layers (study checks, check-in) that also grows the reference set: a capture decided
    `match` whose own distance to the reference photo's template is within the match threshold joins the set (a
    capture is never admitted on the strength of other captures alone)."""
    decision = verify_face(id_number=id_number, images=images, requested_by_id=requested_by_id, purpose=purpose)
    evidence = dict(decision.evidence or {})
    anchors = [i for i, t in enumerate(evidence.get("templates", [])) if t["anchor"]]
    per_template = evidence.get("fusion", {}).get("per_template", [])
    anchored = any(per_template[i] <= decision.match_threshold for i in anchors)
    probe = db.session.get(Photo, decision.probe_photo_id) if decision.probe_photo_id else None
    if decision.outcome is Outcome.MATCH and anchored and probe is not None:
        probe.reference_since = utcnow()
        decision.evidence = {**evidence, "added_to_set": True}
        db.session.flush()
        record_event("face.reference_added", object_type="photo", object_id=probe.id, details={"purpose": purpose[:40]})
    return decision


def candidate_result(decision: FaceDecision) -> str:
    """What a candidate may see: 'pass' or 'staff_check' — never the distance (GB/T 38671)."""
    return "pass" if decision.outcome is Outcome.MATCH else "staff_check"


# --- viewing, certificate photo, retention ----------------------------------------------------------


def view_photo(*, key: str, viewer: User, explanation: str | None = None) -> bytes:
    """A photo's bytes for a viewer with a purpose, audited with it; anyone else is told it does not exist.

    Purposes: the person themself ("self"); an administrator who states why ("admin", the statement is kept in
    the audit row); a grant registered in `photos.access` (e.g. exams' centre check-in). No purpose: NotFoundError,
    the same answer as for a key that does not exist, so keys of other people's photos cannot be confirmed.
    """
    photo = None
    if VIEW_KEY_RE.fullmatch(key):
        photo = db.session.execute(sa.select(Photo).where(Photo.view_key == key)).scalar_one_or_none()
    if photo is None:
        raise NotFoundError(_("照片不存在。"))
    details: dict[str, str]
    if viewer.id_number and hmac.compare_digest(subject_ref(viewer.id_number), photo.subject_ref):
        details = {"reason": "self"}
    elif viewer.role is Role.ADMIN:
        statement = " ".join((explanation or "").split())
        if len(statement) < ADMIN_STATEMENT_MIN:
            raise StatementRequiredError()
        details = {"reason": "admin", "statement": statement[:ADMIN_STATEMENT_MAX]}
    else:
        purpose = granted_purpose(viewer, photo.subject_ref)
        if purpose is None:
            raise NotFoundError(_("照片不存在。"))
        details = {"reason": purpose}
    return _read_audited(photo, details)


def _read_audited(photo: Photo, details: dict[str, str]) -> bytes:
    data = storage.load(photo.storage_key)
    record_event("photo.viewed", object_type="photo", object_id=photo.id, details=details)
    return data


def reference_photo_jpeg(id_number: str, *, reason: str) -> bytes | None:
    """The person's reference photo as JPEG (None when there is none); the view is audited like any other."""
    status = reference_status(id_number)
    if status.photo is None:
        return None
    return _read_audited(status.photo, {"reason": reason})


def certificate_photo(id_number: str) -> bytes:
    """The reference photo cropped to the certificate's size, as JPEG."""
    status = reference_status(id_number)
    if status.photo is None:
        raise NoReferencePhotoError()
    decoded = decode_image(
        storage.load(status.photo.storage_key),
        max_bytes=int(current_app.config["PHOTO_MAX_BYTES"]),
        max_pixels=int(current_app.config["PHOTO_MAX_PIXELS"]),
    )
    faces = engine.detect_faces(decoded.rgb)
    if not faces:
        raise NoReferencePhotoError()
    width, height = current_app.config["PHOTO_CERTIFICATE_SIZE"]
    return encode_jpeg(crop_to_ratio(decoded.rgb, faces[0].as_tuple(), width=int(width), height=int(height)))


def forget_subject(id_number: str) -> int:
    """Delete a person's photos and templates (files after commit by purge); keep decisions without images."""
    ref = subject_ref(id_number)
    photos = list(db.session.execute(sa.select(Photo).where(Photo.subject_ref == ref)).scalars())
    for photo in photos:
        db.session.delete(photo)
    db.session.execute(sa.delete(CaptureFrame).where(CaptureFrame.subject_ref == ref))
    db.session.flush()
    record_event("photo.subject_forgotten", object_type="subject", object_id=ref[:16], details={"photos": len(photos)})
    return len(photos)


def purge_expired(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete check-in captures and decisions past their retention, and files whose rows are gone."""
    now = now or utcnow()
    cfg = current_app.config
    capture_cutoff = now - dt.timedelta(days=int(cfg["PHOTO_CAPTURE_RETENTION_DAYS"]))
    decision_cutoff = now - dt.timedelta(days=int(cfg["FACE_DECISION_RETENTION_DAYS"]))
    # Decisions a higher layer still needs as evidence (photos/retention.py) stay, with their captures.
    kept = kept_decisions(now)
    kept_photos = sa.select(FaceDecision.probe_photo_id).where(
        FaceDecision.id.in_(kept), FaceDecision.probe_photo_id.is_not(None)
    )
    old = list(
        db.session.execute(
            sa.select(Photo).where(
                Photo.source == PhotoSource.CHECKIN, Photo.created_at < capture_cutoff, Photo.id.not_in(kept_photos)
            )
        ).scalars()
    )
    for photo in old:
        db.session.delete(photo)
    # Replay fingerprints last as long as the captures they came from.
    db.session.execute(
        sa.delete(CaptureFrame).where(CaptureFrame.created_at < capture_cutoff, CaptureFrame.decision_id.not_in(kept))
    )
    expired = sa.select(FaceDecision.id).where(FaceDecision.created_at < decision_cutoff, FaceDecision.id.not_in(kept))
    db.session.execute(sa.delete(CaptureFrame).where(CaptureFrame.decision_id.in_(expired)))
    decisions = rowcount(
        sa.delete(FaceDecision).where(FaceDecision.created_at < decision_cutoff, FaceDecision.id.not_in(kept)),
        synchronize="auto",
    )
    db.session.flush()
    counts = {"captures": len(old), "decisions": decisions}
    record_event("photo.purged", object_type="photos", details=counts)
    return counts


def remove_orphan_files() -> int:
    """Delete files no row refers to (after forget/purge commits, or a rolled-back upload)."""
    known = set(db.session.execute(sa.select(Photo.storage_key)).scalars())
    orphans = storage.all_keys() - known
    for key in orphans:
        storage.delete(key)
    return len(orphans)
