"""Calibration you can audit: how the configured thresholds decide the trials of a labelled photo set, and how well
thresholds chosen by the documented rule hold on people they were not chosen on.

A deployment runs `opcert photos evaluate DIR` on its own labelled photos (DIR/<person>/<photos>) before going live.
Each trial is decided as `photos.services.decide` would (match ≤ match threshold < review ≤ review threshold <
no_match). Two ways to form trials:
- single reference (default): every pair of photos of one person is a genuine trial, every pair of two people an
  impostor trial;
- gallery (`--gallery K`): for each person with more than K photos, the first K by file name are the reference set
  and the rest probes; a probe against its own set is a genuine trial, against every other person's set an impostor
  trial, the set's distances fused by `photos.fusion.fuse` as verification does (a probe is one frame).
`--folds K` splits the persons into K groups (`assign_folds`), chooses thresholds with `ThresholdRule` on K−1 of them
and measures them on the trials among the persons of the group left out, for each group in turn (`cross_validate`).
`--degrade` encodes webcam-like copies made on the fly (`photos.dataset.Degradation`). The rule and the figures it
gives on ../shared/faces are in docs/face-calibration.md.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np
import numpy.typing as npt
from flask import current_app
from flask.cli import with_appcontext

from photos import engine
from photos.dataset import Degradation, Sample, as_matrix, encode_folder
from photos.engines import ENGINE_NAMES, EngineUnavailableError, engine_thresholds, load_engine
from photos.fusion import check_methods, fuse

# The platform's targets: impostor pairs decided `match` at most 1 in 10,000; genuine pairs decided `no_match` ≤ 2%.
TARGET_FALSE_MATCH_RATE = 1e-4
TARGET_FALSE_NON_MATCH_RATE = 0.02
# False-match rates for which the threshold that would give them is reported.
FMR_POINTS = (1e-4, 1e-3)
CONFIDENCE = 0.95

Distances = npt.NDArray[np.float64]
PersonIndexes = npt.NDArray[np.int32]


def source_of(person: str) -> str:
    """The set a person's folder comes from: the part of its name before `__` ("" when there is none)."""
    return person.split("__", 1)[0] if "__" in person else ""


@dataclasses.dataclass(frozen=True)
class Trials:
    """Comparisons of a labelled set: each a distance between a probe and a reference, of the persons at those
    indexes in `persons`; a trial is genuine when both are the same person."""

    persons: tuple[str, ...]
    distance: Distances
    probe: PersonIndexes
    reference: PersonIndexes

    @property
    def is_genuine(self) -> npt.NDArray[np.bool_]:
        """Which trials compare a person with themselves."""
        return self.probe == self.reference

    @property
    def genuine(self) -> Distances:
        """Distances of the genuine trials."""
        return self.distance[self.is_genuine]

    @property
    def impostor(self) -> Distances:
        """Distances of the impostor trials."""
        return self.distance[~self.is_genuine]

    @property
    def persons_compared(self) -> int:
        """How many persons take part in at least one trial."""
        return len(np.union1d(self.probe, self.reference))

    def among(self, keep: npt.NDArray[np.bool_]) -> Trials:
        """Only the trials whose probe and reference persons are both kept (`keep` is one flag per person)."""
        inside = keep[self.probe] & keep[self.reference]
        return Trials(self.persons, self.distance[inside], self.probe[inside], self.reference[inside])

    def genuine_sources(self) -> npt.NDArray[np.str_]:
        """The source (`source_of`) of each genuine trial's person."""
        sources = np.array([source_of(p) for p in self.persons] or [""])
        return sources[self.probe[self.is_genuine]]


def _person_indexes(labels: Sequence[str]) -> tuple[tuple[str, ...], PersonIndexes]:
    persons = tuple(sorted(set(labels)))
    position = {person: i for i, person in enumerate(persons)}
    return persons, np.array([position[label] for label in labels], dtype=np.int32)


