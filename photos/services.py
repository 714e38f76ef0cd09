"""Photo and face rules: the reference photo for a person, storing photos, 1:1 verification, consent, views,
retention. Callers pass resident ID numbers; rows only ever hold the subject reference (an HMAC)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import hmac

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from opcert.audit.services import record_event
from opcert.db import utcnow
from opcert.errors import DomainError, NotFoundError
from opcert.extensions import db
from opcert.timeutil import local_today
from photos import engine, storage
from photos.images import ImageRejectedError, crop_to_ratio, decode_image, encode_jpeg
from photos.library import LibraryUnavailableError, remote_library
from photos.models import FaceConsent, FaceDecision, FaceTemplate, Outcome, Photo, PhotoSource
from photos.quality import CheckedFace, Purpose, QualityError, QualitySettings, check_image

REFERENCE_SOURCES = (PhotoSource.UNIFIED_LIBRARY, PhotoSource.UPLOADED)


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


def examine(data: bytes, purpose: Purpose) -> tuple[bytes, CheckedFace, tuple[int, int]]:
    """Decode and check an image; return the re-encoded JPEG, the face, and (width, height)."""
    cfg = current_app.config
    try:
        decoded = decode_image(data, max_bytes=int(cfg["PHOTO_MAX_BYTES"]), max_pixels=int(cfg["PHOTO_MAX_PIXELS"]))
        checked = check_image(decoded, purpose, quality_settings())
    except (ImageRejectedError, QualityError) as exc:
        raise PhotoRejectedError(exc.message, exc.code) from None
    return encode_jpeg(decoded.rgb), checked, (decoded.width, decoded.height)


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
) -> Photo:
    """Store file, photo row and template together; a new reference replaces the old one of its source."""
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
    photo.template = FaceTemplate(
        subject_ref=ref,
        model_name=engine.MODEL_NAME,
        model_version=engine.MODEL_VERSION,
        vector=engine.to_bytes(checked.encoding),
    )
    db.session.add(photo)
    db.session.flush()
    return photo


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
    jpeg, checked, size = examine(data, purpose)
    photo = add_photo(
        ref=subject_ref(id_number),
        source=source,
        jpeg=jpeg,
        checked=checked,
        size=size,
        captured_on=captured_on or local_today(),
        library_photo_id=library_photo_id,
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
        jpeg, checked, size = examine(record.data, Purpose.REFERENCE)
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


# --- 1:1 verification ------------------------------------------------------------------------------


def decide(distance: float, *, match_threshold: float, review_threshold: float) -> Outcome:
    """match at or below the match threshold, no_match above the review threshold, review between."""
    if distance <= match_threshold:
        return Outcome.MATCH
    if distance <= review_threshold:
        return Outcome.REVIEW
    return Outcome.NO_MATCH


def verify_face(*, id_number: str, image: bytes, requested_by_id: int | None, purpose: str) -> FaceDecision:
    """Compare a capture with the person's reference template; store and return the decision."""
    if not has_consent(id_number):
        raise ConsentRequiredError()
    status = reference_status(id_number)
    if status.case is ReferenceCase.UNAVAILABLE:
        raise LibraryUnavailableError("no cached reference")
    if status.photo is None or status.photo.template is None:
        raise NoReferencePhotoError()
    reference = engine.from_bytes(status.photo.template.vector)
    jpeg, checked, size = examine(image, Purpose.CAPTURE)
    ref = subject_ref(id_number)
    probe = add_photo(
        ref=ref, source=PhotoSource.CHECKIN, jpeg=jpeg, checked=checked, size=size, captured_on=local_today()
    )
    cfg = current_app.config
    match_t, review_t = float(cfg["FACE_MATCH_THRESHOLD"]), float(cfg["FACE_REVIEW_THRESHOLD"])
    dist = engine.distance(reference, checked.encoding)
    decision = FaceDecision(
        subject_ref=ref,
        reference_photo_id=status.photo.id,
        probe_photo_id=probe.id,
        distance=dist,
        match_threshold=match_t,
        review_threshold=review_t,
        outcome=decide(dist, match_threshold=match_t, review_threshold=review_t),
        model_version=engine.MODEL_VERSION,
        purpose=purpose[:40],
        requested_by_id=requested_by_id,
    )
    db.session.add(decision)
    db.session.flush()
    record_event(
        "face.verified", object_type="face_decision", object_id=decision.id, details={"outcome": decision.outcome.value}
    )
    return decision


def candidate_result(decision: FaceDecision) -> str:
    """What a candidate may see: 'pass' or 'staff_check' — never the distance (GB/T 38671)."""
    return "pass" if decision.outcome is Outcome.MATCH else "staff_check"


# --- viewing, certificate photo, retention ----------------------------------------------------------


def view_photo(*, photo_id: int, reason: str) -> tuple[Photo, bytes]:
    """A photo's bytes for a permitted viewer; every view is written to the audit log."""
    photo = db.session.get(Photo, photo_id)
    if photo is None:
        raise NotFoundError(_("照片不存在。"))
    data = storage.load(photo.storage_key)
    record_event("photo.viewed", object_type="photo", object_id=photo.id, details={"reason": reason})
    return photo, data


def reference_photo_jpeg(id_number: str, *, reason: str) -> bytes | None:
    """The person's reference photo as JPEG (None when there is none); the view is audited like any other."""
    status = reference_status(id_number)
    if status.photo is None:
        return None
    return view_photo(photo_id=status.photo.id, reason=reason)[1]


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
    db.session.flush()
    record_event("photo.subject_forgotten", object_type="subject", object_id=ref[:16], details={"photos": len(photos)})
    return len(photos)


def purge_expired(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete check-in captures and decisions past their retention, and files whose rows are gone."""
    now = now or utcnow()
    cfg = current_app.config
    capture_cutoff = now - dt.timedelta(days=int(cfg["PHOTO_CAPTURE_RETENTION_DAYS"]))
    decision_cutoff = now - dt.timedelta(days=int(cfg["FACE_DECISION_RETENTION_DAYS"]))
    old = list(
        db.session.execute(
            sa.select(Photo).where(Photo.source == PhotoSource.CHECKIN, Photo.created_at < capture_cutoff)
        ).scalars()
    )
    for photo in old:
        db.session.delete(photo)
    decisions = db.session.execute(sa.delete(FaceDecision).where(FaceDecision.created_at < decision_cutoff))
    db.session.flush()
    counts = {"captures": len(old), "decisions": int(getattr(decisions, "rowcount", 0) or 0)}
    record_event("photo.purged", object_type="photos", details=counts)
    return counts


def remove_orphan_files() -> int:
    """Delete files no row refers to (after forget/purge commits, or a rolled-back upload)."""
    known = set(db.session.execute(sa.select(Photo.storage_key)).scalars())
    orphans = storage.all_keys() - known
    for key in orphans:
        storage.delete(key)
    return len(orphans)
