"""Calibration you can audit: how the configured thresholds decide every pair of a labelled photo set.

A deployment runs `opcert photos evaluate DIR` on its own labelled photos (DIR/<person>/<photos>) before going live.
Every pair of photos of one person is a genuine pair, every pair of two people an impostor pair; each is decided
as `photos.services.decide` would (match ≤ match threshold < review ≤ review threshold < no_match).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np
import numpy.typing as npt
from flask import current_app
from flask.cli import with_appcontext

from photos import engine
from photos.dataset import Sample, as_matrix, encode_folder
from photos.engines import ENGINE_NAMES, EngineUnavailableError, engine_thresholds, load_engine

# The platform's targets: impostor pairs decided `match` at most 1 in 10,000; genuine pairs decided `no_match` ≤ 2%.
TARGET_FALSE_MATCH_RATE = 1e-4
TARGET_FALSE_NON_MATCH_RATE = 0.02
# False-match rates for which the threshold that would give them is reported.
FMR_POINTS = (1e-4, 1e-3)
CONFIDENCE = 0.95

Distances = npt.NDArray[np.float64]


def pair_distances(
    encodings: npt.ArrayLike, labels: Sequence[str], *, metric: str = "euclidean"
) -> tuple[Distances, Distances]:
    """Distances of every unordered pair: (genuine pairs, same label; impostor pairs, different labels); `metric`
    is the engine's ("euclidean" for dlib, "cosine" for onnx: 1 − cosine similarity)."""
    matrix = np.asarray(encodings, dtype=np.float64)
    if metric == "cosine":
        matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    names = np.asarray(labels)
    if len(matrix) != len(names):
        raise ValueError("one label per encoding")
    genuine: list[Distances] = []
    impostor: list[Distances] = []
    # One row against the rows after it at a time: memory stays O(n) for a deployment's thousands of photos.
    for i in range(len(matrix) - 1):
        if metric == "cosine":
            distances = 1.0 - matrix[i + 1 :] @ matrix[i]
        else:
            diff = matrix[i + 1 :] - matrix[i]
            distances = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        same = names[i + 1 :] == names[i]
        genuine.append(distances[same])
        impostor.append(distances[~same])
    empty = np.zeros(0, dtype=np.float64)
    return (np.concatenate(genuine) if genuine else empty), (np.concatenate(impostor) if impostor else empty)


@dataclasses.dataclass(frozen=True)
class Decisions:
    """How the two thresholds decide the genuine and impostor pairs."""

    genuine_pairs: int
    impostor_pairs: int
    false_matches: int  # impostor pairs decided match
    impostor_reviews: int  # impostor pairs sent to review
    genuine_reviews: int  # genuine pairs sent to review
    false_non_matches: int  # genuine pairs decided no_match

    @property
    def false_match_rate(self) -> float:
        """Share of impostor pairs decided match."""
        return self.false_matches / self.impostor_pairs if self.impostor_pairs else 0.0

    @property
    def false_non_match_rate(self) -> float:
        """Share of genuine pairs decided no_match."""
        return self.false_non_matches / self.genuine_pairs if self.genuine_pairs else 0.0

    @property
    def review_rate(self) -> float:
        """Share of genuine pairs sent to review (between the thresholds)."""
        return self.genuine_reviews / self.genuine_pairs if self.genuine_pairs else 0.0

    @property
    def impostor_review_rate(self) -> float:
        """Share of impostor pairs sent to review."""
        return self.impostor_reviews / self.impostor_pairs if self.impostor_pairs else 0.0


def count_decisions(
    genuine: Distances, impostor: Distances, *, match_threshold: float, review_threshold: float
) -> Decisions:
    """Count each outcome: match at or below `match_threshold`, no_match above `review_threshold`."""
    genuine_matched = int(np.count_nonzero(genuine <= match_threshold))
    genuine_within_review = int(np.count_nonzero(genuine <= review_threshold))
    impostor_matched = int(np.count_nonzero(impostor <= match_threshold))
    impostor_within_review = int(np.count_nonzero(impostor <= review_threshold))
    return Decisions(
        genuine_pairs=len(genuine),
        impostor_pairs=len(impostor),
        false_matches=impostor_matched,
        impostor_reviews=max(0, impostor_within_review - impostor_matched),
        genuine_reviews=max(0, genuine_within_review - genuine_matched),
        false_non_matches=len(genuine) - genuine_within_review,
    )