def _prepared(encodings: npt.ArrayLike, metric: str) -> npt.NDArray[np.float64]:
    """The encodings as float64 rows, unit length for the cosine metric."""
    matrix = np.asarray(encodings, dtype=np.float64)
    if metric == "cosine":
        matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return matrix


def _row_distances(rows: npt.NDArray[np.float64], vector: npt.NDArray[np.float64], metric: str) -> Distances:
    """Distances of `rows` to `vector` in the engine's metric (euclidean, or 1 − cosine on unit rows)."""
    if metric == "cosine":
        return np.asarray(1.0 - rows @ vector, dtype=np.float64)
    diff = rows - vector
    return np.asarray(np.sqrt(np.einsum("ij,ij->i", diff, diff)), dtype=np.float64)


def pair_trials(encodings: npt.ArrayLike, labels: Sequence[str], *, metric: str = "euclidean") -> Trials:
    """Single reference: every unordered pair of photos is one trial (`metric`: the engine's)."""
    matrix = _prepared(encodings, metric)
    if len(matrix) != len(labels):
        raise ValueError("one label per encoding")
    persons, index = _person_indexes(labels)
    distances: list[Distances] = []
    probes: list[PersonIndexes] = []
    references: list[PersonIndexes] = []
    # One row against the rows after it at a time: the working memory stays O(n) beside the O(n²) results.
    for i in range(len(matrix) - 1):
        distances.append(_row_distances(matrix[i + 1 :], matrix[i], metric))
        probes.append(np.full(len(matrix) - i - 1, index[i], dtype=np.int32))
        references.append(index[i + 1 :])
    if not distances:
        empty = np.zeros(0, dtype=np.int32)
        return Trials(persons, np.zeros(0, dtype=np.float64), empty, empty)
    return Trials(persons, np.concatenate(distances), np.concatenate(probes), np.concatenate(references))


def pair_distances(
    encodings: npt.ArrayLike, labels: Sequence[str], *, metric: str = "euclidean"
) -> tuple[Distances, Distances]:
    """Distances of every unordered pair: (genuine pairs, same label; impostor pairs, different labels)."""
    trials = pair_trials(encodings, labels, metric=metric)
    return trials.genuine, trials.impostor


def gallery_trials(
    encodings: npt.ArrayLike,
    labels: Sequence[str],
    names: Sequence[str],
    *,
    references: int,
    frames: str = "mean",
    templates: str = "min",
    metric: str = "euclidean",
) -> Trials:
    """Gallery mode: for each person with more than `references` photos, the first `references` by name are the
    reference set and the rest probes; every probe is a trial against every such person's set, the set's distances
    fused as verification fuses them (one frame against the set's templates)."""
    check_methods(frames, templates)
    if references < 1:
        raise ValueError("a reference set has at least one photo")
    matrix = _prepared(encodings, metric)
    if not len(matrix) == len(labels) == len(names):
        raise ValueError("one label and one name per encoding")
    persons, index = _person_indexes(labels)
    photos_of: dict[int, list[int]] = {}
    for row in sorted(range(len(matrix)), key=lambda r: names[r]):
        photos_of.setdefault(int(index[row]), []).append(row)
    sets = {person: rows[:references] for person, rows in photos_of.items() if len(rows) > references}
    set_rows = np.array([row for rows in sets.values() for row in rows], dtype=np.int64)
    distances: list[float] = []
    probes: list[int] = []
    owners: list[int] = []
    for person in sets:
        for row in photos_of[person][references:]:
            to_sets = _row_distances(matrix[set_rows], matrix[row], metric).reshape(len(sets), references)
            for owner, row_distances in zip(sets, to_sets, strict=True):
                distances.append(fuse(row_distances[np.newaxis, :], frames=frames, templates=templates).distance)
                probes.append(person)
                owners.append(owner)
    return Trials(
        persons,
        np.array(distances, dtype=np.float64),
        np.array(probes, dtype=np.int32),
        np.array(owners, dtype=np.int32),
    )


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

    def __add__(self, other: Decisions) -> Decisions:
        return Decisions(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)))

    def as_dict(self) -> dict[str, Any]:
        """Counts, rates and 95% upper bounds of the error rates as plain JSON values."""
        return {
            "genuine_pairs": self.genuine_pairs,
            "impostor_pairs": self.impostor_pairs,
            "false_matches": self.false_matches,
            "false_non_matches": self.false_non_matches,
            "genuine_reviews": self.genuine_reviews,
            "impostor_reviews": self.impostor_reviews,
            "false_match_rate": self.false_match_rate,
            "false_match_rate_upper_95": rate_upper_bound(self.false_matches, self.impostor_pairs),
            "false_non_match_rate": self.false_non_match_rate,
            "false_non_match_rate_upper_95": rate_upper_bound(self.false_non_matches, self.genuine_pairs),
            "review_rate": self.review_rate,
            "impostor_review_rate": self.impostor_review_rate,
        }

    @property
    def meets_targets(self) -> bool:
        """Whether the observed rates meet the platform's targets."""
        return (
            self.false_match_rate <= TARGET_FALSE_MATCH_RATE
            and self.false_non_match_rate <= TARGET_FALSE_NON_MATCH_RATE
        )


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
class Thresholds:
    """A pair of thresholds: match at or below `match`, review up to `review`, no_match above."""

    match: float
    review: float

    def decide(self, trials: Trials) -> Decisions:
        """How these thresholds decide the trials."""
        return count_decisions(
            trials.genuine, trials.impostor, match_threshold=self.match, review_threshold=self.review
        )


