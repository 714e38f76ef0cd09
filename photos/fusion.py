"""Fusion: one distance from several frames of a capture compared with several reference templates.

A decision compares a burst (frames f₁…fₙ, those that passed the quality checks) with a person's reference set
(templates t₁…tₘ: the library photo's template and earlier live captures). The distances form an n × m matrix.
Fusion reduces it in two documented stages, each a setting:

1. frames (`FACE_FUSION_FRAMES`): per template, the frames' distances become one — `mean` (default: averages out the
   noise of a single frame) or `min`;
2. templates (`FACE_FUSION_TEMPLATES`): the per-template distances become one — `min` (default: the nearest
   reference decides), `mean`, or `mean2` (mean of the two nearest; the nearest alone when there is one).

The result is compared with the engine's thresholds as a single distance would be. `opcert photos evaluate
--gallery K` calibrates with the same function, so thresholds and fusion are chosen together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FRAME_METHODS = ("mean", "min")
TEMPLATE_METHODS = ("min", "mean", "mean2")


@dataclasses.dataclass(frozen=True)
class Fused:
    """The fused distance, the per-template distances it came from, and the templates that decided it."""

    distance: float
    per_template: tuple[float, ...]
    deciding: tuple[int, ...]  # indexes into the template list


def check_methods(frames: str, templates: str) -> None:
    """Refuse an unknown method name (a configuration error, caught at start-up and in evaluate)."""
    if frames not in FRAME_METHODS:
        raise ValueError(f"FACE_FUSION_FRAMES must be one of {FRAME_METHODS}, not {frames!r}")
    if templates not in TEMPLATE_METHODS:
        raise ValueError(f"FACE_FUSION_TEMPLATES must be one of {TEMPLATE_METHODS}, not {templates!r}")


def fuse(distances: npt.ArrayLike, *, frames: str = "mean", templates: str = "min") -> Fused:
    """Fuse an n_frames × n_templates distance matrix (both ≥ 1) into one distance."""
    check_methods(frames, templates)
    matrix = np.asarray(distances, dtype=np.float64)
    if matrix.ndim != 2 or 0 in matrix.shape:
        raise ValueError("fusion needs at least one frame and one template")
    per_template = matrix.mean(axis=0) if frames == "mean" else matrix.min(axis=0)
    order = np.argsort(per_template, kind="stable")
    if templates == "min":
        deciding: Sequence[int] = order[:1].tolist()
    elif templates == "mean2":
        deciding = order[:2].tolist()
    else:
        deciding = order.tolist()
    return Fused(
        distance=float(per_template[list(deciding)].mean()),
        per_template=tuple(float(d) for d in per_template),
        deciding=tuple(int(i) for i in deciding),
    )
