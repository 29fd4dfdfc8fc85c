"""Speed and accuracy of the streaming anomaly detector (``ff_otel.alerting.anomaly``).

All parts use the default settings: sensitivity 4, warm-up 30, alpha 0.05,
level shift after 5 points.

1. Throughput: ``AnomalyDetector.update`` over 1,000,000 precomputed
   Gaussian values, in one thread (so on one core), with the garbage collector
   off. The figure is the median of ``--rounds`` rounds, each on a fresh
   detector. Target: >= 200,000 points/s.
2. False-positive rate: the share of 1,000,000 points of clean Gaussian noise
   (seeded) that are flagged. The module documents about 0.03%, and the tests
   assert < 0.05%. Also the points whose anomaly score reaches the alerting
   level (``scoring.ALERT_SCORE``): what would become an alert.
3. Synthetic detection: 200,000 points of Gaussian noise (sigma 1) with an
   event every 300 to 500 points. Seven in ten events are a one-point spike
   and three in ten a level shift that persists; the size of each is uniform
   in 5 to 10 sigma, up or down. A spike is found if its own point is flagged.
   A level shift is found if any of its first 50 points is flagged, and it is
   "labelled" if a ``level_shift`` is reported within those 50 points.
   Precision is the share of flagged points that lie in an event's window.
   Delay is from the event's first point to its first detection. "alerted":
   events with a point scoring >= ``ALERT_SCORE`` in their window.
4. NAB: the two labelled Numenta Anomaly Benchmark series in the shared data
   folder (``../shared/data/nab`` next to this checkout), with their anomaly
   windows. For each series it reports:
   - windows: the labelled windows;
   - found: windows with at least one detection inside;
   - outside: flagged points outside every window;
   - delay: the mean from window start to the first detection inside, in
     points and minutes.
   NAB centres each window on its labelled point, so half the window's
   length (shown) is "on the label". If the folder is missing, this part is
   skipped with a note.

Run: ``.venv/bin/python benchmarks/anomaly.py [--rounds 5] [--json PATH]``.
It prints whether the throughput target was met, but always exits 0.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ff_otel.alerting.anomaly import Anomaly, AnomalyDetector
from ff_otel.alerting.scoring import ALERT_SCORE

_NAB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nab"
_NAB_SERIES = (
    "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv",
    "realKnownCause/machine_temperature_system_failure.csv",
)
_POINTS = 1_000_000
_SHIFT_WINDOW = 50


def _noise(seed: int, count: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(100.0, 1.0) for _ in range(count)]


def _detect(values: list[float]) -> list[tuple[int, Anomaly]]:
    return _detect_and_alert(values)[0]


def _detect_and_alert(values: list[float]) -> tuple[list[tuple[int, Anomaly]], list[int]]:
    """The band's anomalies, and the points whose score reaches the alerting level."""
    detector = AnomalyDetector()
    found = []
    alerts = []
    for index, value in enumerate(values):
        anomaly = detector.update(value)
        if anomaly is not None:
            found.append((index, anomaly))
        if detector.score >= ALERT_SCORE:
            alerts.append(index)
    return found, alerts


def throughput(rounds: int) -> dict[str, float]:
    values = _noise(0, _POINTS)
    rates = []
    for _ in range(rounds):
        update = AnomalyDetector().update
        gc.collect()
        gc.disable()
        try:
            begin = time.perf_counter()
            for value in values:
                update(value)
            elapsed = time.perf_counter() - begin
        finally:
            gc.enable()
        rates.append(_POINTS / elapsed)
    rate = statistics.median(rates)
    return {
        "points": _POINTS,
        "rounds": rounds,
        "points_per_second": rate,
        "ns_per_point": 1e9 / rate,
    }


def false_positives() -> dict[str, float]:
    found, alerts = _detect_and_alert(_noise(1, _POINTS))
    return {
        "points": _POINTS,
        "alerts": len(alerts),
        "alert_rate_percent": 100 * len(alerts) / _POINTS,
        "flagged": len(found),
        "rate_percent": 100 * len(found) / _POINTS,
        "level_shifts": sum(anomaly.kind == "level_shift" for _, anomaly in found),
    }