@dataclasses.dataclass(frozen=True)
class OperatingPoint:
    """One single threshold (match at or below it, no_match above) and its error rates."""

    threshold: float
    false_match_rate: float
    false_non_match_rate: float


def _rates_at(genuine_sorted: Distances, impostor_sorted: Distances, thresholds: Distances) -> tuple[Distances, ...]:
    fmr = np.searchsorted(impostor_sorted, thresholds, side="right") / len(impostor_sorted)
    fnmr = 1.0 - np.searchsorted(genuine_sorted, thresholds, side="right") / len(genuine_sorted)
    return fmr, fnmr


def equal_error_rate(genuine: Distances, impostor: Distances) -> tuple[float, OperatingPoint]:
    """The equal error rate with one threshold: the lowest rate that both error rates stay at or under with one
    threshold (the step curves cross between observed distances), and the lowest observed distance giving it."""
    if not len(genuine) or not len(impostor):
        raise ValueError("needs genuine and impostor pairs")
    genuine_sorted, impostor_sorted = np.sort(genuine), np.sort(impostor)
    candidates = np.unique(np.concatenate([genuine_sorted, impostor_sorted]))
    fmr, fnmr = _rates_at(genuine_sorted, impostor_sorted, candidates)
    worse = np.maximum(fmr, fnmr)
    best = int(np.argmin(worse))
    return float(worse[best]), OperatingPoint(float(candidates[best]), float(fmr[best]), float(fnmr[best]))


def threshold_for_false_match_rate(genuine: Distances, impostor: Distances, target: float) -> OperatingPoint | None:
    """The highest observed distance that, as a single match threshold, keeps the false-match rate ≤ `target`
    (None when no observed distance does)."""
    if not len(genuine) or not len(impostor):
        raise ValueError("needs genuine and impostor pairs")
    genuine_sorted, impostor_sorted = np.sort(genuine), np.sort(impostor)
    allowed = math.floor(target * len(impostor_sorted) + 1e-9)  # false matches the target permits in this set
    scores = np.concatenate([genuine_sorted, impostor_sorted])
    if allowed < len(impostor_sorted):
        scores = scores[scores < impostor_sorted[allowed]]
    if not len(scores):
        return None
    threshold = np.array([scores.max()])
    fmr, fnmr = _rates_at(genuine_sorted, impostor_sorted, threshold)
    return OperatingPoint(float(threshold[0]), float(fmr[0]), float(fnmr[0]))


def _binomial_cdf(successes: int, trials: int, p: float) -> float:
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if successes >= trials else 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    base = math.lgamma(trials + 1)
    return min(
        1.0,
        sum(
            math.exp(base - math.lgamma(i + 1) - math.lgamma(trials - i + 1) + i * log_p + (trials - i) * log_q)
            for i in range(successes + 1)
        ),
    )


def rate_upper_bound(errors: int, trials: int, confidence: float = CONFIDENCE) -> float:
    """One-sided exact (Clopper-Pearson) upper confidence bound of an error rate seen as errors / trials."""
    if trials <= 0:
        return 1.0
    if errors >= trials:
        return 1.0
    if errors == 0:
        return 1.0 - (1.0 - confidence) ** (1.0 / trials)
    low, high = errors / trials, 1.0
    for _ in range(100):
        middle = (low + high) / 2
        if _binomial_cdf(errors, trials, middle) > 1.0 - confidence:
            low = middle
        else:
            high = middle
    return high


