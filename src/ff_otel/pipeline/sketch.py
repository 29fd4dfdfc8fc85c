"""A mergeable latency sketch: log-spaced buckets with 1% relative accuracy.

Percentiles over days of spans cannot come from a list of every duration. A
value v > 0 falls in bucket ceil(log(v) / log(gamma)); each bucket counts its
values; a quantile is read by walking the buckets in order. Two sketches merge
by adding counts, so hourly sketches add up to exact-as-ever daily ones. Any
value is reported within 1% of a real value at that rank (the DDSketch idea).
"""

from __future__ import annotations

import math
from typing import Any

_ALPHA = 0.01
_GAMMA = (1 + _ALPHA) / (1 - _ALPHA)
LOG_GAMMA = math.log(_GAMMA)
"""A value v > 0 falls in bin ceil(log(v) / LOG_GAMMA) (SQL computes bins with it too)."""


def bin_sql(expression: str) -> str:
    """SQL for the bin of the value ``expression`` (NULL: zero and below), as
    :meth:`LatencySketch.add` files it; the counts per bin go to :meth:`LatencySketch.add_count`."""
    # A DOUBLE literal of 17 significant digits is LOG_GAMMA exactly.
    ratio = f"ln({expression}) / {LOG_GAMMA:.17e}"
    return f"CASE WHEN {expression} > 0 THEN CAST(ceil({ratio}) AS BIGINT) END"


def sketch_value(index: int) -> float:
    """The value a sketch reports for bin ``index``: the bin's midpoint in relative terms."""
    return 2 * _GAMMA**index / (_GAMMA + 1)


class LatencySketch:
    """Counts of values per log-spaced bucket (plus zero and below)."""

    __slots__ = ("bins", "count", "zero")

    def __init__(self) -> None:
        self.bins: dict[int, int] = {}
        self.zero = 0
        self.count = 0

    def add(self, value: float) -> None:
        self.count += 1
        if value <= 0:
            self.zero += 1
            return
        index = math.ceil(math.log(value) / LOG_GAMMA)
        self.bins[index] = self.bins.get(index, 0) + 1

    def add_count(self, index: int | None, count: int) -> None:
        """Add ``count`` values of bin ``index`` (None: zero and below), as counted in SQL."""
        self.count += count
        if index is None:
            self.zero += count
        else:
            self.bins[index] = self.bins.get(index, 0) + count

    def merge(self, other: LatencySketch) -> None:
        self.count += other.count
        self.zero += other.zero
        bins = self.bins
        for index, count in other.bins.items():
            bins[index] = bins.get(index, 0) + count

    def quantile(self, q: float) -> float | None:
        """The value at quantile ``q`` (0..1), or None for an empty sketch."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))
        if rank <= self.zero:
            return 0.0
        seen = self.zero
        for index in sorted(self.bins):
            seen += self.bins[index]
            if seen >= rank:
                return sketch_value(index)
        return sketch_value(max(self.bins))

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "zero": self.zero,
            "bins": {str(k): v for k, v in self.bins.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LatencySketch:
        sketch = cls()
        sketch.count = int(data.get("count", 0))
        sketch.zero = int(data.get("zero", 0))
        sketch.bins = {int(k): int(v) for k, v in (data.get("bins") or {}).items()}
        return sketch
