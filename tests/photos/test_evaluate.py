"""Calibration: the metric functions on a hand-made set with known answers, the default thresholds against the
targets on the real photos, and `opcert photos evaluate` end to end."""

from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pytest

from opcert.config import DefaultConfig
from photos import engine
from photos.dataset import as_matrix
from photos.evaluate import (
    OperatingPoint,
    calibrate,
    count_decisions,
    equal_error_rate,
    pair_distances,
    pairs_needed,
    rate_upper_bound,
    threshold_for_false_match_rate,
)
from photos.models import Outcome
from photos.services import decide
from tests.fixtures.faces import IDENTITIES

# Five photos of three people on a line (x, 0): every pair's distance is the gap between the two x values.
#   genuine pairs: a 0.0–0.4 → 0.4, b 2.0–2.9 → 0.9
#   impostor pairs: 0.3 0.7 1.3 1.6 2.0 2.2 2.5 2.9
POINTS = {"a1": 0.0, "a2": 0.4, "b1": 2.0, "b2": 2.9, "c1": 0.7}


@pytest.fixture
def toy() -> tuple[np.ndarray, list[str]]:
    encodings = np.array([[x, 0.0] for x in POINTS.values()], dtype=np.float32)
    return encodings, [name[0] for name in POINTS]


def test_pairs_are_split_into_genuine_and_impostor(toy) -> None:
    genuine, impostor = pair_distances(*toy)
    assert sorted(genuine) == pytest.approx([0.4, 0.9])
    assert sorted(impostor) == pytest.approx([0.3, 0.7, 1.3, 1.6, 2.0, 2.2, 2.5, 2.9])


def test_decisions_are_counted_as_decide_would(toy) -> None:
    genuine, impostor = pair_distances(*toy)
    counts = count_decisions(genuine, impostor, match_threshold=0.5, review_threshold=1.0)
    # genuine 0.4 match, 0.9 review; impostor 0.3 match (a false match), 0.7 review, the rest no_match.
    assert (counts.genuine_pairs, counts.impostor_pairs) == (2, 8)
    assert (counts.false_matches, counts.impostor_reviews) == (1, 1)
    assert (counts.genuine_reviews, counts.false_non_matches) == (1, 0)
    assert (counts.false_match_rate, counts.false_non_match_rate) == (0.125, 0.0)
    assert (counts.review_rate, counts.impostor_review_rate) == (0.5, 0.125)

    strict = count_decisions(genuine, impostor, match_threshold=0.35, review_threshold=0.8)
    # genuine 0.4 review, 0.9 no_match; impostor 0.3 still a false match, 0.7 review.
    assert (strict.false_matches, strict.false_non_matches, strict.genuine_reviews) == (1, 1, 1)
    assert (strict.false_match_rate, strict.false_non_match_rate, strict.review_rate) == (0.125, 0.5, 0.5)


def test_equal_error_rate(toy) -> None:
    genuine, impostor = pair_distances(*toy)
    # One threshold t: at 0.4 FMR 1/8, FNMR 1/2; at 0.7 FMR 2/8, FNMR 1/2; at 0.9 FMR 2/8, FNMR 0 → best 0.25.
    eer, point = equal_error_rate(genuine, impostor)
    assert eer == 0.25
    assert point == OperatingPoint(pytest.approx(0.9), 0.25, 0.0)


def test_threshold_for_a_false_match_rate(toy) -> None:
    genuine, impostor = pair_distances(*toy)
    # 1 false match in 8 allowed: the threshold stays below the second impostor (0.7); the highest distance
    # below it is the genuine 0.4 (then FMR 1/8, FNMR 1/2).
    assert threshold_for_false_match_rate(genuine, impostor, 0.125) == OperatingPoint(pytest.approx(0.4), 0.125, 0.5)
    # 3 allowed: below 1.6, i.e. 1.3, where every genuine pair matches.
    assert threshold_for_false_match_rate(genuine, impostor, 0.375) == OperatingPoint(pytest.approx(1.3), 0.375, 0.0)
    # None allowed: nothing observed lies below the nearest impostor (0.3).
    assert threshold_for_false_match_rate(genuine, impostor, 0.01) is None


