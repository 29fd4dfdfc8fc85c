"""ff-otel's own alerting configuration beside the spec's ``FFAnalyticsAlertingConfigDTO``.

:class:`AlertRule` is one rule (``configure(alert_rules=[...])``): a series, a
comparison, a threshold, how long, and what to tell people; see
:mod:`ff_otel.alerting.rules` for the series a rule may watch and the built-in
rules. :class:`FFNotificationSettingsDTO` says how notifications reach people.
Both are configuration, validated with the rest of ``configure()``'s
settings, so they live here with the config models and not in the alerting
package that acts on them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ff_otel.spec.config import AlertSeverity

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
    """One alerting rule (``configure(alert_rules=[AlertRule(...)])``)."""

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


class FFNotificationSettingsDTO(BaseModel):
    """Where and how notifications go (env ``FF_OTEL_SMTP_HOST``, ``FF_OTEL_WEBHOOK_FORMAT``...)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "ff-otel@localhost"
    webhook_format: Literal["alertmanager_webhook", "alertmanager_api"] = "alertmanager_webhook"
    notify_timeout_seconds: float = Field(default=5.0, gt=0)
    notify_retries: int = Field(default=2, ge=0, le=10)