@dataclass
class _Event:
    kind: str  # "spike" or "level_shift"
    start: int
    end: int  # exclusive: the window in which a detection counts for this event
    first_detection: int | None = None
    labelled_at: int | None = None  # level shifts: where "level_shift" was reported
    alerted: bool = False  # a point of the event's window scored >= ALERT_SCORE


def synthetic(points: int = 200_000) -> dict[str, Any]:
    rng = random.Random(2)
    values = _noise(3, points)
    events: list[_Event] = []
    level = 0.0
    index = rng.randint(300, 500)
    while index < points - _SHIFT_WINDOW:
        size = rng.choice((-1, 1)) * rng.uniform(5.0, 10.0)
        if rng.random() < 0.7:
            events.append(_Event("spike", index, index + 1))
            values[index] += size
        else:
            events.append(_Event("level_shift", index, index + _SHIFT_WINDOW))
            level += size
        next_index = index + rng.randint(300, 500)
        for position in range(index, min(next_index, points)):
            values[position] += level
        index = next_index

    found, alerts = _detect_and_alert(values)
    alerted: dict[str, int] = {"spike": 0, "level_shift": 0}
    alerts_inside = 0
    position = 0
    for index in alerts:
        while position < len(events) and events[position].end <= index:
            position += 1
        if position == len(events) or index < events[position].start:
            continue
        alerts_inside += 1
        if not events[position].alerted:
            events[position].alerted = True
            alerted[events[position].kind] += 1
    inside = 0
    position = 0  # events are in order and do not overlap: walk them alongside
    for index, anomaly in found:
        while position < len(events) and events[position].end <= index:
            position += 1
        if position == len(events) or index < events[position].start:
            continue
        event = events[position]
        inside += 1
        if event.first_detection is None:
            event.first_detection = index
        if anomaly.kind == "level_shift" and event.labelled_at is None:
            event.labelled_at = index

    result: dict[str, Any] = {
        "points": points,
        "flagged": len(found),
        "precision": inside / len(found) if found else 0.0,
        "outside": len(found) - inside,
        "alerts": len(alerts),
        "alerts_outside": len(alerts) - alerts_inside,
    }
    for kind in ("spike", "level_shift"):
        of_kind = [event for event in events if event.kind == kind]
        delays = [e.first_detection - e.start for e in of_kind if e.first_detection is not None]
        result[kind] = {
            "events": len(of_kind),
            "found": len(delays),
            "recall": len(delays) / len(of_kind),
            "mean_delay_points": _mean(delays),
            "alerted": alerted[kind],
            "alert_recall": alerted[kind] / len(of_kind),
        }
    label_delays = [e.labelled_at - e.start for e in events if e.labelled_at is not None]
    result["level_shift"]["labelled"] = len(label_delays)
    result["level_shift"]["mean_delay_to_label_points"] = _mean(label_delays)
    return result


def nab(folder: Path) -> list[dict[str, Any]]:
    windows = json.loads((folder / "windows.json").read_text())
    results = []
    for key in _NAB_SERIES:
        with (folder / key.split("/")[-1]).open(newline="") as file:
            rows = list(csv.DictReader(file))
        times = [datetime.fromisoformat(row["timestamp"]) for row in rows]
        values = [float(row["value"]) for row in rows]
        spans = [
            (datetime.fromisoformat(start), datetime.fromisoformat(end))
            for start, end in windows[key]
        ]
        found = _detect(values)

        firsts: dict[int, int] = {}  # window -> index of its first detection
        outside = 0
        for index, _ in found:
            window = next(
                (w for w, (start, end) in enumerate(spans) if start <= times[index] <= end), None
            )
            if window is None:
                outside += 1
            else:
                firsts.setdefault(window, index)
        starts = [next(i for i, t in enumerate(times) if t >= start) for start, _ in spans]
        lengths = [sum(start <= t <= end for t in times) for start, end in spans]
        delays = [firsts[w] - starts[w] for w in sorted(firsts)]
        minutes = [(times[firsts[w]] - times[starts[w]]).total_seconds() / 60 for w in firsts]
        results.append(
            {
                "series": key,
                "points": len(values),
                "windows": len(spans),
                "mean_window_points": statistics.mean(lengths),
                "found": len(firsts),
                "inside": len(found) - outside,
                "outside": outside,
                "level_shifts": sum(anomaly.kind == "level_shift" for _, anomaly in found),
                "mean_delay_points": _mean(delays),
                "mean_delay_minutes": _mean(minutes),
            }
        )
    return results