@dataclasses.dataclass(frozen=True)
class GenuineShares:
    """How one source's genuine trials are decided: the review share is what the staff see of them."""

    genuine_pairs: int
    genuine_reviews: int
    false_non_matches: int

    def __add__(self, other: GenuineShares) -> GenuineShares:
        return GenuineShares(
            self.genuine_pairs + other.genuine_pairs,
            self.genuine_reviews + other.genuine_reviews,
            self.false_non_matches + other.false_non_matches,
        )

    @property
    def review_rate(self) -> float:
        """Share of this source's genuine trials sent to review."""
        return self.genuine_reviews / self.genuine_pairs if self.genuine_pairs else 0.0

    @property
    def false_non_match_rate(self) -> float:
        """Share of this source's genuine trials decided no_match."""
        return self.false_non_matches / self.genuine_pairs if self.genuine_pairs else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The counts and rates as plain JSON values."""
        return {
            "genuine_pairs": self.genuine_pairs,
            "genuine_reviews": self.genuine_reviews,
            "false_non_matches": self.false_non_matches,
            "review_rate": self.review_rate,
            "false_non_match_rate": self.false_non_match_rate,
        }


def shares_by_source(trials: Trials, thresholds: Thresholds) -> dict[str, GenuineShares]:
    """The genuine trials' outcomes per source (`source_of`), e.g. webcam crops apart from press photos."""
    genuine, sources = trials.genuine, trials.genuine_sources()
    shares = {}
    for source in sorted(set(sources.tolist())):
        mine = genuine[sources == source]
        within_review = int(np.count_nonzero(mine <= thresholds.review))
        shares[source] = GenuineShares(
            genuine_pairs=len(mine),
            genuine_reviews=within_review - int(np.count_nonzero(mine <= thresholds.match)),
            false_non_matches=len(mine) - within_review,
        )
    return shares


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
    by_source: dict[str, GenuineShares]

    @property
    def false_match_rate_upper(self) -> float:
        """The 95% upper bound of the false-match rate given the pairs seen."""
        return rate_upper_bound(self.decisions.false_matches, self.decisions.impostor_pairs)

    @property
    def meets_targets(self) -> bool:
        """Whether the observed rates meet the platform's targets."""
        return self.decisions.meets_targets

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain JSON values."""
        return {
            "match_threshold": self.match_threshold,
            "review_threshold": self.review_threshold,
            **self.decisions.as_dict(),
            "by_source": {source: share.as_dict() for source, share in self.by_source.items()},
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


def calibrate_trials(trials: Trials, *, match_threshold: float, review_threshold: float) -> Calibration:
    """Decide every trial with the thresholds and measure the outcome."""
    genuine, impostor = trials.genuine, trials.impostor
    if not len(genuine) or not len(impostor):
        raise ValueError("needs at least two people and one person with two photos")
    eer, eer_point = equal_error_rate(genuine, impostor)
    thresholds = Thresholds(match_threshold, review_threshold)
    return Calibration(
        match_threshold=match_threshold,
        review_threshold=review_threshold,
        decisions=thresholds.decide(trials),
        equal_error_rate=eer,
        equal_error_point=eer_point,
        fmr_points={target: threshold_for_false_match_rate(genuine, impostor, target) for target in FMR_POINTS},
        by_source=shares_by_source(trials, thresholds),
    )


def calibrate(
    encodings: npt.ArrayLike,
    labels: Sequence[str],
    *,
    match_threshold: float,
    review_threshold: float,
    metric: str = "euclidean",
) -> Calibration:
    """Decide every pair of a labelled encoding matrix with the thresholds and measure the outcome."""
    return calibrate_trials(
        pair_trials(encodings, labels, metric=metric),
        match_threshold=match_threshold,
        review_threshold=review_threshold,
    )


# --- The threshold rule and out-of-sample measurement ------------------------------------------------------------

_NORMAL = statistics.NormalDist()


def _quantile_upper_bound(ordered: Distances, p: float, z: float) -> float:
    """An upper confidence bound of the p-quantile of sorted values: the order statistic at n·p + z·√(n·p·(1 − p))
    (the normal approximation of the binomial count of values below the quantile), the largest value at most."""
    n = len(ordered)
    rank = math.ceil(n * p + z * math.sqrt(n * p * (1.0 - p)))
    return float(ordered[min(rank, n - 1)])


class TooFewTrialsError(ValueError):
    """The rule cannot choose thresholds from so few trials."""


@dataclasses.dataclass(frozen=True)
class ThresholdRule:
    """How a deployment chooses its two thresholds from labelled trials (docs/face-calibration.md says why).

    match: the lower tail of the impostor distances is fitted with a normal line through its `impostor_quantiles`
    and extrapolated to `false_match_rate / match_safety` (a margin under the tail, in that tail's own spread, not
    the exact lowest impostor seen); and it stays `tail_margin` spreads below the lowest impostor seen, for a tail
    that the line underestimates (relatives, look-alikes).
    review: the upper tail of the genuine distances is extrapolated to `false_non_match_rate / review_safety`, by a
    normal line through the median and 90th percentile and by one through the 90th and 98th; the higher of the two
    (genuine tails are mixtures of good and poor photos and often heavier than their bulk), never below match. The
    lines start from upper `confidence` bounds of the 90th and 98th percentiles, not the percentiles themselves: a
    calibration set has few genuine trials, and the band widens when they are fewer.
    """

    false_match_rate: float = TARGET_FALSE_MATCH_RATE
    false_non_match_rate: float = TARGET_FALSE_NON_MATCH_RATE
    match_safety: float = 3.0
    review_safety: float = 4.0
    impostor_quantiles: tuple[float, float] = (0.01, 0.10)
    tail_margin: float = 0.25
    confidence: float = CONFIDENCE
    min_impostor_trials: int = 100
    min_genuine_trials: int = 10

    def choose(self, genuine: Distances, impostor: Distances) -> Thresholds:
        """The thresholds this rule gives for these trials; TooFewTrialsError when there are too few of either."""
        if len(impostor) < self.min_impostor_trials or len(genuine) < self.min_genuine_trials:
            raise TooFewTrialsError(
                f"the rule needs {self.min_impostor_trials} impostor and {self.min_genuine_trials} genuine trials, "
                f"has {len(impostor)} and {len(genuine)}"
            )
        z = _NORMAL.inv_cdf
        low_p, high_p = self.impostor_quantiles
        low_q, high_q = np.quantile(impostor, [low_p, high_p])
        spread = float(high_q - low_q) / (z(high_p) - z(low_p))
        extrapolated = float(low_q) - (z(low_p) - z(self.false_match_rate / self.match_safety)) * spread
        below_seen = float(np.nextafter(float(impostor.min()) - self.tail_margin * spread, -np.inf))
        match = max(0.0, min(extrapolated, below_seen))
        aim = z(1.0 - self.false_non_match_rate / self.review_safety)
        ordered = np.sort(genuine)
        median, q90, q98 = (float(q) for q in np.quantile(ordered, [0.5, 0.9, 0.98]))
        q90_high, q98_high = (_quantile_upper_bound(ordered, p, z(self.confidence)) for p in (0.9, 0.98))
        from_bulk = q90_high + (aim - z(0.9)) * (q90 - median) / z(0.9)
        from_tail = q98_high + (aim - z(0.98)) * (q98 - q90) / (z(0.98) - z(0.9))
        return Thresholds(match=match, review=max(match, from_bulk, from_tail))

    def as_dict(self) -> dict[str, Any]:
        """The rule's parameters as plain JSON values."""
        return dataclasses.asdict(self)


