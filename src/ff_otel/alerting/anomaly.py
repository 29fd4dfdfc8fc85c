"""Streaming anomaly detection for one metric series, in constant memory.

Two parts: the band below says whether a point is outside its usual band (and
whether that is a spike or a level shift); ``scoring.AnomalyScorer`` gives
each point a calibrated score in [0, 1] (seasonal, slow changes, spike rate,
how rare a deviation of that size has been, suppression after a detection),
which decides whether it is worth an alert. ``update`` runs both; the score
of the last point is ``score`` (and ``Anomaly.score``).

A threshold written by hand is wrong for most series, and a series' normal
level moves; this learns what is normal as it goes and flags the points that
are not. It keeps eleven numbers per series (four settings, seven of state) and
does O(1) work per point. It has no seasonal model: a cycle slower than the
baseline's memory (about 1/a points) is followed, not flagged, and abrupt
changes are flagged.

Model (k = ``sensitivity``, a = ``alpha``), for each point x:
- baseline m: an exponentially weighted mean (EWMA) of the points learned;
- d: an EWMA of |x - m|, with x compared to the baseline from before it;
- robust scale s = max(sqrt(pi / 2) * d, 1e-3 * |m|, 1e-9). For Gaussian noise,
  E|x - m| = sigma * sqrt(2 / pi), so s estimates sigma. The floor stops a
  perfectly flat series (d = 0) from flagging wiggles smaller than k tenths of
  a percent of its level (k * 1e-9 when the level is zero);
- band: m - k * s .. m + k * s. A point outside the band is anomalous.

Learning: a point is learned winsorised, with its residual r = x - m clipped
to the band, c = clip(r, -k * s, k * s): m += a * c and d += a * (|c| - d).
So however far out an outlier is, it moves the baseline by at most a * k * s
(0.2 sigma at the defaults). Winsorising rather than skipping outliers lets a
band that is too narrow (a series that was flat and became noisy) widen
again, by up to a fifth per flagged point.

Warm-up: the first ``warmup`` points are never flagged. They are learned at
the rate max(a, 1 / n) for the n-th point, so m and d start as plain running
means (no arbitrary start value to forget) and become the EWMA. They are
winsorised like the rest once the scale is not zero: until two points differ,
there is nothing to clip by.

Spikes and level shifts: a run is a sequence of out-of-band points in a row on
the same side of the band. While a run is open, the baseline and the scale are
frozen, so all the run's points are judged against the band from before the
run. Each point of a run is reported as a ``spike`` until the run reaches
``shift_points`` points. That point is reported, once, as a ``level_shift``,
and the detector adopts the new level, so it stops alarming: m becomes the
mean of the run's points and d becomes at least their spread (their sample
standard deviation * sqrt(2 / pi)), in case the new level is noisier too (a
series that was flat at zero, then active). A run that ends sooner (with an
in-band point, or an out-of-band one on the other side) was spikes. Its
points are then learned winsorised, as if at the band's edge.

A level shift of less than about (k + 2) * s leaves some of its points inside
the old band, so it may never give ``shift_points`` out-of-band points in a
row: it is then reported as spikes, and the baseline follows it by
winsorised learning.

False positives at the defaults (k = 4, warmup 30, a = 0.05, shift_points 5),
on clean Gaussian noise: about 0.03% of points (0.026% to 0.030% on three
seeds of 1,000,000 points; ``benchmarks/anomaly.py`` measures one), and
``tests/test_anomaly.py`` asserts < 0.05% on 100,000 points. Exact estimates
would give the Gaussian tail, 0.0063% beyond 4 sigma; the rest comes from the
noise in the estimates of m and s, which see only about 2 / a points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ff_otel.alerting.scoring import AnomalyScorer

_STATE_VERSION = 2
# sigma = sqrt(pi / 2) * E|x - mean| for Gaussian noise.
_SIGMA_PER_ABS_DEVIATION = math.sqrt(math.pi / 2)
# The floor on the scale. Relative, because "tiny" depends on the level;
# absolute, for a series that is flat at zero (float rounding, no more).
_RELATIVE_FLOOR = 1e-3
_ABSOLUTE_FLOOR = 1e-9


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One anomalous point and the band it fell outside."""

    kind: str  # "spike" or "level_shift"
    value: float
    expected_low: float
    expected_high: float
    baseline: float
    deviation: float  # the robust scale s the band was built from
    points_seen: int  # this point's number in the series, from 1
    score: float  # the point's anomaly score in [0, 1] (``AnomalyScorer``)


