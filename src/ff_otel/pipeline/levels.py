"""What the collector stores: the analytics level, narrowed by the config's switches.

The README has the same tables. The level sets what each interval stores; the
switches of ``FFAnalyticsConfigDTO`` then turn parts off
(``enable_performance_monitoring``, ``track_error_rates``,
``track_response_times``), and decide which business-intelligence figures are
computed at all (:func:`withheld_bi_fields`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ff_otel.spec.config import FFAnalyticsConfigDTO
from ff_otel.spec.enums import AnalyticsLevel


@dataclass(frozen=True)
class LevelPolicy:
    performance_snapshots: bool
    error_summaries: bool
    process_metrics: bool
    top_errors: bool
    latency_percentiles: bool
    response_times: bool = True


_POLICIES = {
    AnalyticsLevel.MINIMAL: LevelPolicy(False, False, False, False, False),
    AnalyticsLevel.STANDARD: LevelPolicy(True, True, True, False, False),
    AnalyticsLevel.DETAILED: LevelPolicy(True, True, True, True, False),
    AnalyticsLevel.FULL: LevelPolicy(True, True, True, True, True),
}


def policy_for(analytics: FFAnalyticsConfigDTO) -> LevelPolicy:
    """The level's policy with the switches applied."""
    level = _POLICIES[AnalyticsLevel(analytics.analytics_level)]
    monitoring = analytics.enable_performance_monitoring
    return dataclasses.replace(
        level,
        performance_snapshots=level.performance_snapshots and monitoring,
        error_summaries=level.error_summaries and monitoring and analytics.track_error_rates,
        response_times=analytics.track_response_times,
    )


_FEATURE_FIELDS = {"most_used_features", "feature_adoption_rates", "feature_abandonment_rates"}
_SESSION_FIELDS = {"average_session_duration_minutes", "user_satisfaction_trends"}
_TREND_FIELDS = {
    "user_growth_rate_percent",
    "resource_utilization_trends",
    "user_satisfaction_trends",
    "retention_cohorts",
}


def withheld_bi_fields(analytics: FFAnalyticsConfigDTO) -> set[str]:
    """Business-intelligence figures the switches leave uncomputed (absent from every result)."""
    withheld: set[str] = set()
    if not analytics.track_feature_usage:
        withheld |= _FEATURE_FIELDS
    if not analytics.track_session_quality:
        withheld |= _SESSION_FIELDS
    if not analytics.enable_trend_analysis:
        withheld |= _TREND_FIELDS
    if not analytics.enable_predictive_analytics:
        withheld.add("projected_growth_30_days")
    return withheld
