"""Switching engines: `opcert photos reencode` re-encodes, then switches; a bad ONNX file changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from opcert.audit.models import AuditEvent
from opcert.extensions import db
from photos import services
from photos.engines import EngineUnavailableError, load_engine
from photos.models import FaceEngineActivation, FaceTemplate, Outcome, Photo, PhotoSource
from tests.factories import id_number
from tests.photos.imagelib import capture_640x480, photo
from tests.photos.onnxmodel import build_model

DP01 = "identities/deepface__dp01"
DP02 = "identities/deepface__dp02"
CASIA = "east_asian/identities/casia5__casia5_007"


@pytest.fixture
def onnx_app(app, tmp_path: Path, monkeypatch):
    """The app pointed at the tests' own ONNX model, with thresholds that suit it (it only tells the same photo
    apart from others)."""
    monkeypatch.setitem(app.config, "FACE_ONNX_MODEL_PATH", str(build_model(tmp_path / "arcface-test.onnx")))
    monkeypatch.setitem(app.config, "FACE_ONNX_MATCH_THRESHOLD", 0.05)
    monkeypatch.setitem(app.config, "FACE_ONNX_REVIEW_THRESHOLD", 0.08)
    return app


def enrol(rel: str) -> str:
    number = id_number()
    services.store_photo(id_number=number, data=photo(rel), source=PhotoSource.UNIFIED_LIBRARY)
    services.record_consent(id_number=number, recorded_by_id=None)
    db.session.commit()
    return number


def engines_of_templates() -> list[str]:
    return sorted(t.split(":")[0] for t in db.session.execute(sa.select(FaceTemplate.engine)).scalars())


def test_switching_to_onnx_reencodes_then_decides_with_it(onnx_app) -> None:
    runner = onnx_app.test_cli_runner()
    with onnx_app.app_context():
        alice, casia = enrol(f"{DP01}/1.jpg"), enrol(f"{CASIA}/1.jpg")
        assert engines_of_templates() == ["dlib", "dlib"]
    result = runner.invoke(args=["photos", "reencode", "onnx"])
    assert result.exit_code == 0, result.output
    assert "2 templates encoded, 0 failed" in result.output
    with onnx_app.app_context():
        assert engines_of_templates() == ["dlib", "dlib", "onnx", "onnx"]  # dlib's are kept: switching back is quick
        engine = services.active_engine()
        assert engine.name == "onnx"
        [switch] = db.session.execute(sa.select(FaceEngineActivation)).scalars()
        assert (switch.engine, switch.templates) == (engine.key, 2)
        event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "face.engine_switched")).scalar()
        assert json.loads(event.details)["model_version"] == engine.model_version

        same = services.verify_face(
            id_number=alice, images=[capture_640x480(f"{DP01}/1.jpg")], requested_by_id=None, purpose="t"
        )
        assert same.outcome is Outcome.MATCH
        assert (same.engine, same.model_version, same.match_threshold) == (engine.key, engine.model_version, 0.05)
        assert same.evidence["engine"]["metric"] == "cosine"
        other = services.verify_face(
            id_number=casia, images=[capture_640x480(f"{DP02}/1.jpg")], requested_by_id=None, purpose="t"
        )
        assert other.outcome is Outcome.NO_MATCH
        db.session.commit()
        # A photo stored while ONNX is in use gets both templates.
        enrol(f"{DP02}/1.jpg")
        assert engines_of_templates().count("onnx") == 3 + 2  # + the two check-in captures


def test_a_missing_model_file_refuses_the_switch_and_keeps_dlib(app, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "FACE_ONNX_MODEL_PATH", str(tmp_path / "absent.onnx"))
    result = app.test_cli_runner().invoke(args=["photos", "reencode", "onnx"])
    assert result.exit_code == 1
    assert "不存在" in result.output
    assert "当前引擎不变" in result.output
    with app.app_context():
        assert services.active_engine().name == "dlib"
        assert db.session.execute(sa.select(sa.func.count(FaceEngineActivation.id))).scalar_one() == 0


def test_a_model_of_the_wrong_input_shape_refuses_the_switch(app, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "FACE_ONNX_MODEL_PATH", str(build_model(tmp_path / "w.onnx", side=96)))
    result = app.test_cli_runner().invoke(args=["photos", "reencode", "onnx"])
    assert result.exit_code == 1
    assert "输入形状不符" in result.output
    with app.app_context():
        assert services.active_engine().name == "dlib"


def test_a_model_file_replaced_after_the_switch_stops_face_checks_clearly(onnx_app, monkeypatch) -> None:
    runner = onnx_app.test_cli_runner()
    with onnx_app.app_context():
        number = enrol(f"{DP01}/1.jpg")
    assert runner.invoke(args=["photos", "reencode", "onnx"]).exit_code == 0
    path = Path(onnx_app.config["FACE_ONNX_MODEL_PATH"])
    build_model(path, seed=99)  # another model under the same name: its encodings mean something else
    with onnx_app.app_context():
        with pytest.raises(EngineUnavailableError) as caught:
            services.verify_face(
                id_number=number, images=[capture_640x480(f"{DP01}/2.jpg")], requested_by_id=None, purpose="t"
            )
        db.session.commit()
        assert "已被更换" in caught.value.message
        refused = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "face.refused")).scalar_one()
        assert json.loads(refused.details)["code"] == "engine:changed"
        # Photos can still be stored (with the dlib template); the platform keeps running.
        enrol(f"{DP02}/1.jpg")
    path.write_bytes(b"corrupt")
    with onnx_app.app_context(), pytest.raises(EngineUnavailableError, match="损坏"):
        services.active_engine()


def test_switching_back_to_dlib(onnx_app) -> None:
    runner = onnx_app.test_cli_runner()
    with onnx_app.app_context():
        # dp01/2 and dp01/5 lie 0.27 apart: a match under the strict shipped threshold (0.31).
        number = enrol(f"{DP01}/2.jpg")
    assert runner.invoke(args=["photos", "reencode", "onnx"]).exit_code == 0
    result = runner.invoke(args=["photos", "reencode", "dlib"])
    assert result.exit_code == 0
    assert "0 templates encoded" in result.output
    with onnx_app.app_context():
        assert services.active_engine().name == "dlib"
        decision = services.verify_face(
            id_number=number, images=[capture_640x480(f"{DP01}/5.jpg")], requested_by_id=None, purpose="t"
        )
        assert decision.engine == "dlib"
        assert decision.outcome is Outcome.MATCH


def test_no_activate_encodes_but_keeps_the_engine(onnx_app) -> None:
    with onnx_app.app_context():
        enrol(f"{DP01}/1.jpg")
    result = onnx_app.test_cli_runner().invoke(args=["photos", "reencode", "onnx", "--no-activate"])
    assert result.exit_code == 0
    assert "1 templates encoded" in result.output
    with onnx_app.app_context():
        assert services.active_engine().name == "dlib"
        assert engines_of_templates() == ["dlib", "onnx"]


def test_a_photo_that_cannot_be_encoded_blocks_the_switch(onnx_app) -> None:
    with onnx_app.app_context():
        enrol(f"{DP01}/1.jpg")
        stored = db.session.execute(sa.select(Photo)).scalar_one()
        services.storage.delete(stored.storage_key)  # the file is gone
    result = onnx_app.test_cli_runner().invoke(args=["photos", "reencode", "onnx"])
    assert result.exit_code == 1
    assert "当前引擎不变" in result.output
    with onnx_app.app_context():
        assert services.active_engine().name == "dlib"


@pytest.fixture
def labelled(tmp_path: Path, faces_dir: Path) -> Path:
    """A labelled folder of three identities (links to ../shared/faces, nothing copied)."""
    root = tmp_path / "labelled"
    root.mkdir()
    for name in ("deepface__dp01", "deepface__dp02", "deepface__dp03"):
        (root / name).symlink_to(faces_dir / "identities" / name, target_is_directory=True)
    return root


def test_evaluate_measures_the_onnx_model_before_a_switch(onnx_app, labelled: Path) -> None:
    runner = onnx_app.test_cli_runner()
    dlib = runner.invoke(args=["photos", "evaluate", str(labelled), "--json", "--processes", "1"])
    onnx = runner.invoke(args=["photos", "evaluate", str(labelled), "--json", "--processes", "1", "--engine", "onnx"])
    assert onnx.exit_code == 0, onnx.output
    dlib_figures, onnx_figures = (json.loads(r.output.strip().splitlines()[-1]) for r in (dlib, onnx))
    with onnx_app.app_context():
        assert (
            onnx_figures["model_version"]
            == load_engine("onnx", onnx_model_path=onnx_app.config["FACE_ONNX_MODEL_PATH"]).model_version
        )
        assert services.active_engine().name == "dlib"  # measuring switches nothing
    assert onnx_figures["engine"] == "onnx"
    assert (onnx_figures["match_threshold"], onnx_figures["review_threshold"]) == (0.05, 0.08)
    assert onnx_figures["genuine_pairs"] == dlib_figures["genuine_pairs"]
    assert onnx_figures["equal_error_rate"] != dlib_figures["equal_error_rate"]


def test_evaluate_with_a_missing_onnx_model_says_so(app, labelled: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "FACE_ONNX_MODEL_PATH", str(tmp_path / "absent.onnx"))
    result = app.test_cli_runner().invoke(args=["photos", "evaluate", str(labelled), "--engine", "onnx"])
    assert result.exit_code == 1
    assert "不存在" in result.output