def assign_folds(persons: Iterable[str], folds: int, seed: int = 0) -> dict[str, int]:
    """Each person's group (0 … folds − 1): within each source (`source_of`) the persons are shuffled by a generator
    seeded with `seed` and dealt to the groups in turn, so every group gets its share of each source and the groups
    differ in size by at most one. The same persons, folds and seed always give the same groups."""
    everyone = sorted(set(persons))
    if folds < 2:
        raise ValueError("at least two folds")
    if folds > len(everyone):
        raise ValueError(f"{folds} folds need at least {folds} persons, there are {len(everyone)}")
    by_source: dict[str, list[str]] = {}
    for person in everyone:
        by_source.setdefault(source_of(person), []).append(person)
    rng = np.random.default_rng(seed)
    assignment: dict[str, int] = {}
    for source in sorted(by_source):
        members = by_source[source]
        for position in rng.permutation(len(members)):
            assignment[members[position]] = len(assignment) % folds
    return assignment


@dataclasses.dataclass(frozen=True)
class Fold:
    """One round: thresholds chosen on the other groups' trials, measured on the trials among `persons`."""

    index: int
    persons: tuple[str, ...]
    thresholds: Thresholds
    decisions: Decisions
    by_source: dict[str, GenuineShares]


@dataclasses.dataclass(frozen=True)
class CrossValidation:
    """The out-of-sample figures: every round's, and their totals over all rounds."""

    seed: int
    folds: tuple[Fold, ...]

    @property
    def decisions(self) -> Decisions:
        """The decisions of all rounds added up (each trial is measured in exactly one round)."""
        total = Decisions(0, 0, 0, 0, 0, 0)
        for fold in self.folds:
            total += fold.decisions
        return total

    @property
    def by_source(self) -> dict[str, GenuineShares]:
        """The genuine trials' outcomes per source, all rounds added up."""
        total: dict[str, GenuineShares] = {}
        for fold in self.folds:
            for source, share in fold.by_source.items():
                total[source] = total[source] + share if source in total else share
        return dict(sorted(total.items()))

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain JSON values."""
        return {
            "folds": len(self.folds),
            "seed": self.seed,
            **self.decisions.as_dict(),
            "meets_targets": self.decisions.meets_targets,
            "by_source": {source: share.as_dict() for source, share in self.by_source.items()},
            "rounds": [
                {
                    "fold": fold.index + 1,
                    "persons": list(fold.persons),
                    "match_threshold": fold.thresholds.match,
                    "review_threshold": fold.thresholds.review,
                    **fold.decisions.as_dict(),
                }
                for fold in self.folds
            ],
        }


def cross_validate(trials: Trials, *, folds: int, seed: int = 0, rule: ThresholdRule | None = None) -> CrossValidation:
    """For each group of persons in turn: choose thresholds with the rule on the trials among the other groups'
    persons only, and measure them on the trials among this group's persons only."""
    rule = rule or ThresholdRule()
    assignment = assign_folds(trials.persons, folds, seed)
    group = np.array([assignment[person] for person in trials.persons])
    rounds = []
    for index in range(folds):
        held_out = group == index
        training, measured = trials.among(~held_out), trials.among(held_out)
        try:
            thresholds = rule.choose(training.genuine, training.impostor)
        except TooFewTrialsError as exc:
            raise TooFewTrialsError(f"fold {index + 1}: {exc}") from None
        rounds.append(
            Fold(
                index=index,
                persons=tuple(p for p, out in zip(trials.persons, held_out, strict=True) if out),
                thresholds=thresholds,
                decisions=thresholds.decide(measured),
                by_source=shares_by_source(measured, thresholds),
            )
        )
    return CrossValidation(seed=seed, folds=tuple(rounds))


