"""Photo library rows, face templates, face decisions and consents.

Stored apart from identity data: rows carry `subject_ref` (an HMAC of the ID number), never the number itself,
and files are named by random keys.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets

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
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    template: Mapped[FaceTemplate | None] = relationship(back_populates="photo", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Photo {self.id} {self.source.value} current={self.is_current}>"


class FaceTemplate(Base):
    """The 128-d encoding of a photo's face, computed once, with the model that made it."""

    __tablename__ = "face_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    photo_id: Mapped[int] = mapped_column(sa.ForeignKey("photos.id", ondelete="CASCADE"), unique=True)
    subject_ref: Mapped[str] = mapped_column(sa.String(64), index=True)
    model_name: Mapped[str] = mapped_column(sa.String(60))
    model_version: Mapped[str] = mapped_column(sa.String(80))
    vector: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    photo: Mapped[Photo] = relationship(back_populates="template")

    def __repr__(self) -> str:
        return f"<FaceTemplate {self.id} photo={self.photo_id}>"


class FaceDecision(Base):
    """One 1:1 verification: the distance, the thresholds and model it was judged by, who asked, when."""

    __tablename__ = "face_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_ref: Mapped[str] = mapped_column(sa.String(64), index=True)
    reference_photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photos.id", ondelete="SET NULL"))
    probe_photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photos.id", ondelete="SET NULL"))
    distance: Mapped[float] = mapped_column(sa.Float)
    match_threshold: Mapped[float] = mapped_column(sa.Float)
    review_threshold: Mapped[float] = mapped_column(sa.Float)
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, "face_outcome", 10))
    model_version: Mapped[str] = mapped_column(sa.String(80))
    purpose: Mapped[str] = mapped_column(sa.String(40))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<FaceDecision {self.id} {self.outcome.value}>"


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
