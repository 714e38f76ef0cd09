"""The embedded default engine: face_recognition (dlib) 128-d encodings, Euclidean distance."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt

from photos import engine as dlib_primitives
from photos.engine import Encoding, Face, RGBImage
from photos.engines.base import Aligned, FaceEngine


class DlibEngine(FaceEngine):
    """dlib's ResNet model as face_recognition runs it: the same encodings `opcert photos evaluate` measures."""

    name: ClassVar[str] = "dlib"
    metric: ClassVar[str] = "euclidean"

    @property
    def key(self) -> str:
        """The weights never changed across dlib releases, so every dlib template stays comparable."""
        return "dlib"

    @property
    def model_name(self) -> str:
        """dlib_face_recognition_resnet_model_v1."""
        return dlib_primitives.MODEL_NAME

    @property
    def model_version(self) -> str:
        """The face_recognition and dlib package versions."""
        return dlib_primitives.MODEL_VERSION

    @property
    def embedding_size(self) -> int:
        """128."""
        return 128

    def align(self, image: RGBImage, face: Face) -> Aligned:
        """dlib aligns inside its encoder (5-point landmarks, 150×150 chip): the face box is all it needs."""
        return Aligned(image=image, face=face)

    def encode(self, aligned: Aligned, *, jitters: int = 1) -> Encoding:
        """The 128-d encoding (on the image shrunk as the detector saw it)."""
        return dlib_primitives.encode_face(aligned.image, aligned.face, jitters=jitters)

    def distances(self, probes: npt.ArrayLike, templates: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Euclidean distances, face_recognition's measure."""
        p = np.asarray(probes, dtype=np.float64)
        t = np.asarray(templates, dtype=np.float64)
        return np.asarray(np.linalg.norm(p[:, None, :] - t[None, :, :], axis=2), dtype=np.float64)
