"""The built-in alert rules, and the series an :class:`~ff_otel.AlertRule` may watch.

A rule watches one *series* of the interval snapshot (``FFSystemMetricsDTO``
fields such as ``memory_usage_percent`` or ``response_time_ms``; ``error_rate_percent``
is 100 - ``success_rate_percent``), a per-component series
(``component_error_rate_percent``, ``component_response_time_ms``: one alert per
component), or an application metric (``metric:<name>``: a counter's or
histogram's total in the interval, a gauge's latest value). The condition must
hold for ``for_seconds`` before the alert fires (Prometheus' ``for``).
"""

from __future__ import annotations

from ff_otel.spec.alerting_config import AlertRule, FFAnalyticsAlertingConfigDTO
from ff_otel.spec.enums import AlertSeverity


def builtin_rules(alerting: FFAnalyticsAlertingConfigDTO, interval_seconds: int) -> list[AlertRule]:
    """The spec's thresholds as rules. Each must hold for two intervals before firing."""
    hold = 2 * interval_seconds
    return [
        AlertRule(
            name="high_error_rate",
            series="error_rate_percent",
            threshold=alerting.error_rate_threshold_percent,
            for_seconds=hold,
            severity=AlertSeverity.ERROR,
            alert_type="error",
            recommended_actions=["Look at error_rates.jsonl for the failing operations"],
        ),
        AlertRule(
            name="component_error_rate",
            series="component_error_rate_percent",
            threshold=alerting.error_rate_threshold_percent,
            for_seconds=hold,
            severity=AlertSeverity.ERROR,
            alert_type="error",
            recommended_actions=["Check the component's recent failed spans and dependencies"],
        ),
        AlertRule(
            name="slow_responses",
            series="response_time_ms",
            threshold=alerting.response_time_threshold_ms,
            for_seconds=hold,
            recommended_actions=["Find the slowest operations with ff_otel.query('spans')"],
        ),
        AlertRule(
            name="component_slow",
            series="component_response_time_ms",
            threshold=alerting.response_time_threshold_ms,
            for_seconds=hold,
            recommended_actions=["Profile the component; check its downstream calls"],
        ),
        AlertRule(
            name="high_memory_usage",
            series="memory_usage_percent",
            threshold=alerting.memory_usage_threshold_percent,
            for_seconds=hold,
            alert_type="capacity",
            recommended_actions=["Find what holds memory; add memory or scale out"],
        ),
        AlertRule(
            name="high_disk_usage",
            series="disk_usage_percent",
            threshold=alerting.disk_usage_threshold_percent,
            for_seconds=hold,
            severity=AlertSeverity.ERROR,
            alert_type="capacity",
            recommended_actions=["Run retention; grow the volume holding the store"],
        ),
        AlertRule(
            name="auth_failure_burst",
            series="metric:security.auth_failure",
            comparison=">=",
            threshold=10,
            severity=AlertSeverity.ERROR,
            alert_type="security",
            recommended_actions=["Look at security_events.jsonl: a brute-force attempt?"],
        ),
        AlertRule(
            name="high_cpu_usage",
            series="cpu_usage_percent",
            threshold=90.0,
            for_seconds=hold,
            alert_type="capacity",
            recommended_actions=["Find the busy process; scale out"],
        ),
    ]
