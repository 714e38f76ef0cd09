"""Pluggable face engines: one interface (detect, align, encode, distance, model name and version), two engines.

- `dlib` (the embedded default): face_recognition's HOG detector and 128-d ResNet encodings, Euclidean distance.
- `onnx`: an ArcFace-style ONNX face-embedding model run with onnxruntime, loaded from `FACE_ONNX_MODEL_PATH`
  (5-point alignment to 112×112, normalised embedding, cosine distance); its SHA-256 is its model version.

Both use the same dlib detector, so quality checks and burst selection do not depend on the engine. A template is
comparable only with encodings of the engine that made it: `FaceEngine.key` ("dlib", or "onnx:<sha256>") is stored
with every template and decision. Which engine the platform uses is not a setting but a recorded switch
(`opcert photos reencode ENGINE`, after every template was re-encoded): see photos/services.py `active_engine`.
"""

from __future__ import annotations

from photos.engines.base import (
    ENGINE_NAMES,
    Aligned,
    EngineUnavailableError,
    FaceEngine,
    engine_thresholds,
    load_engine,
)

__all__ = ["ENGINE_NAMES", "Aligned", "EngineUnavailableError", "FaceEngine", "engine_thresholds", "load_engine"]
