"""The shipped anomaly detector on the Numenta Anomaly Benchmark (NAB), scored NAB's way.

``benchmarks/nab.py --data DIR --out DIR --name NAME [--windows FILE]``

Runs ``ff_otel.alerting.anomaly.AnomalyDetector`` with the product's defaults
(exactly what the alert engine builds) over every ``DIR/<category>/<series>.csv``
(NAB's layout, ``timestamp,value``), a fresh detector per series, and writes
NAB result files ``OUT/<category>/<NAME>_<series>.csv`` with the columns
``timestamp,value,anomaly_score,label`` (the detector's score in [0, 1]; label
1 inside a window of ``--windows``, else 0).

With ``--windows`` (NAB's ``combined_windows.json``: ``<category>/<series>.csv``
-> list of [start, end]) it also scores the results with
``benchmarks/nab_scoring.py`` (NAB's method: probation, scaled sigmoid,
corpus-wide threshold per profile, normalised against null and perfect) for
each profile of ``--profiles`` (default: ``profiles.json`` beside the windows
file), and prints per category the windows found, the false positives (per
1,000 scored points) at the standard profile's threshold, each category's
standard score when scored alone (its own optimised threshold), and the
detector's points/s (its ``update`` calls only, one thread).

Run on the shared tuning corpus:
``.venv/bin/python benchmarks/nab.py --data ../shared/data/nab/corpus/data
--out /tmp/nab-results --name ffotel --windows ../shared/data/nab/corpus/combined_windows.json``
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nab_scoring
from ff_otel.alerting.anomaly import AnomalyDetector

# NAB's published standard-profile scores (its full 58-series corpus).
PUBLISHED = {
    "Numenta HTM": 70.5,
    "CAD OSE": 69.9,
    "earthgecko Skyline": 58.2,
    "Random Cut Forest": 51.7,
    "Windowed Gaussian": 39.6,
    "Random": 11.0,
}


def score_series(timestamps: list[datetime], values: list[float]) -> tuple[list[float], float]:
    """The detector's score for each point, and the seconds its updates took."""
    detector = AnomalyDetector()
    epochs = [moment.replace(tzinfo=UTC).timestamp() for moment in timestamps]
    scores = []
    gc.disable()
    try:
        start = time.perf_counter()
        for epoch, value in zip(epochs, values, strict=True):
            detector.update(value, epoch)
            scores.append(detector.score)
        took = time.perf_counter() - start
    finally:
        gc.enable()
    return scores, took