def pairs_needed(rate: float, confidence: float = CONFIDENCE) -> int:
    """Impostor pairs needed, with no false match among them, to show a false-match rate ≤ `rate` at `confidence`."""
    return math.ceil(math.log(1.0 - confidence) / math.log1p(-rate))


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Everything `opcert photos evaluate` reports for one labelled set and one pair of thresholds."""

    match_threshold: float
    review_threshold: float
    decisions: Decisions
    equal_error_rate: float
    equal_error_point: OperatingPoint
    fmr_points: dict[float, OperatingPoint | None]

    @property
    def false_match_rate_upper(self) -> float:
        """The 95% upper bound of the false-match rate given the pairs seen."""
        return rate_upper_bound(self.decisions.false_matches, self.decisions.impostor_pairs)

    @property
    def meets_targets(self) -> bool:
        """Whether the observed rates meet the platform's targets."""
        return (
            self.decisions.false_match_rate <= TARGET_FALSE_MATCH_RATE
            and self.decisions.false_non_match_rate <= TARGET_FALSE_NON_MATCH_RATE
        )

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain JSON values."""
        d = self.decisions
        return {
            "match_threshold": self.match_threshold,
            "review_threshold": self.review_threshold,
            "genuine_pairs": d.genuine_pairs,
            "impostor_pairs": d.impostor_pairs,
            "false_matches": d.false_matches,
            "false_non_matches": d.false_non_matches,
            "genuine_reviews": d.genuine_reviews,
            "impostor_reviews": d.impostor_reviews,
            "false_match_rate": d.false_match_rate,
            "false_match_rate_upper_95": self.false_match_rate_upper,
            "false_non_match_rate": d.false_non_match_rate,
            "review_rate": d.review_rate,
            "impostor_review_rate": d.impostor_review_rate,
            "equal_error_rate": self.equal_error_rate,
            "equal_error_threshold": self.equal_error_point.threshold,
            "thresholds_for_false_match_rate": [
                {
                    "false_match_rate_at_most": target,
                    "threshold": point.threshold if point else None,
                    "false_match_rate": point.false_match_rate if point else None,
                    "false_non_match_rate": point.false_non_match_rate if point else None,
                    "impostor_pairs_needed_95": pairs_needed(target),
                }
                for target, point in self.fmr_points.items()
            ],
            "targets": {
                "false_match_rate": TARGET_FALSE_MATCH_RATE,
                "false_non_match_rate": TARGET_FALSE_NON_MATCH_RATE,
            },
            "meets_targets": self.meets_targets,
        }


def calibrate(
    encodings: npt.ArrayLike,
    labels: Sequence[str],
    *,
    match_threshold: float,
    review_threshold: float,
    metric: str = "euclidean",
) -> Calibration:
    """Decide every pair of a labelled encoding matrix with the thresholds and measure the outcome."""
    genuine, impostor = pair_distances(encodings, labels, metric=metric)
    if not len(genuine) or not len(impostor):
        raise ValueError("needs at least two people and one person with two photos")
    eer, eer_point = equal_error_rate(genuine, impostor)
    return Calibration(
        match_threshold=match_threshold,
        review_threshold=review_threshold,
        decisions=count_decisions(
            genuine, impostor, match_threshold=match_threshold, review_threshold=review_threshold
        ),
        equal_error_rate=eer,
        equal_error_point=eer_point,
        fmr_points={target: threshold_for_false_match_rate(genuine, impostor, target) for target in FMR_POINTS},
    )


# --- `opcert photos evaluate DIR` --------------------------------------------------------------------------------


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.4f}%"


def _sample_lines(samples: list[Sample], persons: int, model: str = engine.MODEL_VERSION) -> list[str]:
    failed = [s for s in samples if s.encoding is None]
    lines = [
        f"模型 / model: {model}",
        f"照片 / photos: {len(samples)}，人数 / persons: {persons}，无法编码 / not encoded: {len(failed)}",
    ]
    return lines + [f"  无法编码 / not encoded: {s.path} ({s.problem})" for s in failed]


def _report_lines(calibration: Calibration) -> list[str]:
    d = calibration.decisions
    lines = [
        f"比对对数 / pairs: 同一人 genuine {d.genuine_pairs}，不同人 impostor {d.impostor_pairs}",
        f"阈值 / thresholds: 通过 match ≤ {calibration.match_threshold:.3f} < 人工复核 review "
        f"≤ {calibration.review_threshold:.3f} < 不通过 no_match",
        f"误通过率 / false-match rate (impostor → match): {d.false_matches}/{d.impostor_pairs} = "
        f"{_percent(d.false_match_rate)} (95% 上限 / upper bound {_percent(calibration.false_match_rate_upper)}; "
        f"目标 / target ≤ {_percent(TARGET_FALSE_MATCH_RATE)})",
        f"误拒率 / false-non-match rate (genuine → no_match): {d.false_non_matches}/{d.genuine_pairs} = "
        f"{_percent(d.false_non_match_rate)} (目标 / target ≤ {_percent(TARGET_FALSE_NON_MATCH_RATE)})",
        f"转人工复核 / sent to review: 同一人 genuine {d.genuine_reviews}/{d.genuine_pairs} = "
        f"{_percent(d.review_rate)}，不同人 impostor {d.impostor_reviews}/{d.impostor_pairs} = "
        f"{_percent(d.impostor_review_rate)}",
        f"等错误率 / equal error rate: {_percent(calibration.equal_error_rate)} "
        f"(单一阈值 / single threshold {calibration.equal_error_point.threshold:.4f})",
    ]
    for target, point in calibration.fmr_points.items():
        needed = pairs_needed(target)
        if point is None:
            lines.append(f"误通过率 / FMR ≤ {_percent(target)}: 无可用阈值 / no observed threshold")
            continue
        note = "" if d.impostor_pairs >= needed else f"; 样本太少 / too few impostor pairs to show it (< {needed})"
        lines.append(
            f"误通过率 / FMR ≤ {_percent(target)}: 阈值 / threshold ≤ {point.threshold:.4f} "
            f"(误拒率 / FNMR {_percent(point.false_non_match_rate)}{note})"
        )
    verdict = "达到 / met" if calibration.meets_targets else "未达到 / NOT met"
    lines.append(f"目标 / targets: {verdict}")
    return lines


@click.command("evaluate")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="最后一行输出JSON / print a JSON object as the last line.")
@click.option("--processes", type=click.IntRange(min=1), default=None, help="编码进程数 / encoding processes.")
@click.option("--match-threshold", type=float, default=None, help="默认为 / default FACE_MATCH_THRESHOLD.")
@click.option("--review-threshold", type=float, default=None, help="默认为 / default FACE_REVIEW_THRESHOLD.")
@click.option(
    "--engine",
    "engine_name",
    type=click.Choice(ENGINE_NAMES),
    default="dlib",
    help="编码引擎 / engine that encodes (onnx: FACE_ONNX_MODEL_PATH, thresholds FACE_ONNX_*).",
)
@with_appcontext
def evaluate_command(
    folder: Path,
    as_json: bool,
    processes: int | None,
    match_threshold: float | None,
    review_threshold: float | None,
    engine_name: str,
) -> None:
    """Measure the face-match thresholds on labelled photos laid out as FOLDER/<person>/<photos>."""
    cfg = current_app.config
    try:
        face_engine = load_engine(engine_name, onnx_model_path=cfg["FACE_ONNX_MODEL_PATH"])
    except EngineUnavailableError as exc:
        raise click.ClickException(exc.message) from None
    default_match, default_review = engine_thresholds(engine_name, cfg)
    match_t = default_match if match_threshold is None else match_threshold
    review_t = default_review if review_threshold is None else review_threshold
    if review_t < match_t:
        raise click.BadParameter("复核阈值不能小于通过阈值 / review threshold below match threshold")
    samples = encode_folder(folder, processes=processes, engine_spec=(engine_name, cfg["FACE_ONNX_MODEL_PATH"]))
    encodings, labels = as_matrix(samples)
    for line in _sample_lines(samples, persons=len(set(labels)), model=f"{engine_name} {face_engine.model_version}"):
        click.echo(line)
    try:
        calibration = calibrate(
            encodings, labels, match_threshold=match_t, review_threshold=review_t, metric=face_engine.metric
        )
    except ValueError:
        raise click.ClickException(
            "至少需要两个人、且有人至少两张可用照片 / needs two people and someone with two usable photos"
        ) from None
    for line in _report_lines(calibration):
        click.echo(line)
    if as_json:
        figures = {
            **calibration.as_dict(),
            "engine": engine_name,
            "model_version": face_engine.model_version,
            "photos": len(samples),
            "persons": len(set(labels)),
            "not_encoded": [{"path": str(s.path), "problem": s.problem} for s in samples if s.encoding is None],
        }
        click.echo(json.dumps(figures, ensure_ascii=False))