def _mean(values: Sequence[float]) -> float | None:
    return statistics.mean(values) if values else None


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    speed = throughput(args.rounds)
    met = "met" if speed["points_per_second"] >= 200_000 else "MISSED"
    print(
        f"throughput: {speed['points_per_second']:,.0f} points/s "
        f"({speed['ns_per_point']:.0f} ns/point, median of {args.rounds} rounds "
        f"of {_POINTS:,} points, one thread)  target >= 200,000: {met}"
    )
    clean = false_positives()
    print(
        f"false positives on {_POINTS:,} points of clean Gaussian noise: "
        f"{clean['flagged']} flagged = {clean['rate_percent']:.4f}% "
        f"({clean['level_shifts']} level shifts); alerts (score >= {ALERT_SCORE}): "
        f"{clean['alerts']} = {clean['alert_rate_percent']:.4f}%"
    )

    synth = synthetic()
    print(
        f"\nsynthetic: {synth['points']:,} points, sigma 1, events of 5-10 sigma; "
        f"{synth['flagged']} flagged, precision {synth['precision']:.3f} "
        f"({synth['outside']} outside any event)"
    )
    print(
        f"  {'event':<12} {'events':>6} {'found':>6} {'recall':>7} {'mean delay':>11}"
        f" {'alerted':>8} {'alert recall':>12}"
    )
    for kind in ("spike", "level_shift"):
        row = synth[kind]
        print(
            f"  {kind:<12} {row['events']:>6} {row['found']:>6} {row['recall']:>7.3f} "
            f"{_number(row['mean_delay_points'], '.2f'):>7} pts {row['alerted']:>8} "
            f"{row['alert_recall']:>12.3f}"
        )
    print(f"  alerts: {synth['alerts']}, {synth['alerts_outside']} outside any event")
    shifts = synth["level_shift"]
    print(
        f"  level shifts reported as level_shift within {_SHIFT_WINDOW} points: "
        f"{shifts['labelled']} of {shifts['events']}, mean delay "
        f"{_number(shifts['mean_delay_to_label_points'], '.2f')} points"
    )

    report: dict[str, Any] = {"throughput": speed, "false_positives": clean, "synthetic": synth}
    if _NAB.is_dir():
        series = nab(_NAB)
        report["nab"] = series
        print(f"\nNAB ({_NAB}):")
        print(
            f"  {'series':<38} {'points':>6} {'windows':>7} {'window':>6} {'found':>5} "
            f"{'inside':>6} {'outside':>7} {'shifts':>6} {'delay pts':>9} {'delay min':>9}"
        )
        for row in series:
            print(
                f"  {row['series'].split('/')[-1]:<38} {row['points']:>6} {row['windows']:>7} "
                f"{row['mean_window_points']:>6.0f} {row['found']:>5} {row['inside']:>6} "
                f"{row['outside']:>7} {row['level_shifts']:>6} "
                f"{_number(row['mean_delay_points'], '.0f'):>9} "
                f"{_number(row['mean_delay_minutes'], '.0f'):>9}"
            )
        print(
            "  window: mean points per window (NAB's label is at its centre); "
            "inside/outside: flagged points;\n  shifts: level_shift reports; "
            "delay: window start to first detection, mean over found windows"
        )
    else:
        print(f"\nNAB part skipped: {_NAB} is missing")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
