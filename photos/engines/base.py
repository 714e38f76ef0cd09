"""The engine interface, the errors an engine can raise when it cannot be loaded, and engine lookup by name."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from opcert.errors import DomainError
from photos import engine as dlib_primitives
from photos.engine import Encoding, Face, RGBImage

ENGINE_NAMES = ("dlib", "onnx")

MESSAGES: dict[str, LazyString] = {
    "unknown": _l("未知的人脸识别引擎。"),
    "not_configured": _l("未配置ONNX人脸模型文件（FACE_ONNX_MODEL_PATH）。"),
    "runtime_missing": _l("未安装onnxruntime，无法使用ONNX人脸识别引擎。"),
    "missing": _l("ONNX人脸模型文件不存在或无法读取。"),
    "corrupt": _l("ONNX人脸模型文件已损坏或不是有效的ONNX模型。"),
    "input_shape": _l("ONNX人脸模型的输入形状不符：需要1×3×112×112（批次维可变）的浮点输入。"),
    "output_shape": _l("ONNX人脸模型的输出不符：需要一个形状为1×D的特征向量输出。"),
    "changed": _l("ONNX人脸模型文件已被更换，与当前启用的模型不一致：请重新编码模板后再启用。"),
}


class EngineUnavailableError(DomainError):
    """The engine cannot be used; `code` names the reason (MESSAGES) and the message says what to do."""

    def __init__(self, code: str) -> None:
        message = str(MESSAGES[code])
        super().__init__(message, {"engine": message})
        self.code = code


@dataclasses.dataclass(frozen=True)
class Aligned:
    """A face ready for an engine's encoder: the image the encoder reads and the face in that image."""

    image: RGBImage
    face: Face


class FaceEngine(abc.ABC):
    """Detect faces, align one, encode it, compare encodings; name and version identify the model."""

    name: ClassVar[str]
    metric: ClassVar[str]  # "euclidean" or "cosine"

    @property
    @abc.abstractmethod
    def key(self) -> str:
        """What a stored template must carry to be comparable with this engine's encodings."""

    @property
    @abc.abstractmethod
    def model_name(self) -> str:
        """The model's name, as recorded with templates and decisions."""

    @property
    @abc.abstractmethod
    def model_version(self) -> str:
        """The model's version, as recorded with templates and decisions."""

    @property
    @abc.abstractmethod
    def embedding_size(self) -> int:
        """Length of an encoding."""

    def detect(self, image: RGBImage, *, upsample: int = 0) -> list[Face]:
        """Faces in original-image coordinates, largest first (dlib's HOG detector, for every engine)."""
        return dlib_primitives.detect_faces(image, upsample=upsample)

    @abc.abstractmethod
    def align(self, image: RGBImage, face: Face) -> Aligned:
        """The face prepared for `encode`."""

    @abc.abstractmethod
    def encode(self, aligned: Aligned, *, jitters: int = 1) -> Encoding:
        """The encoding of an aligned face; `jitters` > 1 averages perturbed copies (slower, steadier)."""

    def encode_face(self, image: RGBImage, face: Face, *, jitters: int = 1) -> Encoding:
        """Align and encode one detected face."""
        return self.encode(self.align(image, face), jitters=jitters)

    @abc.abstractmethod
    def distances(self, probes: npt.ArrayLike, templates: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The probes × templates distance matrix (lower is more alike)."""

    def distance(self, a: Encoding, b: Encoding) -> float:
        """The distance between two encodings."""
        return float(self.distances(np.asarray(a)[None, :], np.asarray(b)[None, :])[0, 0])

    def describe(self) -> dict[str, Any]:
        """The engine as plain values, for the decision record."""
        return {
            "name": self.name,
            "key": self.key,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "metric": self.metric,
            "embedding_size": self.embedding_size,
        }


def load_engine(name: str, *, onnx_model_path: str | None = None) -> FaceEngine:
    """The engine called `name`; EngineUnavailableError when it cannot run (nothing else changes)."""
    if name == "dlib":
        from photos.engines.dlib_engine import DlibEngine

        return DlibEngine()
    if name == "onnx":
        from photos.engines.onnx_engine import load_onnx_engine

        if not onnx_model_path:
            raise EngineUnavailableError("not_configured")
        return load_onnx_engine(onnx_model_path)
    raise EngineUnavailableError("unknown")


def engine_thresholds(name: str, config: Mapping[str, Any]) -> tuple[float, float]:
    """(match, review) thresholds of an engine: FACE_MATCH/REVIEW_THRESHOLD for dlib, FACE_ONNX_* for onnx."""
    if name == "onnx":
        return float(config["FACE_ONNX_MATCH_THRESHOLD"]), float(config["FACE_ONNX_REVIEW_THRESHOLD"])
    return float(config["FACE_MATCH_THRESHOLD"]), float(config["FACE_REVIEW_THRESHOLD"])
