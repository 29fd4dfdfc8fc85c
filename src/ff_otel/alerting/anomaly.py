"""Streaming anomaly detection for one metric series, in constant memory.

An alert threshold written by hand is wrong for most series; this learns what
is normal for a series as it goes and flags the points that are not. It keeps
a handful of numbers per series, costs O(1) per point and has no notion of
season (a daily cycle slower than the baseline's memory is followed, not
flagged).

Model, for the n-th point x (k = ``sensitivity``, a = ``alpha``):
- baseline m: an exponentially weighted mean of the points learned from;
- d: an exponentially weighted mean of |x - m|, each x compared with the
  baseline before it learned x;
- robust scale s = max(sqrt(pi / 2) * d, floor) with floor = max(1e-3 * |m|, 1e-9):
  for Gaussian noise E|x - m| = sigma * sqrt(2 / pi), so s estimates sigma; the
  floor keeps a perfectly flat series (d = 0) from flagging wiggles of less
  than k tenths of a percent of its level;
- band: m - k * s .. m + k * s. A point outside the band is anomalous.

Learning: a point is learned winsorised, its residual r = x - m clipped to
+-k * s, so an outlier moves the baseline by at most a * k * s (0.2 sigma at
the defaults) however far out it is: m += a * clip(r), d += a * (|clip(r)| - d).
Winsorising rather than skipping lets a band that is too narrow (a series
that was flat and became noisy) widen again, by up to a fifth per point.

Warm-up: the first ``warmup`` points are never flagged. They are learned
with the rate max(a, 1 / n), which makes m and d plain running means at
first (no stale start value to forget) and the EWMA afterwards.

Spikes and level shifts: out-of-band points on the same side of the band in a
row form a run. While a run is open the baseline and scale are frozen, so the
run is judged against the band from before it. Each point of a run is reported
as a ``spike`` until the run reaches ``shift_points`` points: that point is
reported once as a ``level_shift`` and the detector adopts the new level
(m becomes the mean of the run's points; d, the noise, is kept), so the new
level stops alarming. A run that ends sooner (an in-band point, or one out on
the other side) was spikes: its points are then learned winsorised, as at the
band's edge.

Rates at the defaults (k = 4, warmup 30, a = 0.05, shift_points 5), measured
by ``benchmarks/anomaly.py`` and asserted in ``tests/test_anomaly.py``: on
clean Gaussian noise, FALSE_POSITIVE_RATE_TODO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

_STATE_VERSION = 1
# sigma = sqrt(pi / 2) * E|x - mean| for Gaussian noise.
_SIGMA_PER_ABS_DEVIATION = math.sqrt(math.pi / 2)
# Floor of the scale: a flat series at level m tolerates wiggles up to
# k * 0.1% of |m|; 1e-9 covers a series flat at zero (float rounding).
_RELATIVE_FLOOR = 1e-3
_ABSOLUTE_FLOOR = 1e-9
import os
_SCALE_RATE = float(os.environ.get('SR','1'))


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One anomalous point and the band it fell outside."""

    kind: str  # "spike" or "level_shift"
    value: float
    expected_low: float
    expected_high: float
    baseline: float
    deviation: float  # the robust scale s when the point arrived
    points_seen: int