def _read_series(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "timestamp" not in rows[0] or "value" not in rows[0]:
        raise SystemExit(f"{path}: needs a header with timestamp,value")
    return rows


def run(
    data: Path, out: Path, name: str, windows: dict[str, list[tuple[datetime, datetime]]] | None
) -> list[dict[str, Any]]:
    """Score every series of ``data`` into ``out``; one summary row per series."""
    rows = []
    paths = sorted(data.glob("*/*.csv"))
    if not paths:
        raise SystemExit(f"{data}: no <category>/<series>.csv files")
    for path in paths:
        category = path.parent.name
        series = _read_series(path)
        timestamps = [nab_scoring.parse_timestamp(row["timestamp"]) for row in series]
        values = [float(row["value"]) for row in series]
        scores, took = score_series(timestamps, values)
        limits = nab_scoring.window_indices(
            timestamps, (windows or {}).get(f"{category}/{path.name}", [])
        )
        labels = [0] * len(values)
        for first, last in limits:
            labels[first : last + 1] = [1] * (last - first + 1)
        target = out / category / f"{name}_{path.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["timestamp", "value", "anomaly_score", "label"])
            for row, score, label in zip(series, scores, labels, strict=True):
                writer.writerow([row["timestamp"], row["value"], repr(score), label])
        rows.append(
            {
                "category": category,
                "series": path.name,
                "points": len(values),
                "scores": scores,
                "windows": limits,
                "seconds": took,
            }
        )
    return rows


def _scored_windows(row: dict[str, Any]) -> int:
    probation = nab_scoring.probation_length(row["points"])
    return len([window for window in row["windows"] if window[1] >= probation])


def score(
    rows: list[dict[str, Any]], profiles: dict[str, nab_scoring.CostMatrix]
) -> dict[str, Any]:
    """NAB's normalised score per profile, and per category at the standard threshold."""
    corpus = [(row["scores"], row["windows"]) for row in rows]
    scored_windows = sum(_scored_windows(row) for row in rows)
    result: dict[str, Any] = {"windows": scored_windows, "profiles": {}}
    for profile, cost in profiles.items():
        threshold, raw = nab_scoring.optimise_threshold(corpus, cost)
        result["profiles"][profile] = {
            "threshold": threshold,
            "raw": raw,
            "normalised": nab_scoring.normalised(raw, scored_windows, cost),
        }
    standard = profiles["standard"]
    threshold = result["profiles"]["standard"]["threshold"]
    categories: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        raw, found, false_positives = nab_scoring.series_score(
            row["scores"], row["windows"], standard, threshold
        )
        summary = categories[row["category"]]
        summary["series"] += 1
        summary["windows"] += len(row["windows"])
        summary["found"] += found
        summary["false_positives"] += false_positives
        summary["scored_points"] += row["points"] - nab_scoring.probation_length(row["points"])
        summary["raw"] += raw
    # Each category scored alone (its own optimised threshold): how evenly the
    # score is earned. A category without windows has no normalised score.
    for name, summary in categories.items():
        alone = [(row["scores"], row["windows"]) for row in rows if row["category"] == name]
        windows = sum(_scored_windows(row) for row in rows if row["category"] == name)
        if windows:
            _, raw = nab_scoring.optimise_threshold(alone, standard)
            summary["alone"] = nab_scoring.normalised(raw, windows, standard)
    result["categories"] = {name: dict(values) for name, values in sorted(categories.items())}
    points = sum(row["points"] for row in rows)
    result["points"] = points
    result["points_per_second"] = points / sum(row["seconds"] for row in rows)
    return result


def _print(result: dict[str, Any]) -> None:
    print(f"NAB scores ({result['windows']} windows, {result['points']:,} points)")
    print(f"  {'profile':<20} {'score':>6} {'threshold':>10}")
    for profile, row in result["profiles"].items():
        print(f"  {profile:<20} {row['normalised']:>6.1f} {row['threshold']:>10.4f}")
    print("\nper category, at the standard profile's threshold:")
    header = f"{'category':<24} {'series':>6} {'windows':>7} {'found':>5} {'FP':>4} {'FP/1k':>6}"
    print(f"  {header} {'alone':>6}")
    for name, row in result["categories"].items():
        per_thousand = 1000 * row["false_positives"] / max(row["scored_points"], 1)
        alone = f"{row['alone']:>6.1f}" if "alone" in row else f"{'-':>6}"
        print(
            f"  {name:<24} {row['series']:>6.0f} {row['windows']:>7.0f} {row['found']:>5.0f} "
            f"{row['false_positives']:>4.0f} {per_thousand:>6.2f} {alone}"
        )
    print("  (alone: the category's standard score with its own optimised threshold)")
    print(f"\ndetector: {result['points_per_second']:,.0f} points/s (one thread)")
    print("\npublished standard scores (NAB's full 58-series corpus):")
    for detector, standard in PUBLISHED.items():
        print(f"  {detector:<20} {standard:>5.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="DIR/<category>/<series>.csv")
    parser.add_argument("--out", type=Path, required=True, help="where the result files go")
    parser.add_argument("--name", required=True, help="the detector's name in the result files")
    parser.add_argument("--windows", type=Path, help="NAB's combined_windows.json: labels, score")
    parser.add_argument(
        "--profiles", type=Path, help="NAB's profiles.json (default: beside --windows)"
    )
    parser.add_argument("--json", type=Path, help="also write the scores as JSON here")
    args = parser.parse_args()

    windows = nab_scoring.read_windows(args.windows) if args.windows else None
    rows = run(args.data, args.out, args.name, windows)
    print(f"wrote {len(rows)} result files under {args.out}")
    if args.windows is None:
        return
    profiles_path = args.profiles or args.windows.parent / "profiles.json"
    if not profiles_path.is_file():
        raise SystemExit(f"{profiles_path}: NAB's profiles.json is needed to score (--profiles)")
    result = score(rows, nab_scoring.load_profiles(profiles_path))
    _print(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
