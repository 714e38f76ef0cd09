"""The engine interface: dlib as face_recognition computes it, the ONNX engine with a model the tests build."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from photos import engine as dlib_primitives
from photos.engines import EngineUnavailableError, load_engine
from photos.engines.onnx_engine import (
    ARCFACE_REFERENCE,
    align_112,
    five_points,
    similarity_transform,
)
from tests.photos.imagelib import rgb_of
from tests.photos.onnxmodel import build_model

ALICE = "identities/deepface__dp01/1.jpg"
ALICE_AGAIN = "identities/deepface__dp01/2.jpg"
CASIA = "east_asian/identities/casia5__casia5_003/1.jpg"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tests' own ONNX face-embedding model."""
    return build_model(tmp_path_factory.mktemp("onnx") / "test-arcface.onnx")


def test_dlib_engine_gives_the_encodings_evaluate_measures(faces_dir) -> None:
    dlib = load_engine("dlib")
    rgb = rgb_of(ALICE)
    face = dlib.detect(rgb)[0]
    assert np.array_equal(dlib.encode_face(rgb, face), dlib_primitives.encode_face(rgb, face))
    assert (dlib.key, dlib.metric, dlib.embedding_size) == ("dlib", "euclidean", 128)
    assert dlib.model_version == dlib_primitives.MODEL_VERSION


def test_onnx_engine_loads_and_records_the_file_sha256(model_path: Path) -> None:
    onnx = load_engine("onnx", onnx_model_path=str(model_path))
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
    assert onnx.model_version == digest
    assert onnx.key == f"onnx:{digest}"
    assert (onnx.metric, onnx.embedding_size, onnx.model_name) == ("cosine", 128, "test-arcface.onnx")


@pytest.mark.parametrize("rel", [ALICE, CASIA])
def test_onnx_embeddings_are_normalised_and_the_same_face_is_close(model_path: Path, faces_dir, rel: str) -> None:
    onnx = load_engine("onnx", onnx_model_path=str(model_path))
    original = rgb_of(rel)
    smaller = cv2.resize(original, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
    a = onnx.encode_face(original, onnx.detect(original, upsample=1)[0])
    b = onnx.encode_face(smaller, onnx.detect(smaller, upsample=1)[0])
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
    assert onnx.distance(a, b) < 0.05  # the same photo at another size
    other = rgb_of(ALICE_AGAIN if rel != ALICE_AGAIN else CASIA)
    assert onnx.distance(a, onnx.encode_face(other, onnx.detect(other, upsample=1)[0])) > 0.1


def test_onnx_jitter_averages_copies_into_one_unit_vector(model_path: Path, faces_dir) -> None:
    onnx = load_engine("onnx", onnx_model_path=str(model_path))
    rgb = rgb_of(ALICE)
    face = onnx.detect(rgb)[0]
    once, jittered = onnx.encode_face(rgb, face), onnx.encode_face(rgb, face, jitters=5)
    assert np.linalg.norm(jittered) == pytest.approx(1.0, abs=1e-5)
    assert 0 < onnx.distance(once, jittered) < 0.05
    assert np.array_equal(jittered, onnx.encode_face(rgb, face, jitters=5))  # seeded: the same template again


def test_similarity_transform_recovers_a_known_turn_zoom_and_shift() -> None:
    angle, scale, shift = np.deg2rad(12.0), 1.7, np.array([30.0, -8.0])
    turn = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = ARCFACE_REFERENCE @ turn.T + shift
    matrix = similarity_transform(ARCFACE_REFERENCE, moved)
    assert np.allclose(matrix[:, :2], turn)
    assert np.allclose(matrix[:, 2], shift)


@pytest.mark.parametrize("rel", [ALICE, CASIA])
def test_alignment_puts_eyes_nose_and_mouth_on_the_arcface_points(faces_dir, rel: str) -> None:
    rgb = rgb_of(rel)
    face = dlib_primitives.detect_faces(rgb, upsample=1)[0]
    points = five_points(dlib_primitives.landmarks_68(rgb, face))
    matrix = similarity_transform(points, ARCFACE_REFERENCE)
    placed = points @ matrix[:, :2].T + matrix[:, 2]
    off = np.sqrt(((placed - ARCFACE_REFERENCE) ** 2).sum(axis=1))  # pixels of the 112×112 crop
    assert off[:2].max() < 5.0
    assert off.max() < 10.0
    assert abs(placed[0, 1] - placed[1, 1]) < 2.0  # a tilted head comes out upright
    crop = align_112(rgb, points)
    assert crop.shape == (112, 112, 3)
    assert crop[40:60, 30:80].mean() > 20  # the eye band has the face in it, not the black border


def test_a_missing_model_file_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailableError) as caught:
        load_engine("onnx", onnx_model_path=str(tmp_path / "absent.onnx"))
    assert caught.value.code == "missing"
    assert "不存在" in caught.value.message


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"not an onnx model at all", "corrupt"),
        (None, "corrupt"),  # a real model cut in half
    ],
    ids=["garbage", "truncated"],
)
def test_a_corrupt_model_file_is_refused_clearly(tmp_path: Path, model_path: Path, content, code) -> None:
    path = tmp_path / "broken.onnx"
    data = model_path.read_bytes()
    path.write_bytes(content if content is not None else data[: len(data) // 2])
    with pytest.raises(EngineUnavailableError) as caught:
        load_engine("onnx", onnx_model_path=str(path))
    assert caught.value.code == code
    assert "损坏" in caught.value.message


def test_a_model_with_the_wrong_input_shape_is_refused_clearly(tmp_path: Path) -> None:
    path = build_model(tmp_path / "wrong.onnx", side=64)
    with pytest.raises(EngineUnavailableError) as caught:
        load_engine("onnx", onnx_model_path=str(path))
    assert caught.value.code == "input_shape"
    assert "112" in caught.value.message


def test_onnx_without_a_configured_path_is_refused() -> None:
    with pytest.raises(EngineUnavailableError) as caught:
        load_engine("onnx", onnx_model_path=None)
    assert "FACE_ONNX_MODEL_PATH" in caught.value.message
