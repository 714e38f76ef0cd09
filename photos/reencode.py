"""Switching the face engine: `opcert photos reencode ENGINE`.

Templates are kept per engine, so a switch first gives every photo the platform compares with — each person's
current reference photos and the live captures in reference sets — a template made by the new engine (reference
photos with FACE_ENROL_JITTERS, captures with one pass), with a progress bar, committing every BATCH_SIZE photos so
an interrupted run carries on where it stopped. Only when every one of them has its template is the switch recorded
(a FaceEngineActivation row and an audit event); until then, and whenever the engine cannot be loaded, the platform
keeps the engine it had. This module is a job: it commits, services do not.
"""

from __future__ import annotations

import dataclasses
import sys

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from opcert.audit.services import record_event
from opcert.db import utcnow
from opcert.errors import DomainError
from opcert.extensions import db
from photos import storage
from photos.engines import ENGINE_NAMES, EngineUnavailableError, FaceEngine, load_engine
from photos.images import ImageRejectedError, decode_image
from photos.models import FaceEngineActivation, FaceTemplate, Photo, PhotoSource
from photos.quality import Purpose, choose_face
from photos.services import REFERENCE_SOURCES, enrol_jitters, new_template, quality_settings

BATCH_SIZE = 50


@dataclasses.dataclass
class ReencodeReport:
    """What a run did: templates made, photos that could not be encoded (id, reason), whether it switched."""

    engine: str
    encoded: int = 0
    failed: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    activated: bool = False


def _needed(face_engine: FaceEngine) -> sa.Select[tuple[int]]:
    """Photos the platform compares with that have no template of this engine yet."""
    has_template = sa.exists().where(FaceTemplate.photo_id == Photo.id, FaceTemplate.engine == face_engine.key)
    in_use = sa.or_(
        sa.and_(Photo.source.in_(REFERENCE_SOURCES), Photo.is_current.is_(True)),
        sa.and_(Photo.source == PhotoSource.CHECKIN, Photo.reference_since.is_not(None)),
    )
    return sa.select(Photo.id).where(in_use, ~has_template).order_by(Photo.id)


def _encode(photo: Photo, face_engine: FaceEngine, jitters: int) -> FaceTemplate:
    """The engine's template of a stored photo; ValueError with a reason when the file or face is unusable."""
    cfg = current_app.config
    try:
        data = storage.load(photo.storage_key)
        decoded = decode_image(data, max_bytes=int(cfg["PHOTO_MAX_BYTES"]), max_pixels=int(cfg["PHOTO_MAX_PIXELS"]))
    except (OSError, ImageRejectedError) as exc:
        raise ValueError(f"unreadable: {type(exc).__name__}") from None
    reference = photo.source in REFERENCE_SOURCES
    purpose = Purpose.REFERENCE if reference else Purpose.CAPTURE
    try:
        face = choose_face(face_engine.detect(decoded.rgb, upsample=1 if reference else 0), purpose, quality_settings())
    except ValueError as exc:
        raise ValueError(f"no usable face: {exc}") from None
    passes = jitters if reference else 1
    encoding = face_engine.encode_face(decoded.rgb, face, jitters=passes)
    return new_template(face_engine, ref=photo.subject_ref, encoding=encoding, jitters=passes)


def reencode(*, engine_name: str, activate: bool = True, progress: bool = False) -> ReencodeReport:
    """Give every photo in use a template of ENGINE, then (if every one succeeded) switch to it.

    EngineUnavailableError (nothing changed) when the engine cannot be loaded.
    """
    face_engine = load_engine(engine_name, onnx_model_path=current_app.config["FACE_ONNX_MODEL_PATH"])
    report = ReencodeReport(engine=face_engine.key)
    jitters = enrol_jitters()
    failed_ids: set[int] = set()
    # Photos stored while the run goes on are picked up by the next pass; the switch waits for an empty pass.
    while True:
        pending = [i for i in db.session.execute(_needed(face_engine)).scalars() if i not in failed_ids]
        if not pending:
            break
        with tqdm(total=len(pending), unit="photo", file=sys.stderr, disable=None if progress else True) as bar:
            for start in range(0, len(pending), BATCH_SIZE):
                for photo_id in pending[start : start + BATCH_SIZE]:
                    photo = db.session.get(Photo, photo_id)
                    if photo is None:  # deleted meanwhile
                        continue
                    try:
                        photo.templates.append(_encode(photo, face_engine, jitters))
                        report.encoded += 1
                    except ValueError as exc:
                        failed_ids.add(photo_id)
                        report.failed.append((photo_id, str(exc)))
                    bar.update()
                db.session.commit()
    if activate and not report.failed:
        count = db.session.execute(
            sa.select(sa.func.count(FaceTemplate.id)).where(FaceTemplate.engine == face_engine.key)
        ).scalar_one()
        db.session.add(
            FaceEngineActivation(
                engine=face_engine.key,
                name=face_engine.name,
                model_name=face_engine.model_name,
                model_version=face_engine.model_version,
                templates=count,
                activated_at=utcnow(),
            )
        )
        record_event(
            "face.engine_switched",
            object_type="face_engine",
            object_id=face_engine.name,
            details={
                "model_name": face_engine.model_name,
                "model_version": face_engine.model_version,
                "templates": count,
            },
        )
        db.session.commit()
        report.activated = True
    return report


@click.command("reencode")
@click.argument("engine_name", metavar="ENGINE", type=click.Choice(ENGINE_NAMES))
@click.option("--no-activate", is_flag=True, help="只编码，不切换 / encode only, keep the engine in use.")
@with_appcontext
def reencode_command(engine_name: str, no_activate: bool) -> None:
    """Re-encode the templates in use with ENGINE (dlib or onnx), then switch the platform to it."""
    try:
        report = reencode(engine_name=engine_name, activate=not no_activate, progress=True)
    except EngineUnavailableError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.message} 当前引擎不变 / the engine in use is unchanged.") from None
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(f"engine {report.engine}: {report.encoded} templates encoded, {len(report.failed)} failed")
    for photo_id, reason in report.failed:
        click.echo(f"  photo {photo_id}: {reason}")
    if report.activated:
        click.echo(f"已切换 / switched to {engine_name}")
    elif report.failed:
        raise click.ClickException("有照片无法编码，当前引擎不变 / some photos could not be encoded: engine unchanged")
    else:
        click.echo("未切换 / not switched (--no-activate)")