def test_confidence_bounds() -> None:
    # No error in n trials: 1 − 0.05^(1/n) (≈ 3/n); 1 in 10: the exact Clopper-Pearson bound 0.3942.
    assert rate_upper_bound(0, 11182) == pytest.approx(2.6787e-4, rel=1e-3)
    assert rate_upper_bound(1, 10) == pytest.approx(0.3942, abs=1e-4)
    assert rate_upper_bound(5, 5) == 1.0
    assert pairs_needed(1e-4) == 29956


def test_calibrate_needs_both_kinds_of_pair() -> None:
    with pytest.raises(ValueError, match="two people"):
        calibrate(np.zeros((2, 2)), ["a", "b"], match_threshold=0.5, review_threshold=0.6)


def test_the_default_thresholds_meet_the_targets_on_the_real_photos(identity_samples) -> None:
    match_t, review_t = DefaultConfig.FACE_MATCH_THRESHOLD, DefaultConfig.FACE_REVIEW_THRESHOLD
    outcomes: dict[tuple[bool, Outcome], int] = {}
    for a, b in itertools.combinations(identity_samples, 2):
        outcome = decide(engine.distance(a.encoding, b.encoding), match_threshold=match_t, review_threshold=review_t)
        key = (a.person == b.person, outcome)
        outcomes[key] = outcomes.get(key, 0) + 1
    genuine = sum(n for (same, _), n in outcomes.items() if same)
    impostor = sum(n for (same, _), n in outcomes.items() if not same)
    false_matches = outcomes.get((False, Outcome.MATCH), 0)
    false_non_matches = outcomes.get((True, Outcome.NO_MATCH), 0)
    assert (genuine, impostor) == (446, 11182)
    assert false_matches / impostor <= 1e-4  # at most 1 in 10,000
    assert false_non_matches / genuine <= 0.02
    # Measured with the defaults chosen on East Asian faces (0.31 / 0.64, docs/face-calibration.md): no false match,
    # no genuine pair refused, and 305 of 446 (68%) sent to review — the price of a match threshold safe for the
    # population served, paid here on Western faces whose genuine pairs lie further apart (median 0.34).
    assert (false_matches, false_non_matches, outcomes.get((True, Outcome.REVIEW), 0)) == (0, 0, 305)

    # The evaluate command's arithmetic agrees with decide() pair for pair.
    encodings, labels = as_matrix(identity_samples)
    counted = calibrate(encodings, labels, match_threshold=match_t, review_threshold=review_t).decisions
    assert (counted.false_matches, counted.false_non_matches, counted.genuine_reviews) == (0, 0, 305)
    assert counted.impostor_reviews == outcomes.get((False, Outcome.REVIEW), 0)


def test_evaluate_command_on_the_shared_photos(runner, faces_dir) -> None:
    result = runner.invoke(args=["photos", "evaluate", str(IDENTITIES), "--json", "--processes", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    figures = json.loads(lines[-1])
    for key in (
        "genuine_pairs",
        "impostor_pairs",
        "false_match_rate",
        "false_non_match_rate",
        "review_rate",
        "match_threshold",
        "review_threshold",
    ):
        assert key in figures
    assert (figures["genuine_pairs"], figures["impostor_pairs"]) == (446, 11182)
    assert figures["false_match_rate"] <= 0.0001
    assert figures["false_non_match_rate"] <= 0.02
    assert (figures["match_threshold"], figures["review_threshold"]) == (
        DefaultConfig.FACE_MATCH_THRESHOLD,
        DefaultConfig.FACE_REVIEW_THRESHOLD,
    )
    assert figures["mode"] == "single_reference"
    assert figures["not_encoded"] == []
    assert figures["meets_targets"] is True
    assert any(line.startswith("误通过率 / false-match rate") for line in lines)


def test_evaluate_command_reports_unusable_photos_and_refuses_a_set_without_pairs(runner, tmp_path) -> None:
    (tmp_path / "one").mkdir()
    shutil.copy(IDENTITIES / "deepface__dp01" / "1.jpg", tmp_path / "one" / "1.jpg")
    shutil.copy(IDENTITIES.parent / "noface" / "noface__coffee.jpg", tmp_path / "one" / "2.jpg")
    result = runner.invoke(args=["photos", "evaluate", str(tmp_path), "--processes", "1"])
    assert result.exit_code == 1
    assert f"not encoded: {tmp_path / 'one' / '2.jpg'} (no face found)" in result.output
    assert "needs two people" in result.output
