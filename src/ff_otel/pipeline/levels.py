"""What each analytics level collects and stores (the README has the same table)."""

from __future__ import annotations

from dataclasses import dataclass

from ff_otel.config import AnalyticsLevel


@dataclass(frozen=True)
class LevelPolicy:
    performance_snapshots: bool
    error_summaries: bool
    process_metrics: bool
    top_errors: bool
    latency_percentiles: bool


_POLICIES = {
    AnalyticsLevel.MINIMAL: LevelPolicy(False, False, False, False, False),
    AnalyticsLevel.STANDARD: LevelPolicy(True, True, True, False, False),
    AnalyticsLevel.DETAILED: LevelPolicy(True, True, True, True, False),
    AnalyticsLevel.FULL: LevelPolicy(True, True, True, True, True),
}


def policy_for(level: str) -> LevelPolicy:
    return _POLICIES[AnalyticsLevel(level)]