# --- `opcert photos evaluate DIR` --------------------------------------------------------------------------------


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.4f}%"


def _sample_lines(
    samples: list[Sample], persons: int, degradation: Degradation | None, model: str = engine.MODEL_VERSION
) -> list[str]:
    failed = [s for s in samples if s.encoding is None]
    lines = [
        f"模型 / model: {model}",
        f"照片 / photos: {len(samples)}，人数 / persons: {persons}，无法编码 / not encoded: {len(failed)}",
    ]
    if degradation is not None:
        lines.append(f"降质副本 / degraded copies: {degradation.label()}")
    return lines + [f"  无法编码 / not encoded: {s.path} ({s.problem})" for s in failed]


def _mode_line(trials: Trials, gallery: int | None, frames: str, templates: str) -> str:
    if gallery is None:
        return "方式 / mode: 单一参考 / single reference (每两张照片为一次比对 / every pair of photos is a trial)"
    left_out = len(trials.persons) - trials.persons_compared
    return (
        f"方式 / mode: 图库 / gallery: 每人前 {gallery} 张为参考、其余为探针 / first {gallery} photos the references, "
        f"the rest probes; 融合 / fusion frames={frames} templates={templates}; 参与人数 / persons with more than "
        f"{gallery} photos: {trials.persons_compared} (未参与 / left out: {left_out})"
    )


