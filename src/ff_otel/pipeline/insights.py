"""Trend figures and recommendations derived from the BI window's figures.

The thresholds are the alerting config's (CPU: 90%, as the spec's sketch
uses), so a recommendation and an alert never disagree about what is too much.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ff_otel.spec.config import FFAnalyticsConfigDTO
from ff_otel.spec.models import FFBusinessIntelligenceDTO

CPU_THRESHOLD = 90.0
ABANDONMENT_WORTH_NOTING = 50.0
LOW_ADOPTION = 5.0
UNDERUSED_CPU = 20.0


def fit(values: list[float]) -> tuple[float, float]:
    """Least-squares intercept and slope of values over 0..n-1."""
    n = len(values)
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    spread = sum((x - mean_x) ** 2 for x in range(n))
    slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / spread
    return mean_y - slope * mean_x, slope


def projected_growth(daily_active: list[int]) -> float | None:
    if len(daily_active) < 2:
        return None
    intercept, slope = fit([float(v) for v in daily_active])
    now = intercept + slope * (len(daily_active) - 1)
    if now <= 0:
        return None
    return round(100 * (slope * 30) / now, 3)


def scaling_recommendations(
    trends: dict[str, list[float]],
    projected_growth_percent: float | None,
    period: str,
    analytics: FFAnalyticsConfigDTO,
    stop: datetime,
) -> list[str]:
    """Resources over their threshold now; with ``enable_predictive_analytics``, forecasts too.

    The forecasts are a resource's least-squares line reaching its threshold
    within 30 days (with the date) and daily active users projected to grow
    50% or more (``projected_growth_percent``, None when not computed).
    """
    alerting = analytics.alerting_config
    limits = {
        "cpu_usage_percent": CPU_THRESHOLD,
        "memory_usage_percent": alerting.memory_usage_threshold_percent,
        "disk_usage_percent": alerting.disk_usage_threshold_percent,
    }
    predictive = analytics.enable_predictive_analytics
    advice: list[str] = []
    for name, limit in limits.items():
        points = trends.get(name) or []
        if not points:
            continue
        latest = points[-1]
        if latest >= limit:
            advice.append(
                f"{name} at {latest:.1f}%, over its {limit:g}% threshold: add capacity now"
            )
            continue
        if not predictive or len(points) < 2:
            continue
        _, slope = fit(points)
        if slope <= 0:
            continue
        steps = (limit - latest) / slope
        step = timedelta(hours=1) if period == "day" else timedelta(days=1)
        reach = stop + steps * step
        if reach - stop <= timedelta(days=30):
            advice.append(
                f"{name} rising {slope:.2f} points per {'hour' if step.seconds else 'day'} "
                f"from {latest:.1f}%: reaches {limit:g}% around {reach.date().isoformat()}; "
                "plan capacity"
            )
    if projected_growth_percent is not None and projected_growth_percent >= 50:
        advice.append(
            f"daily active users projected +{projected_growth_percent:.0f}% in 30 days: "
            "plan capacity for the growth"
        )
    return advice


def cost_opportunities(cpu_sum: float, cpu_count: float, cpu_peak: float | None) -> list[str]:
    """A smaller host would do: CPU averaged under 20% and never reached 40% in the window."""
    if cpu_peak is None or not cpu_count:
        return []
    mean = cpu_sum / cpu_count
    if cpu_peak < UNDERUSED_CPU * 2 and mean < UNDERUSED_CPU:
        return [
            f"CPU averaged {mean:.1f}% (peak {cpu_peak:.1f}%) over the window: "
            "the host could be smaller"
        ]
    return []


def performance_bottlenecks(
    components: dict[str, dict[str, Any]], analytics: FFAnalyticsConfigDTO
) -> list[str]:
    alerting = analytics.alerting_config
    found: list[tuple[float, str]] = []
    for name, c in components.items():
        p95 = c["latency"].quantile(0.95) or 0.0
        rate = 100 * c["errors"] / c["count"] if c["count"] else 0.0
        reasons = []
        if p95 > alerting.response_time_threshold_ms:
            reasons.append(f"p95 {p95:.0f} ms > {alerting.response_time_threshold_ms:g} ms")
        if rate > alerting.error_rate_threshold_percent:
            reasons.append(f"{rate:.1f}% errors > {alerting.error_rate_threshold_percent:g}%")
        if reasons:
            found.append((p95, f"{name}: {'; '.join(reasons)} over {c['count']} spans"))
    return [text for _, text in sorted(found, key=lambda item: -item[0])]


def experience_improvements(
    dto: FFBusinessIntelligenceDTO,
    previous_users: dict[str, int],
    components: dict[str, dict[str, Any]],
    analytics: FFAnalyticsConfigDTO,
) -> list[str]:
    advice = []
    for name, rate in sorted(dto.feature_abandonment_rates.items(), key=lambda i: -i[1]):
        if rate >= ABANDONMENT_WORTH_NOTING:
            users = previous_users[name]
            advice.append(
                f"feature {name!r}: {rate:.0f}% of the previous window's {users} users "
                "did not use it again"
            )
    for name, rate in sorted(dto.feature_adoption_rates.items(), key=lambda i: i[1]):
        if rate < LOW_ADOPTION:
            advice.append(f"feature {name!r} reaches only {rate:.1f}% of active users")
    threshold = analytics.alerting_config.response_time_threshold_ms
    for name, c in sorted(components.items()):
        p95 = c["latency"].quantile(0.95) or 0.0
        if p95 > threshold:
            advice.append(f"users wait on {name}: p95 {p95:.0f} ms (threshold {threshold:g} ms)")
    return advice


def churn_signals(before: int, dormant: int, dto: FFBusinessIntelligenceDTO) -> list[str]:
    """``before``: users active in the previous window; ``dormant``: those not active now."""
    signals = []
    if before and dormant:
        share = 100 * dormant / before
        signals.append(
            f"{dormant} of {before} users active in the previous window "
            f"were not active in this one ({share:.0f}%)"
        )
    if dto.user_growth_rate_percent < 0:
        signals.append(
            f"active users fell {-dto.user_growth_rate_percent:.1f}% vs the previous window"
        )
    return signals
