"""The Numenta Anomaly Benchmark's scoring, reimplemented (NAB's method, not its code).

From Lavin & Ahmad 2015, "Evaluating Real-time Anomaly Detection Algorithms -
the Numenta Anomaly Benchmark", and the rules NAB's scorer applies:

- The first ``min(floor(0.15 * n), 0.15 * 5000)`` points of a series of n points
  are probationary: a detection there counts for nothing, and a window there
  is not scored.
- A point is a detection when its anomaly score is >= the threshold.
- Inside a window of w points whose last point is at index R, a point at index i
  is at relative position p = -(R - i + 1) / w (-1 at the first point, just
  under 0 at the last). Each window scores the best of its detections,
  ``tpWeight * sigmoid_scaled(p) / sigmoid_scaled(-1)``, or ``-fnWeight`` when
  it has none.
- A detection outside every window costs ``fpWeight`` times sigmoid_scaled of
  its distance past the preceding window's end, (i - R) / (w - 1), or -1 x
  fpWeight before the first window. So a detection just after a window costs
  little, and one three window widths past it the full fpWeight.
- sigmoid_scaled(x) = 2 / (1 + exp(5 x)) - 1, and -1 for x >= 3.
- The threshold is the one that maximises the sum over the whole corpus (one
  threshold for all series), per profile.
- Normalised score = 100 x (raw - null) / (perfect - null): null never detects
  (-fnWeight per window), perfect detects every window at its first point
  (+tpWeight per window).
"""

from __future__ import annotations

import bisect
import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PROBATION_PERCENT = 0.15


@dataclass(frozen=True, slots=True)
class CostMatrix:
    tp_weight: float
    fp_weight: float
    fn_weight: float


def sigmoid_scaled(position: float) -> float:
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation_length(count: int) -> int:
    return int(min(math.floor(PROBATION_PERCENT * count), PROBATION_PERCENT * 5000))


def load_profiles(path: Path) -> dict[str, CostMatrix]:
    raw = json.loads(path.read_text())
    return {
        name: CostMatrix(
            tp_weight=float(profile["CostMatrix"]["tpWeight"]),
            fp_weight=float(profile["CostMatrix"]["fpWeight"]),
            fn_weight=float(profile["CostMatrix"]["fnWeight"]),
        )
        for name, profile in raw.items()
    }


def parse_timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.strip())


def window_indices(
    timestamps: Sequence[datetime], windows: Sequence[tuple[datetime, datetime]]
) -> list[tuple[int, int]]:
    """Each window as the first and last index of the points it covers (empty ones dropped)."""
    found = []
    for start, end in windows:
        first = bisect.bisect_left(timestamps, start)
        last = bisect.bisect_right(timestamps, end) - 1
        if first <= last:
            found.append((first, last))
    return found


def point_weights(
    count: int, windows: Sequence[tuple[int, int]], cost: CostMatrix
) -> list[tuple[float, int]]:
    """For each point: what detecting it is worth, and its window number (-1 outside any)."""
    max_tp = sigmoid_scaled(-1.0)
    weights: list[tuple[float, int]] = []
    window = 0
    previous: tuple[int, int] | None = None
    for index in range(count):
        while window < len(windows) and windows[window][1] < index:
            previous = windows[window]
            window += 1
        if window < len(windows) and windows[window][0] <= index:
            first, last = windows[window]
            width = last - first + 1
            position = -(last - index + 1) / width
            weights.append((sigmoid_scaled(position) * cost.tp_weight / max_tp, window))
        elif previous is None:
            weights.append((-cost.fp_weight, -1))
        else:
            first, last = previous
            width = last - first + 1
            # NAB divides by (width - 1); a one-point window would divide by zero.
            distance = (index - last) / max(width - 1, 1)
            weights.append((sigmoid_scaled(distance) * cost.fp_weight, -1))
    return weights


def series_score(
    scores: Sequence[float], windows: Sequence[tuple[int, int]], cost: CostMatrix, threshold: float
) -> tuple[float, int, int]:
    """(raw score, windows detected, false positives) of one series at ``threshold``."""
    probation = probation_length(len(scores))
    weights = point_weights(len(scores), windows, cost)
    best: dict[int, float] = {}
    scored_windows = {w for index, (_, w) in enumerate(weights) if w >= 0 and index >= probation}
    total = 0.0
    false_positives = 0
    for index in range(probation, len(scores)):
        if scores[index] < threshold:
            continue
        weight, window = weights[index]
        if window < 0:
            total += weight
            false_positives += 1
        else:
            best[window] = max(best.get(window, -math.inf), weight)
    total += sum(best.values()) - cost.fn_weight * (len(scored_windows) - len(best))
    return total, len(best), false_positives


def optimise_threshold(
    series: Sequence[tuple[Sequence[float], Sequence[tuple[int, int]]]], cost: CostMatrix
) -> tuple[float, float]:
    """The threshold maximising the corpus' raw score, and that score (NAB's sweep).

    Lowering the threshold through every distinct score in turn; on a tie the
    highest threshold wins.
    """
    points: list[tuple[float, int, float, int]] = []  # score, series, weight, window key
    windows_total = 0
    window_key = 0
    for number, (scores, windows) in enumerate(series):
        probation = probation_length(len(scores))
        weights = point_weights(len(scores), windows, cost)
        keys = {}
        for index in range(probation, len(scores)):
            weight, window = weights[index]
            if window >= 0 and window not in keys:
                keys[window] = window_key
                window_key += 1
            points.append((scores[index], number, weight, keys[window] if window >= 0 else -1))
        windows_total += len(keys)
    points.sort(key=lambda point: point[0], reverse=True)
    best_tp: dict[int, float] = {}
    false_positive_sum = 0.0
    score = -cost.fn_weight * windows_total
    best_threshold, best_score = math.inf, score
    found_sum = 0.0
    index = 0
    while index < len(points):
        threshold = points[index][0]
        while index < len(points) and points[index][0] == threshold:
            _, _, weight, key = points[index]
            if key < 0:
                false_positive_sum += weight
            else:
                before = best_tp.get(key)
                if before is None:
                    best_tp[key] = weight
                    found_sum += weight + cost.fn_weight
                elif weight > before:
                    best_tp[key] = weight
                    found_sum += weight - before
            index += 1
        score = -cost.fn_weight * windows_total + found_sum + false_positive_sum
        if score > best_score:
            best_threshold, best_score = threshold, score
    return best_threshold, best_score


def normalised(raw: float, windows_total: int, cost: CostMatrix) -> float:
    null = -cost.fn_weight * windows_total
    perfect = cost.tp_weight * windows_total
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True, slots=True)
class ResultFile:
    category: str
    series: str
    timestamps: list[datetime]
    scores: list[float]


def read_results(results: Path, name: str) -> list[ResultFile]:
    """Every ``results/<category>/<name>_<series>.csv`` (NAB's result layout)."""
    found = []
    prefix = f"{name}_"
    for path in sorted(results.glob(f"*/{prefix}*.csv")):
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        found.append(
            ResultFile(
                category=path.parent.name,
                series=path.name[len(prefix) :],
                timestamps=[parse_timestamp(row["timestamp"]) for row in rows],
                scores=[float(row["anomaly_score"]) for row in rows],
            )
        )
    return found


def read_windows(path: Path) -> dict[str, list[tuple[datetime, datetime]]]:
    raw = json.loads(path.read_text())
    return {
        key: [(parse_timestamp(start), parse_timestamp(end)) for start, end in windows]
        for key, windows in raw.items()
    }