class AnomalyDetector:
    """Streaming robust detector for one series, in constant memory."""

    __slots__ = (
        "_abs_deviation",
        "_alpha",
        "_baseline",
        "_run_length",
        "_run_side",
        "_run_square_sum",
        "_run_sum",
        "_scorer",
        "_sensitivity",
        "_shift_points",
        "_warmup",
        "points_seen",
        "score",
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
        self._run_side = 0  # +1: the open run is above the band, -1 below, 0: no run
        # Sums of the open run's residuals from the baseline, frozen during the run.
        self._run_length = 0
        self._run_sum = 0.0
        self._run_square_sum = 0.0
        self._scorer = AnomalyScorer(alpha=self._alpha, warmup=self._warmup)
        self.score = 0.0

    def update(self, value: float, timestamp: float | None = None) -> Anomaly | None:
        """Learn ``value``; return the anomaly it is, or None if it is normal.

        ``timestamp`` (epoch seconds) lets the score use time-of-day seasonality.
        Non-finite values (NaN, infinities) are not measurements: they are
        ignored and not counted (``score`` is then 0).
        """
        if not math.isfinite(value):
            self.score = 0.0
            return None
        self.score = self._scorer.update(value, timestamp)
        n = self.points_seen = self.points_seen + 1
        baseline = self._baseline
        residual = value - baseline
        if n <= self._warmup:
            self._warm_up(value, residual, n)
            return None
        half_width = self._half_width()
        if not -half_width <= residual <= half_width:
            return self._out_of_band(value, baseline, half_width)
        if self._run_side:
            self._close_run()
            self._learn(value - self._baseline, self._alpha)
            return None
        # The common case, an in-band point: no clipping to do. This is
        # written out inline because it is most of the cost per point.
        alpha = self._alpha
        self._baseline = baseline + alpha * residual
        self._abs_deviation += alpha * (abs(residual) - self._abs_deviation)
        return None

    def band(self) -> tuple[float, float] | None:
        """The band that the next point will be judged against, or None during warm-up."""
        if self.points_seen < self._warmup:
            return None
        half_width = self._half_width()
        return self._baseline - half_width, self._baseline + half_width

    def to_state(self) -> dict[str, Any]:
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
            "run_square_sum": self._run_square_sum,
            "scorer": self._scorer.to_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AnomalyDetector:
        """A detector that continues exactly where the one that wrote ``state`` stopped."""
        if state.get("version") not in (1, _STATE_VERSION):
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
        detector._run_square_sum = float(state["run_square_sum"])
        # A version 1 state had no scorer: the score learns afresh (its own warm-up).
        if "scorer" in state:
            detector._scorer = AnomalyScorer.from_state(state["scorer"])
        return detector

    def _half_width(self) -> float:
        scale = max(
            _SIGMA_PER_ABS_DEVIATION * self._abs_deviation,
            _RELATIVE_FLOOR * abs(self._baseline),
            _ABSOLUTE_FLOOR,
        )
        return self._sensitivity * scale

    def _learn(self, residual: float, rate: float) -> None:
        limit = self._half_width()
        clipped = min(max(residual, -limit), limit)
        self._baseline += rate * clipped
        self._abs_deviation += rate * (abs(clipped) - self._abs_deviation)

    def _warm_up(self, value: float, residual: float, n: int) -> None:
        if n == 1:
            self._baseline = value
            return
        rate = max(self._alpha, 1.0 / n)
        if self._abs_deviation > 0:
            self._learn(residual, rate)
            return
        # Every point so far was the same, so there is no scale to clip by yet.
        # Clipping to the floor would hold the band far too narrow.
        self._baseline += rate * residual
        self._abs_deviation = rate * abs(residual)

    def _out_of_band(self, value: float, baseline: float, half_width: float) -> Anomaly:
        side = 1 if value > baseline else -1
        if side != self._run_side:
            if self._run_side:
                self._close_run()
            self._run_side = side
        # From the baseline frozen for this run (moved if a run just closed).
        residual = value - self._baseline
        self._run_length += 1
        self._run_sum += residual
        self._run_square_sum += residual * residual
        kind = "spike"
        if self._run_length >= self._shift_points:
            kind = "level_shift"
            self._adopt_run()
        return Anomaly(
            kind=kind,
            value=value,
            expected_low=baseline - half_width,
            expected_high=baseline + half_width,
            baseline=baseline,
            deviation=half_width / self._sensitivity,
            points_seen=self.points_seen,
            score=self.score,
        )

    def _adopt_run(self) -> None:
        length = self._run_length
        mean = self._run_sum / length
        if length > 1:
            variance = max(self._run_square_sum / length - mean * mean, 0.0)
            spread = math.sqrt(variance * length / (length - 1)) / _SIGMA_PER_ABS_DEVIATION
            self._abs_deviation = max(self._abs_deviation, spread)
        self._baseline += mean
        self._reset_run()

    def _close_run(self) -> None:
        # The run was spikes. Learn each of its points as one at the band's
        # edge: an infinite residual is clipped to the edge.
        residual = self._run_side * math.inf
        for _ in range(self._run_length):
            self._learn(residual, self._alpha)
        self._reset_run()

    def _reset_run(self) -> None:
        self._run_side = 0
        self._run_length = 0
        self._run_sum = 0.0
        self._run_square_sum = 0.0
