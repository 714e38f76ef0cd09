"""Small ONNX face-embedding models the tests build themselves (no weights can be downloaded here).

The stand-in for an ArcFace model: 1×3×112×112 float input → 4×4 average pooling (3×28×28) → flatten → minus the
vector's mean (brightness drops out) → a fixed, seeded random projection to 128 values. Random projections keep
distances between the aligned crops, so the same face aligned twice lands close and different crops apart: loading,
alignment, storage and decisions are exercised for real, though it recognises no one the way a trained model would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 8


def build_model(path: Path, *, side: int = 112, dims: int = 128, seed: int = SEED, batch: str | int = "N") -> Path:
    """Write the stand-in model to `path` (input 1×3×side×side; `side` other than 112 makes a wrong one)."""
    pooled = 3 * (side // 4) * (side // 4)
    projection = (np.random.default_rng(seed).standard_normal((pooled, dims)) / np.sqrt(pooled)).astype(np.float32)
    nodes = [
        helper.make_node("AveragePool", ["input"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("ReduceMean", ["flat", "axes"], ["mean"], keepdims=1),
        helper.make_node("Sub", ["flat", "mean"], ["centred"]),
        helper.make_node("MatMul", ["centred", "projection"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes,
        "opcert-test-face-embedding",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, side, side])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, dims])],
        initializer=[
            numpy_helper.from_array(projection, "projection"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="opcert-tests")
    model.ir_version = 9
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path