def _decision_lines(d: Decisions) -> list[str]:
    return [
        f"误通过率 / false-match rate (impostor → match): {d.false_matches}/{d.impostor_pairs} = "
        f"{_percent(d.false_match_rate)} (95% 上限 / upper bound "
        f"{_percent(rate_upper_bound(d.false_matches, d.impostor_pairs))}; "
        f"目标 / target ≤ {_percent(TARGET_FALSE_MATCH_RATE)})",
        f"误拒率 / false-non-match rate (genuine → no_match): {d.false_non_matches}/{d.genuine_pairs} = "
        f"{_percent(d.false_non_match_rate)} (95% 上限 / upper bound "
        f"{_percent(rate_upper_bound(d.false_non_matches, d.genuine_pairs))}; "
        f"目标 / target ≤ {_percent(TARGET_FALSE_NON_MATCH_RATE)})",
        f"转人工复核 / sent to review: 同一人 genuine {d.genuine_reviews}/{d.genuine_pairs} = "
        f"{_percent(d.review_rate)}，不同人 impostor {d.impostor_reviews}/{d.impostor_pairs} = "
        f"{_percent(d.impostor_review_rate)}",
    ]


def _source_lines(by_source: dict[str, GenuineShares], indent: str = "") -> list[str]:
    if len(by_source) < 2:
        return []
    return [
        f"{indent}来源 / source {source}: 同一人复核 / genuine review {share.genuine_reviews}/{share.genuine_pairs} = "
        f"{_percent(share.review_rate)}，误拒 / no_match {share.false_non_matches}/{share.genuine_pairs} = "
        f"{_percent(share.false_non_match_rate)}"
        for source, share in by_source.items()
    ]


