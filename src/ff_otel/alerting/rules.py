"""Alert rules: a series, a comparison, a threshold, how long, and what to tell people.

A rule watches one *series* of the interval snapshot (``FFSystemMetricsDTO``
fields such as ``memory_usage_percent`` or ``response_time_ms``; ``error_rate_percent``
is 100 - ``success_rate_percent``), a per-component series
(``component_error_rate_percent``, ``component_response_time_ms``: one alert per
component), or an application metric (``metric:<name>``: a counter's or
histogram's total in the interval, a gauge's latest value). The condition must
hold for ``for_seconds`` before the alert fires (Prometheus' ``for``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ff_otel.config import AlertSeverity, FFAnalyticsAlertingConfigDTO

Comparison = Literal[">", ">=", "<", "<=", "==", "!="]
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
PER_COMPONENT_SERIES = ("component_error_rate_percent", "component_response_time_ms")


class AlertRule(BaseModel):
    """One alerting rule (``configure(alert_rules=[AlertRule(...)])``).

    ``series`` is what it watches: a field of the interval snapshot
    (``FFSystemMetricsDTO``: ``memory_usage_percent``, ``response_time_ms``, ...;
    ``error_rate_percent`` is 100 - ``success_rate_percent``), a per-component
    series (``component_error_rate_percent``, ``component_response_time_ms``: one
    alert per component, or for ``component`` alone when it is set), or an
    application metric (``metric:<name>``: a counter's or histogram's total in the
    interval, a gauge's latest value). The alert fires once ``value <comparison>
    threshold`` has held for ``for_seconds`` (0: at the first interval it holds),
    with the spec's ``severity`` and ``alert_type``. Silences match ``labels``
    (besides the rule's name, component, severity and alert type);
    ``recommended_actions`` and ``runbook_url`` travel with the alert into
    ``alerts.jsonl`` and every notification.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True)

    name: str = Field(min_length=1)
    series: str = Field(min_length=1)
    comparison: Comparison = ">"
    threshold: float
    for_seconds: float = Field(default=0.0, ge=0)
    severity: AlertSeverity = AlertSeverity.WARNING
    alert_type: str = "performance"
    component: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    recommended_actions: list[str] = Field(default_factory=list)
    runbook_url: str | None = None

    @field_validator("series")
    @classmethod
    def _known_kind_of_series(cls, value: str) -> str:
        if value.startswith("metric:") and len(value) <= len("metric:"):
            raise ValueError("metric: series needs a metric name, e.g. metric:llm.latency")
        return value

    @property
    def per_component(self) -> bool:
        return self.series in PER_COMPONENT_SERIES

    def holds(self, value: float) -> bool:
        return COMPARISONS[self.comparison](value, self.threshold)


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
