"""Which series the alert engine watches for anomalies, and which anomalies deserve an alert.

One :class:`~ff_otel.alerting.anomaly.AnomalyDetector` per watched series of
the interval snapshot learns its usual band; an anomaly becomes an alert only
when its score reaches ``ALERT_SCORE`` and the value is also far enough from
the baseline in the series' own units (:data:`ANOMALY_FLOORS`). The alert's
lifecycle (cooldown, re-fire, resolution) is the engine's, as for any rule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ff_otel.alerting.anomaly import Anomaly, AnomalyDetector
from ff_otel.alerting.scoring import ALERT_SCORE
from ff_otel.spec.alerting_config import AlertRule

ANOMALY_SERIES = ("response_time_ms", "throughput_requests_per_second", "error_rate_percent")
# The smallest move from the baseline worth an anomaly alert, per series: a
# sub-millisecond latency change or a fraction of a request per second is
# statistically unusual on a quiet series but nobody's problem.
ANOMALY_FLOORS = {
    "response_time_ms": 5.0,
    "throughput_requests_per_second": 1.0,
    "error_rate_percent": 1.0,
}
_logger = logging.getLogger("ff_otel.alerting")


class AnomalyWatch:
    """An anomaly detector per watched series, learning from every interval's values."""

    def __init__(self) -> None:
        self.detectors: dict[str, AnomalyDetector] = {}

    def states(self) -> dict[str, dict[str, Any]]:
        """What each detector has learned, JSON-able, for the collector's checkpoint."""
        return {series: detector.to_state() for series, detector in self.detectors.items()}

    def restore(self, states: Mapping[str, Any]) -> None:
        """Continue from a checkpoint's detectors, so a new collector needs no second warm-up.

        A state that cannot be read is skipped (that series learns afresh).
        """
        for series, state in states.items():
            if series not in ANOMALY_SERIES or not isinstance(state, dict):
                continue
            try:
                self.detectors[series] = AnomalyDetector.from_state(state)
            except (KeyError, TypeError, ValueError) as exc:
                _logger.warning("ff-otel: anomaly detector for %s starts afresh: %s", series, exc)

    def readings(
        self, values: Mapping[tuple[str, str], float], now: float
    ) -> list[tuple[str, float, Anomaly | None]]:
        """``(series, value, anomaly)`` for each watched series with a value this interval;
        the anomaly is None when the value is inside its band."""
        found = []
        for series in ANOMALY_SERIES:
            value = values.get((series, ""))
            if value is None:
                continue
            detector = self.detectors.get(series)
            if detector is None:
                detector = self.detectors[series] = AnomalyDetector()
            found.append((series, value, detector.update(value, now)))
        return found


def worth_alert(series: str, value: float, anomaly: Anomaly) -> bool:
    """Whether the anomaly is both rare enough and large enough to tell someone."""
    return anomaly.score >= ALERT_SCORE and abs(value - anomaly.baseline) >= ANOMALY_FLOORS[series]


def anomaly_rule(series: str, anomaly: Anomaly) -> AlertRule:
    """The rule an anomaly alert of ``series`` stands under (``anomaly:<series>``)."""
    return AlertRule(
        name=anomaly_rule_name(series),
        series=series,
        comparison="!=",
        threshold=anomaly.baseline,
        alert_type="anomaly",
        recommended_actions=[f"{series} left its usual band: look at what changed"],
    )


def anomaly_rule_name(series: str) -> str:
    return f"anomaly:{series}"


def anomaly_details(series: str, value: float, anomaly: Anomaly) -> dict[str, Any]:
    """The alert's ``historical_context`` (the band and the score) and its message."""
    return {
        "historical_context": {
            "kind": anomaly.kind,
            "expected_low": anomaly.expected_low,
            "expected_high": anomaly.expected_high,
            "baseline": anomaly.baseline,
            "deviation": anomaly.deviation,
            "points_seen": anomaly.points_seen,
            "score": anomaly.score,
        },
        "message": (
            f"{series} is {value:g}, outside its expected band "
            f"{anomaly.expected_low:g}..{anomaly.expected_high:g} ({anomaly.kind})"
        ),
    }