class AnomalyDetector:
    """Streaming robust detector for one series, in constant memory."""

    __slots__ = (
        "_abs_deviation",
        "_alpha",
        "_baseline",
        "_run_length",
        "_run_side",
        "_run_sum",
        "_sensitivity",
        "_shift_points",
        "_warmup",
        "points_seen",
    )

    def __init__(
        self,
        *,
        sensitivity: float = 4.0,
        warmup: int = 30,
        alpha: float = 0.05,
        shift_points: int = 5,
    ) -> None:
        if not sensitivity > 0:
            raise ValueError(f"sensitivity must be > 0, got {sensitivity}")
        if warmup < 1:
            raise ValueError(f"warmup must be >= 1, got {warmup}")
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        if shift_points < 1:
            raise ValueError(f"shift_points must be >= 1, got {shift_points}")
        self._sensitivity = float(sensitivity)
        self._warmup = int(warmup)
        self._alpha = float(alpha)
        self._shift_points = int(shift_points)
        self.points_seen = 0
        self._baseline = 0.0
        self._abs_deviation = 0.0
        self._run_side = 0  # +1 above the band, -1 below, 0 no open run
        self._run_length = 0
        self._run_sum = 0.0

    def _half_width(self) -> float:
        baseline = self._baseline
        scale = max(
            _SIGMA_PER_ABS_DEVIATION * self._abs_deviation,
            _RELATIVE_FLOOR * abs(baseline),
            _ABSOLUTE_FLOOR,
        )
        return self._sensitivity * scale

    def _learn(self, residual: float, rate: float) -> None:
        limit = self._half_width()
        clipped = min(max(residual, -limit), limit)
        self._baseline += rate * clipped
        self._abs_deviation += _SCALE_RATE * rate * (abs(clipped) - self._abs_deviation)

    def _close_run(self) -> None:
        # The run was spikes: learn each of its points as one at the band's edge.
        side = self._run_side
        for _ in range(self._run_length):
            self._learn(side * math.inf, self._alpha)
        self._run_side = 0
        self._run_length = 0
        self._run_sum = 0.0

    def update(self, value: float) -> Anomaly | None:
        """Learn ``value``; return the anomaly it is, or None if it is normal.

        Non-finite values (NaN, infinities) are not measurements: they are
        ignored and not counted.
        """
        # The common case (an in-band point, no open run) is written out
        # inline: a method call per point would cost a quarter of the budget.
        if not math.isfinite(value):
            return None
        n = self.points_seen = self.points_seen + 1
        baseline = self._baseline
        residual = value - baseline
        if n <= self._warmup:
            if n == 1:
                self._baseline = value
            else:
                self._learn(residual, max(self._alpha, 1.0 / n))
            return None
        abs_deviation = self._abs_deviation
        scale = _SIGMA_PER_ABS_DEVIATION * abs_deviation
        floor = _RELATIVE_FLOOR * (baseline if baseline >= 0 else -baseline)
        if scale < floor:
            scale = floor
        if scale < _ABSOLUTE_FLOOR:
            scale = _ABSOLUTE_FLOOR
        half_width = self._sensitivity * scale
        if -half_width <= residual <= half_width:
            if self._run_side:
                self._close_run()
                residual = value - self._baseline
                self._learn(residual, self._alpha)
                return None
            alpha = self._alpha
            self._baseline = baseline + alpha * residual
            self._abs_deviation = abs_deviation + _SCALE_RATE * alpha * (
                (residual if residual >= 0 else -residual) - abs_deviation
            )
            return None
        return self._out_of_band(value, baseline, half_width)

    def _out_of_band(self, value: float, baseline: float, half_width: float) -> Anomaly:
        side = 1 if value > baseline else -1
        if side != self._run_side:
            if self._run_side:
                self._close_run()
            self._run_side = side
        self._run_length += 1
        self._run_sum += value
        kind = "spike"
        if self._run_length >= self._shift_points:
            kind = "level_shift"
            self._baseline = self._run_sum / self._run_length
            self._run_side = 0
            self._run_length = 0
            self._run_sum = 0.0
        return Anomaly(
            kind=kind,
            value=value,
            expected_low=baseline - half_width,
            expected_high=baseline + half_width,
            baseline=baseline,
            deviation=half_width / self._sensitivity,
            points_seen=self.points_seen,
        )

    def band(self) -> tuple[float, float] | None:
        """The band the next point is judged against, or None during warm-up."""
        if self.points_seen < self._warmup:
            return None
        half_width = self._half_width()
        return self._baseline - half_width, self._baseline + half_width

    def to_state(self) -> dict[str, float | int]:
        """Everything the detector knows, JSON-able, for a checkpoint."""
        return {
            "version": _STATE_VERSION,
            "sensitivity": self._sensitivity,
            "warmup": self._warmup,
            "alpha": self._alpha,
            "shift_points": self._shift_points,
            "points_seen": self.points_seen,
            "baseline": self._baseline,
            "abs_deviation": self._abs_deviation,
            "run_side": self._run_side,
            "run_length": self._run_length,
            "run_sum": self._run_sum,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AnomalyDetector:
        """A detector that continues exactly where the one that wrote ``state`` stopped."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unknown anomaly detector state version {state.get('version')!r}")
        detector = cls(
            sensitivity=float(state["sensitivity"]),
            warmup=int(state["warmup"]),
            alpha=float(state["alpha"]),
            shift_points=int(state["shift_points"]),
        )
        detector.points_seen = int(state["points_seen"])
        detector._baseline = float(state["baseline"])
        detector._abs_deviation = float(state["abs_deviation"])
        detector._run_side = int(state["run_side"])
        detector._run_length = int(state["run_length"])
        detector._run_sum = float(state["run_sum"])
        return detector