def _report_lines(calibration: Calibration) -> list[str]:
    d = calibration.decisions
    lines = [
        f"比对次数 / trials: 同一人 genuine {d.genuine_pairs}，不同人 impostor {d.impostor_pairs}",
        f"阈值 / thresholds: 通过 match ≤ {calibration.match_threshold:.3f} < 人工复核 review "
        f"≤ {calibration.review_threshold:.3f} < 不通过 no_match",
        *_decision_lines(d),
        *_source_lines(calibration.by_source, "  "),
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


def _rule_lines(rule: ThresholdRule, chosen: Thresholds, in_sample: Decisions, cv: CrossValidation) -> list[str]:
    low, high = rule.impostor_quantiles
    lines = [
        "",
        f"阈值规则 / threshold rule (docs/face-calibration.md): 通过 match = 不同人距离低尾"
        f"（{low:.0%}–{high:.0%} 分位）外推至 FMR {rule.false_match_rate / rule.match_safety:.1e}，"
        f"且低于所见最小不同人距离 {rule.tail_margin} 个离散度 / impostor tail extrapolated, "
        f"{rule.tail_margin} spreads under the lowest impostor; 复核 review = 同一人距离上尾外推至 FNMR "
        f"{rule.false_non_match_rate / rule.review_safety:.2%} / genuine tail extrapolated",
        f"按规则在全部数据上所得阈值 / the rule on this whole set: 通过 match ≤ {chosen.match:.3f}，"
        f"复核 review ≤ {chosen.review:.3f}",
        "样本内 / in sample (同一数据上选定并测量 / chosen and measured on the same trials):",
        *("  " + line for line in _decision_lines(in_sample)),
        f"样本外 / out of sample ({len(cv.folds)} 折 / folds, seed {cv.seed}; "
        "每折阈值只在其余人员上选定、只在本折人员间测量 / each fold's thresholds chosen on the other persons only, "
        "measured among its own persons only):",
        *("  " + line for line in _decision_lines(cv.decisions)),
        *_source_lines(cv.by_source, "  "),
    ]
    for fold in cv.folds:
        d = fold.decisions
        lines.append(
            f"  第 {fold.index + 1} 折 / fold {fold.index + 1}: {len(fold.persons)} 人 / persons, "
            f"match ≤ {fold.thresholds.match:.3f}, review ≤ {fold.thresholds.review:.3f}: "
            f"误通过 / false matches {d.false_matches}/{d.impostor_pairs}, 误拒 / no_match "
            f"{d.false_non_matches}/{d.genuine_pairs}, 复核 / review {d.genuine_reviews}/{d.genuine_pairs}"
        )
    verdict = "达到 / met" if cv.decisions.meets_targets else "未达到 / NOT met"
    lines.append(f"样本外目标 / out-of-sample targets: {verdict}")
    return lines


def degradation_from_config(config: dict[str, Any]) -> Degradation:
    """The webcam-like copy the settings describe (FACE_DEGRADE_MAX_SIDE, _JPEG_QUALITY, _BLUR_SIGMA)."""
    return Degradation(
        max_side=int(config["FACE_DEGRADE_MAX_SIDE"]),
        jpeg_quality=int(config["FACE_DEGRADE_JPEG_QUALITY"]),
        blur_sigma=float(config["FACE_DEGRADE_BLUR_SIGMA"]),
    )


def build_trials(
    samples: list[Sample],
    *,
    gallery: int | None,
    frames: str = "mean",
    templates: str = "min",
    metric: str = "euclidean",
) -> Trials:
    """The trials of the encoded samples: every pair (gallery None), or gallery mode with `gallery` references."""
    encodings, labels = as_matrix(samples)
    if gallery is None:
        return pair_trials(encodings, labels, metric=metric)
    names = [s.path.name for s in samples if s.encoding is not None]
    return gallery_trials(
        encodings, labels, names, references=gallery, frames=frames, templates=templates, metric=metric
    )


@click.command("evaluate")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="最后一行输出JSON / print a JSON object as the last line.")
@click.option("--processes", type=click.IntRange(min=1), default=None, help="编码进程数 / encoding processes.")
@click.option("--match-threshold", type=float, default=None, help="默认为 / default FACE_MATCH_THRESHOLD.")
@click.option("--review-threshold", type=float, default=None, help="默认为 / default FACE_REVIEW_THRESHOLD.")
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=None,
    help="按人分K组做样本外测量 / choose thresholds by the rule on K−1 groups of persons, measure on the one left out.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="分组随机种子 / seed of the split into folds.")
