"""Photo library rows, face templates, face decisions and consents.

Stored apart from identity data: rows carry `subject_ref` (an HMAC of the ID number), never the number itself,
and files are named by random keys.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opcert.db import Base, UTCDateTime, str_enum, utcnow


class PhotoSource(enum.StrEnum):
    """Where a photo came from."""

    UNIFIED_LIBRARY = "unified_library"
    UPLOADED = "uploaded"
    CHECKIN = "checkin"

    @property
    def label(self) -> LazyString:
        """The source's name for people."""
        return SOURCE_LABELS[self]


SOURCE_LABELS = {
    PhotoSource.UNIFIED_LIBRARY: _l("本市统一照片库"),
    PhotoSource.UPLOADED: _l("本人上传"),
    PhotoSource.CHECKIN: _l("考试入场采集"),
}


class Outcome(enum.StrEnum):
    """A 1:1 decision."""

    MATCH = "match"
    REVIEW = "review"
    NO_MATCH = "no_match"


def new_view_key() -> str:
    """A random key for a photo's URL: photos are never addressed by their sequential id."""
    return secrets.token_hex(24)


class Photo(Base):
    """One stored image of a person's face."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_ref: Mapped[str] = mapped_column(sa.String(64), index=True)
    source: Mapped[PhotoSource] = mapped_column(str_enum(PhotoSource, "photo_source"))
    captured_on: Mapped[dt.date] = mapped_column(sa.Date)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # SHA-256 of the file a bulk import read (before re-encoding): a re-run skips what it already stored.
    source_sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    storage_key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    view_key: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_view_key)
    width: Mapped[int]
    height: Mapped[int]
    is_current: Mapped[bool] = mapped_column(default=True)
    library_photo_id: Mapped[str | None] = mapped_column(sa.String(80))
    fetched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # A live capture that passed a face check against the reference photo joined the person's reference set then.
    reference_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    templates: Mapped[list[FaceTemplate]] = relationship(
        back_populates="photo", cascade="all, delete-orphan", order_by="FaceTemplate.id"
    )

    @property
    def template(self) -> FaceTemplate | None:
        """The embedded dlib engine's template (what the 1:N index searches), if there is one."""
        return self.template_for("dlib")

    def template_for(self, engine_key: str) -> FaceTemplate | None:
        """The template made by the engine with this key, if there is one."""
        return next((t for t in self.templates if t.engine == engine_key), None)

    def __repr__(self) -> str:
        return f"<Photo {self.id} {self.source.value} current={self.is_current}>"


class FaceTemplate(Base):
    """The encoding of a photo's face by one engine, computed once, with the model that made it."""

    __tablename__ = "face_templates"
    __table_args__ = (sa.UniqueConstraint("photo_id", "engine", name="uq_face_templates_photo_engine"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    photo_id: Mapped[int] = mapped_column(sa.ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    subject_ref: Mapped[str] = mapped_column(sa.String(64), index=True)
    # photos.engines FaceEngine.key: "dlib", or "onnx:<sha256 of the model file>"; only equal keys are compared.
    engine: Mapped[str] = mapped_column(sa.String(80), index=True)
    model_name: Mapped[str] = mapped_column(sa.String(60))
    model_version: Mapped[str] = mapped_column(sa.String(80))
    jitters: Mapped[int] = mapped_column(default=1)
    vector: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    photo: Mapped[Photo] = relationship(back_populates="templates")

    def __repr__(self) -> str:
        return f"<FaceTemplate {self.id} photo={self.photo_id} {self.engine[:12]}>"


class FaceDecision(Base):
    """One 1:1 verification of a burst against a reference set: the fused distance, the thresholds, engine and model
    it was judged by, who asked, when; `evidence` holds the rest (each frame's quality and distances, the templates
    used, the fusion)."""

    __tablename__ = "face_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_ref: Mapped[str] = mapped_column(sa.String(64), index=True)
    reference_photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photos.id", ondelete="SET NULL"))
    probe_photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photos.id", ondelete="SET NULL"))
    distance: Mapped[float] = mapped_column(sa.Float)
    match_threshold: Mapped[float] = mapped_column(sa.Float)
    review_threshold: Mapped[float] = mapped_column(sa.Float)
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, "face_outcome", 10))
    engine: Mapped[str] = mapped_column(sa.String(80))
    model_name: Mapped[str] = mapped_column(sa.String(60))
    model_version: Mapped[str] = mapped_column(sa.String(80))
    fusion: Mapped[str] = mapped_column(sa.String(20))  # "<frames method>/<templates method>" (photos/fusion.py)
    frames_received: Mapped[int]
    frames_used: Mapped[int]
    evidence: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    purpose: Mapped[str] = mapped_column(sa.String(40))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<FaceDecision {self.id} {self.outcome.value}>"


class CaptureFrame(Base):
    """What replay detection keeps of every frame of a decided capture (no image): its SHA-256, its 64-bit
    difference hash split in four indexed 16-bit bands (a near copy shares at least one), and a 32×24 grey
    thumbnail for the exact comparison. Kept as long as captures are."""

    __tablename__ = "face_capture_frames"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_ref: Mapped[str] = mapped_column(sa.String(64), index=True)
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("face_decisions.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    band0: Mapped[int] = mapped_column(index=True)
    band1: Mapped[int] = mapped_column(index=True)
    band2: Mapped[int] = mapped_column(index=True)
    band3: Mapped[int] = mapped_column(index=True)
    thumbnail: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<CaptureFrame {self.id} decision={self.decision_id}>"


class FaceEngineActivation(Base):
    """A switch of the face engine in use, recorded by `opcert photos reencode` once every template needed was
    re-encoded; the newest row is the engine in use (none: the embedded dlib engine)."""

    __tablename__ = "face_engine_activations"

    id: Mapped[int] = mapped_column(primary_key=True)
    engine: Mapped[str] = mapped_column(sa.String(80))  # FaceEngine.key
    name: Mapped[str] = mapped_column(sa.String(20))  # "dlib" or "onnx"
    model_name: Mapped[str] = mapped_column(sa.String(60))
    model_version: Mapped[str] = mapped_column(sa.String(80))
    templates: Mapped[int]  # templates of that engine when it was switched on
    activated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<FaceEngineActivation {self.id} {self.name}>"


class FaceConsent(Base):
    """A person's separate consent to face processing (PIPL art. 29), recorded before the first check."""

    __tablename__ = "face_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_ref: Mapped[str] = mapped_column(sa.String(64), index=True)
    statement_version: Mapped[str] = mapped_column(sa.String(20))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    def __repr__(self) -> str:
        return f"<FaceConsent {self.id} withdrawn={self.withdrawn_at is not None}>"
