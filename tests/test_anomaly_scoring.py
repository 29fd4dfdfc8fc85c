"""The anomaly score's contract: range, warm-up, flat series, seasonality, one report per shift."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime

from ff_otel.alerting.anomaly import AnomalyDetector
from ff_otel.alerting.scoring import ALERT_SCORE, SUPPRESS_POINTS, AnomalyScorer

_MIDNIGHT = 1_700_006_400.0  # 2023-11-15 00:00 UTC
_FIVE_MINUTES = 300.0


def _alerts(scorer: AnomalyScorer, values: list[float], step: float = 60.0) -> list[int]:
    """The indices whose score reaches the alerting level."""
    return [
        index
        for index, value in enumerate(values)
        if scorer.update(value, _MIDNIGHT + step * index) >= ALERT_SCORE
    ]


def _daily(day_count: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [
        100
        + 50 * math.sin(2 * math.pi * (index * _FIVE_MINUTES % 86_400) / 86_400)
        + rng.gauss(0, 1)
        for index in range(288 * day_count)
    ]


def test_every_score_is_in_0_1_whatever_the_input() -> None:
    rng = random.Random(1)
    values = [rng.gauss(0, 1) for _ in range(3000)]
    values[500] = 1e300
    values[900:905] = [-1e12] * 5
    values[1500:1600] = [0.0] * 100
    scorer = AnomalyScorer()
    for index, value in enumerate(values):
        assert 0.0 <= scorer.update(value, _MIDNIGHT + 60 * index) <= 1.0


def test_nothing_scores_during_warm_up() -> None:
    scorer = AnomalyScorer(warmup=30)
    values = [1.0] * 30
    values[10] = 1e6
    assert [scorer.update(value) for value in values] == [0.0] * 30
    assert scorer.update(1e6) >= ALERT_SCORE


def test_a_flat_series_does_not_alert_on_tiny_moves_but_does_on_real_ones() -> None:
    rng = random.Random(2)
    values = [50.0] * 100 + [50.0 + rng.choice((-0.01, 0.0, 0.01)) for _ in range(2000)]
    scorer = AnomalyScorer()
    assert _alerts(scorer, values) == []  # 0.02% moves: under the 0.1%-of-level floor
    assert scorer.update(60.0, _MIDNIGHT + 60 * len(values)) >= ALERT_SCORE


def test_a_flat_series_that_becomes_active_is_reported_once() -> None:
    rng = random.Random(9)
    values = [0.0] * 500 + [rng.gauss(10, 1) for _ in range(5000)]
    assert _alerts(AnomalyScorer(), values) == [500]


def test_a_daily_cycle_is_learned_and_a_value_out_of_its_hour_alerts() -> None:
    values = _daily(10, seed=3)
    scorer = AnomalyScorer()
    assert _alerts(scorer, values, step=_FIVE_MINUTES) == []
    # 150 is the cycle's usual peak at 06:00; at 18:00 the usual is 50.
    six_pm = _MIDNIGHT + _FIVE_MINUTES * len(values) + 18 * 3600
    assert scorer.update(150.0, six_pm) >= ALERT_SCORE


def test_a_weekly_pattern_is_learned_and_a_weekday_at_weekend_level_alerts() -> None:
    rng = random.Random(10)
    hour = 3600.0

    def load(moment: float, holiday: bool = False) -> float:
        weekend = datetime.fromtimestamp(moment, UTC).weekday() >= 5 or holiday
        daily = 20 * math.sin(2 * math.pi * (moment % 86_400) / 86_400)
        return (40.0 if weekend else 100.0) + daily + rng.gauss(0, 1)

    scorer = AnomalyScorer()
    weeks = 24 * 7
    alerts = []
    for index in range(5 * weeks):
        moment = _MIDNIGHT + hour * index
        if scorer.update(load(moment), moment) >= ALERT_SCORE:
            alerts.append(index)
    # The first weekend is news; once two weeks are seen, weekends are normal.
    assert all(index < 2 * weeks for index in alerts)
    found = []
    for index in range(5 * weeks, 6 * weeks):
        moment = _MIDNIGHT + hour * index
        holiday = datetime.fromtimestamp(moment, UTC).weekday() == 2  # a Wednesday off
        if scorer.update(load(moment, holiday), moment) >= ALERT_SCORE:
            found.append(datetime.fromtimestamp(moment, UTC).weekday())
    assert found == [2]


def test_without_timestamps_the_same_cycle_is_followed_without_alerts() -> None:
    scorer = AnomalyScorer()
    assert [
        i for i, value in enumerate(_daily(10, seed=4)) if scorer.update(value) >= ALERT_SCORE
    ] == []


def test_a_level_shift_is_reported_once() -> None:
    rng = random.Random(5)
    values = [rng.gauss(0, 1) + (10.0 if index >= 3000 else 0.0) for index in range(9000)]
    alerts = _alerts(AnomalyScorer(), values)
    # 10 sigma: the first point of the new level, or a few points later when
    # the slow part has seen enough of it.
    assert len(alerts) == 1 and 3000 <= alerts[0] <= 3020


def test_points_after_a_detection_are_suppressed() -> None:
    rng = random.Random(6)
    values = [rng.gauss(0, 1) for _ in range(1000)]
    values[500] = values[550] = 50.0
    scorer = AnomalyScorer()
    scores = [scorer.update(value, _MIDNIGHT + 60 * index) for index, value in enumerate(values)]
    assert scores[500] >= ALERT_SCORE
    assert scores[501 : 501 + SUPPRESS_POINTS] == [0.0] * SUPPRESS_POINTS  # 550 included


def test_a_spike_as_common_as_the_rare_rate_stops_alerting() -> None:
    # Flat at zero with the same spike every 100 points (1 in 100, more common
    # than RARE_RATE): the first spikes are news, the later ones are not.
    values = [0.0 if index % 100 else 20.0 for index in range(1, 6001)]
    alerts = _alerts(AnomalyScorer(), values)
    assert alerts and [index for index in alerts if index >= 1000] == []


def test_a_much_larger_spike_than_the_common_ones_still_alerts() -> None:
    # A 6.5-sigma spike every 50 points: few of its 100 spikes alert, but a
    # 40-sigma one is a size this series has not shown, so it does.
    rng = random.Random(14)
    values = [rng.gauss(0, 1) if index % 50 else 6.5 for index in range(1, 5001)]
    scorer = AnomalyScorer()
    assert len(_alerts(scorer, values)) < 10
    assert scorer.update(40.0, _MIDNIGHT + 60 * len(values)) >= ALERT_SCORE


def test_a_spike_repeated_rarely_keeps_alerting() -> None:
    # One 10-sigma spike every 2,000 points in a long-running series: each one
    # is rarer than RARE_RATE of the recent points, so each is reported.
    rng = random.Random(11)
    values = [rng.gauss(0, 1) for _ in range(20_000)]
    spikes = list(range(4000, 20_000, 2000))
    for index in spikes:
        values[index] = 10.0
    assert set(spikes) <= set(_alerts(AnomalyScorer(), values))


def test_clean_noise_almost_never_alerts() -> None:
    rng = random.Random(7)
    values = [rng.gauss(20, 3) for _ in range(100_000)]
    assert len(_alerts(AnomalyScorer(), values)) <= 5  # <= 0.005%


def test_the_score_survives_a_checkpoint_unchanged() -> None:
    values = _daily(4, seed=8)
    values[700] += 40
    original = AnomalyDetector()
    for index, value in enumerate(values[:800]):
        original.update(value, _MIDNIGHT + _FIVE_MINUTES * index)
    restored = AnomalyDetector.from_state(json.loads(json.dumps(original.to_state())))
    for index, value in enumerate(values[800:], start=800):
        moment = _MIDNIGHT + _FIVE_MINUTES * index
        assert restored.update(value, moment) == original.update(value, moment)
        assert restored.score == original.score
    assert restored.to_state() == original.to_state()


def test_a_version_1_checkpoint_still_loads_and_scores_afresh() -> None:
    detector = AnomalyDetector()
    for value in range(100):
        detector.update(float(value % 7))
    state = detector.to_state()
    state["version"] = 1
    del state["scorer"]
    restored = AnomalyDetector.from_state(state)
    assert restored.points_seen == 100
    assert restored.update(3.0) is None and restored.score == 0.0  # the score is warming up


def test_a_scorer_checkpoint_without_the_rarity_histogram_loads_and_keeps_scoring() -> None:
    scorer = AnomalyScorer()
    for index, value in enumerate(_daily(2, seed=13)):
        scorer.update(value, _MIDNIGHT + _FIVE_MINUTES * index)
    state = json.loads(json.dumps(scorer.to_state()))
    state["version"] = 1  # written before the rarity histogram existed
    del state["rarity"]
    restored = AnomalyScorer.from_state(state)
    assert restored.points_seen == scorer.points_seen
    moment = _MIDNIGHT + _FIVE_MINUTES * 2 * 288
    assert restored.update(1e6, moment) >= ALERT_SCORE  # nothing yet counts it as common
