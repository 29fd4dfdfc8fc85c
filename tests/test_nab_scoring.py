"""benchmarks/nab_scoring.py: NAB's scoring, checked against cases computed by hand."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "nab_scoring.py"
    spec = importlib.util.spec_from_file_location("nab_scoring", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["nab_scoring"] = module
    spec.loader.exec_module(module)
    return module


nab = _load()
STANDARD = nab.CostMatrix(tp_weight=1.0, fp_weight=0.11, fn_weight=1.0)
LOW_FP = nab.CostMatrix(tp_weight=1.0, fp_weight=0.22, fn_weight=1.0)
LOW_FN = nab.CostMatrix(tp_weight=1.0, fp_weight=0.11, fn_weight=2.0)
MAX_TP = 2 / (1 + math.exp(-5)) - 1  # 0.98661: the sigmoid at a window's first point


def _scores(count: int, detections: dict[int, float]) -> list[float]:
    scores = [0.0] * count
    for index, score in detections.items():
        scores[index] = score
    return scores


def test_the_scaled_sigmoid_and_the_probation_period() -> None:
    assert nab.sigmoid_scaled(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert nab.sigmoid_scaled(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert nab.sigmoid_scaled(0.0) == 0.0
    assert nab.sigmoid_scaled(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert nab.sigmoid_scaled(3.0) == -1.0
    assert nab.probation_length(100) == 15
    assert nab.probation_length(10_000) == 750  # capped at 15% of 5,000


def test_a_detection_at_a_windows_first_point_earns_the_full_true_positive() -> None:
    # 100 points, one window of 10 points at 40..49, probation 15.
    window = [(40, 49)]
    assert nab.series_score(_scores(100, {40: 1.0}), window, STANDARD, 0.5) == (
        pytest.approx(1.0),
        1,
        0,
    )
    # At its last point: position -(49 - 49 + 1) / 10 = -0.1.
    late = (2 / (1 + math.exp(-0.5)) - 1) / MAX_TP  # 0.24825
    raw, found, _ = nab.series_score(_scores(100, {49: 1.0}), window, STANDARD, 0.5)
    assert raw == pytest.approx(late) and found == 1
    # Only the earliest detection in a window counts.
    raw, _, _ = nab.series_score(_scores(100, {40: 1.0, 45: 1.0, 49: 1.0}), window, STANDARD, 0.5)
    assert raw == pytest.approx(1.0)


def test_missed_windows_and_false_positives_cost_their_weights() -> None:
    window = [(40, 49)]
    assert nab.series_score(_scores(100, {}), window, STANDARD, 0.5)[0] == -1.0
    assert nab.series_score(_scores(100, {}), window, LOW_FN, 0.5)[0] == -2.0
    # Before any window, after probation: the full fpWeight.
    raw, found, false_positives = nab.series_score(
        _scores(100, {20: 1.0, 40: 1.0}), window, STANDARD, 0.5
    )
    assert (raw, found, false_positives) == (pytest.approx(1.0 - 0.11), 1, 1)
    raw, _, _ = nab.series_score(_scores(100, {20: 1.0, 40: 1.0}), window, LOW_FP, 0.5)
    assert raw == pytest.approx(1.0 - 0.22)
    # In probation (index 10 < 15): nothing.
    assert nab.series_score(_scores(100, {10: 1.0}), window, STANDARD, 0.5)[0] == -1.0
    # Just after the window: distance (50 - 49) / (10 - 1), a sigmoid-scaled cost.
    after = 0.11 * (2 / (1 + math.exp(5 / 9)) - 1)  # -0.0298
    raw, _, _ = nab.series_score(_scores(100, {40: 1.0, 50: 1.0}), window, STANDARD, 0.5)
    assert raw == pytest.approx(1.0 + after)
    # Three window widths past it: the full fpWeight again.
    raw, _, _ = nab.series_score(_scores(100, {40: 1.0, 80: 1.0}), window, STANDARD, 0.5)
    assert raw == pytest.approx(1.0 - 0.11)


def test_a_window_inside_the_probation_period_is_not_scored() -> None:
    assert nab.series_score(_scores(100, {}), [(2, 8)], STANDARD, 0.5) == (0.0, 0, 0)


def test_the_threshold_is_optimised_over_the_whole_corpus() -> None:
    # Series A: a false positive scoring 0.95 and its window found at 0.9.
    # Series B: its window found only at 0.6, and a false positive at 0.7.
    series_a = (_scores(100, {20: 0.95, 40: 0.9}), [(40, 49)])
    series_b = (_scores(100, {30: 0.7, 60: 0.6}), [(60, 69)])
    # Threshold 0.95: -0.11 - 1 - 1 = -2.11; 0.9: 1 - 0.11 - 1 = -0.11;
    # 0.7: -0.11 - 0.11 + 1 - 1 = -0.22; 0.6: 2 - 0.22 = 1.78 (the best).
    threshold, raw = nab.optimise_threshold([series_a, series_b], STANDARD)
    assert threshold == 0.6 and raw == pytest.approx(1.78)
    assert nab.normalised(raw, 2, STANDARD) == pytest.approx(100 * (1.78 + 2) / 4)
    # With a false positive twice as dear, 0.6 still wins: 2 - 0.44 = 1.56.
    threshold, raw = nab.optimise_threshold([series_a, series_b], LOW_FP)
    assert threshold == 0.6 and raw == pytest.approx(1.56)


def test_never_firing_is_the_null_score_and_normalises_to_zero() -> None:
    corpus = [(_scores(100, {}), [(40, 49)]), (_scores(100, {}), [(60, 69), (80, 89)])]
    threshold, raw = nab.optimise_threshold(corpus, STANDARD)
    assert threshold == math.inf and raw == -3.0
    assert nab.normalised(raw, 3, STANDARD) == 0.0
    assert nab.normalised(3.0, 3, STANDARD) == 100.0


def test_windows_and_profiles_are_read_in_nabs_formats(tmp_path: Path) -> None:
    windows = tmp_path / "combined_windows.json"
    windows.write_text(
        json.dumps({"c/s.csv": [["2014-04-10 07:15:00.000000", "2014-04-10 07:25:00.000000"]]})
    )
    profiles = tmp_path / "profiles.json"
    profiles.write_text(
        json.dumps({"standard": {"CostMatrix": {"tpWeight": 1, "fnWeight": 1, "fpWeight": 0.11}}})
    )
    read = nab.read_windows(windows)["c/s.csv"]
    timestamps = [
        nab.parse_timestamp(f"2014-04-10 07:{minute:02d}:00") for minute in range(0, 60, 5)
    ]
    assert nab.window_indices(timestamps, read) == [(3, 5)]
    assert nab.load_profiles(profiles)["standard"] == STANDARD
