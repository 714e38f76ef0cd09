"""Retention and deletion of face data: captures and decisions expire, a person can be forgotten."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from opcert.db import utcnow
from opcert.extensions import db
from photos import services, storage
from photos.models import FaceDecision, FaceTemplate, Photo, PhotoSource
from tests.factories import id_number
from tests.photos.imagelib import capture_640x480, photo


def count(model) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_purge_removes_expired_captures_decisions_and_files(app, runner) -> None:
    with app.app_context():
        number = id_number()
        reference = services.store_photo(
            id_number=number, data=photo("identities/deepface__dp04/1.jpg"), source=PhotoSource.UNIFIED_LIBRARY
        )
        services.record_consent(id_number=number, recorded_by_id=None)
        decision = services.verify_face(
            id_number=number,
            images=[capture_640x480("identities/deepface__dp04/2.jpg")],
            requested_by_id=None,
            purpose="test",
        )
        db.session.commit()
        capture_key = db.session.get(Photo, decision.probe_photo_id).storage_key
        assert storage.path_for(capture_key).is_file()
        # Nothing has expired yet.
        assert services.purge_expired() == {"captures": 0, "decisions": 0}
        db.session.commit()
        # 100 days later the capture (90 days) is gone; the decision (3 years) and the reference stay.
        later = utcnow() + dt.timedelta(days=100)
        assert services.purge_expired(now=later) == {"captures": 1, "decisions": 0}
        db.session.commit()
        assert services.remove_orphan_files() == 1
        assert not storage.path_for(capture_key).exists()
        assert db.session.get(Photo, reference.id) is not None
        kept = db.session.get(FaceDecision, decision.id)
        assert kept.probe_photo_id is None
        assert kept.reference_photo_id == reference.id
        # After three years the decision goes too.
        assert services.purge_expired(now=utcnow() + dt.timedelta(days=365 * 3 + 1))["decisions"] == 1
        db.session.commit()
        assert count(FaceDecision) == 0
    result = runner.invoke(args=["photos", "purge"])
    assert result.exit_code == 0, result.output
    assert "deleted 0 captures" in result.output


def test_forget_deletes_a_persons_photos_templates_and_files(app, runner) -> None:
    with app.app_context():
        number, other = id_number(), id_number()
        kept = services.store_photo(
            id_number=other, data=photo("identities/deepface__dp05/1.jpg"), source=PhotoSource.UNIFIED_LIBRARY
        )
        gone = services.store_photo(
            id_number=number, data=photo("identities/deepface__dp06/1.jpg"), source=PhotoSource.UNIFIED_LIBRARY
        )
        db.session.commit()
        gone_key, kept_id = gone.storage_key, kept.id
    result = runner.invoke(args=["photos", "forget", number])
    assert result.exit_code == 0, result.output
    assert "deleted 1 photos" in result.output
    with app.app_context():
        assert count(Photo) == 1
        assert count(FaceTemplate) == 1
        assert db.session.get(Photo, kept_id) is not None
        assert not storage.path_for(gone_key).exists()
        assert services.reference_status(number).case is services.ReferenceCase.MISSING