@click.option(
    "--gallery",
    type=click.IntRange(min=1),
    default=None,
    help="图库模式：每人前K张为参考 / the first K photos of each person are its reference set, the rest probes.",
)
@click.option(
    "--degrade",
    is_flag=True,
    help="用类摄像头降质副本 / measure on webcam-like copies (FACE_DEGRADE_MAX_SIDE, _JPEG_QUALITY, _BLUR_SIGMA).",
)
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
    folds: int | None,
    seed: int,
    gallery: int | None,
    degrade: bool,
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
    frames, templates = str(cfg["FACE_FUSION_FRAMES"]), str(cfg["FACE_FUSION_TEMPLATES"])
    try:
        check_methods(frames, templates)
        degradation = degradation_from_config(cfg) if degrade else None
    except ValueError as exc:
        raise click.ClickException(f"配置错误 / configuration error: {exc}") from None
    samples = encode_folder(
        folder,
        processes=processes,
        degradation=degradation,
        engine_spec=(engine_name, cfg["FACE_ONNX_MODEL_PATH"]),
    )
    trials = build_trials(samples, gallery=gallery, frames=frames, templates=templates, metric=face_engine.metric)
    model = f"{engine_name} {face_engine.model_version}"
    for line in _sample_lines(samples, persons=len(trials.persons), degradation=degradation, model=model):
        click.echo(line)
    click.echo(_mode_line(trials, gallery, frames, templates))
    try:
        calibration = calibrate_trials(trials, match_threshold=match_t, review_threshold=review_t)
    except ValueError:
        needs = "有人至少两张" if gallery is None else f"至少两人多于 {gallery} 张"
        raise click.ClickException(
            f"至少需要两个人、且{needs}可用照片 / needs two people and "
            + ("someone with two usable photos" if gallery is None else f"two people with more than {gallery}")
        ) from None
    for line in _report_lines(calibration):
        click.echo(line)
    figures: dict[str, Any] = {
        **calibration.as_dict(),
        "mode": "single_reference" if gallery is None else "gallery",
        "gallery_references": gallery,
        "fusion": None if gallery is None else {"frames": frames, "templates": templates},
        "degradation": None if degradation is None else dataclasses.asdict(degradation),
        "persons_compared": trials.persons_compared,
    }
    if folds is not None:
        rule = ThresholdRule()
        try:
            cv = cross_validate(trials, folds=folds, seed=seed, rule=rule)
            chosen = rule.choose(trials.genuine, trials.impostor)
        except ValueError as exc:
            raise click.ClickException(f"无法做样本外测量 / cannot measure out of sample: {exc}") from None
        in_sample = chosen.decide(trials)
        for line in _rule_lines(rule, chosen, in_sample, cv):
            click.echo(line)
        figures["threshold_rule"] = rule.as_dict()
        figures["in_sample"] = {
            "match_threshold": chosen.match,
            "review_threshold": chosen.review,
            **in_sample.as_dict(),
            "by_source": {s: share.as_dict() for s, share in shares_by_source(trials, chosen).items()},
        }
        figures["out_of_sample"] = cv.as_dict()
    if as_json:
        figures.update(
            {
                "engine": engine_name,
                "model_version": face_engine.model_version,
                "photos": len(samples),
                "persons": len(trials.persons),
                "not_encoded": [{"path": str(s.path), "problem": s.problem} for s in samples if s.encoding is None],
            }
        )
        click.echo(json.dumps(figures, ensure_ascii=False))
