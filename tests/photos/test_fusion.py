"""Fusion of a frames × templates distance matrix (photos/fusion.py)."""

from __future__ import annotations

import pytest

from photos.fusion import fuse


def test_default_averages_frames_then_takes_the_nearest_template() -> None:
    fused = fuse([[0.30, 0.60], [0.50, 0.40]])
    assert fused.per_template == pytest.approx((0.40, 0.50))
    assert fused.distance == pytest.approx(0.40)
    assert fused.deciding == (0,)


def test_min_frames_and_mean_of_two_nearest_templates() -> None:
    fused = fuse([[0.30, 0.60, 0.90], [0.50, 0.40, 0.20]], frames="min", templates="mean2")
    assert fused.per_template == pytest.approx((0.30, 0.40, 0.20))
    assert fused.distance == pytest.approx(0.25)
    assert fused.deciding == (2, 0)


def test_one_template_mean2_is_that_template() -> None:
    assert fuse([[0.42]], templates="mean2").distance == pytest.approx(0.42)


@pytest.mark.parametrize("matrix", [[], [[]]])
def test_empty_matrix_is_refused(matrix: list[list[float]]) -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        fuse(matrix)


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="FACE_FUSION_TEMPLATES"):
        fuse([[0.1]], templates="median")
