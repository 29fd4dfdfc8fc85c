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

    name: str = Field(
        min_length=1,
        description=(
            "The rule's name: alerts carry it as `rule` (anomaly rules are `anomaly:<series>`)."
        ),
    )
    series: str = Field(
        min_length=1,
        description=(
            "What the rule watches: a snapshot field (`response_time_ms`, `cpu_usage_percent`, "
            "...), `error_rate_percent`, a per-component series (`component_error_rate_percent`, "
            "`component_response_time_ms`) or `metric:<name>`."
        ),
    )
    comparison: Comparison = Field(
        default=">", description="How the series' value is compared with `threshold`."
    )
    threshold: float = Field(description="The value the series is compared with.")
    for_seconds: float = Field(
        default=0.0,
        ge=0,
        description=(
            "How long the condition must hold before the alert fires (`pending` until then)."
        ),
    )
    severity: AlertSeverity = Field(
        default=AlertSeverity.WARNING,
        description="Severity of the alert (`info`, `warning`, `error`, `critical`).",
    )
    alert_type: str = Field(
        default="performance",
        description="The alert's `alert_type` (`performance`, `error`, `capacity`, ...).",
    )
    component: str | None = Field(
        default=None, description="Watch only this component (for a per-component series)."
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels added to the alert, for silences and notification receivers.",
    )
    recommended_actions: list[str] = Field(
        default_factory=list,
        description="Actions the alert recommends (`recommended_actions` in the alert record).",
    )
    runbook_url: str | None = Field(
        default=None,
        description=(
            "A runbook link: the alert's `documentation_links`; in notifications, `runbook_url`."
        ),
    )

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

    smtp_host: str = Field(
        default="localhost", description="SMTP server that alert e-mails are sent through."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_username: str | None = Field(
        default=None, description="User name for SMTP authentication (none: no login)."
    )
    smtp_password: str | None = Field(default=None, description="Password for SMTP authentication.")
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP connection with STARTTLS before logging in."
    )
    smtp_from: str = Field(
        default="ff-otel@localhost", description="Sender address of alert e-mails."
    )
    webhook_format: Literal["alertmanager_webhook", "alertmanager_api"] = Field(
        default="alertmanager_webhook",
        description=(
            "`alertmanager_webhook`: Alertmanager's webhook payload (version 4) to each URL; "
            "`alertmanager_api`: the alerts posted to an Alertmanager's `/api/v2/alerts`."
        ),
    )
    notify_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Timeout of one delivery attempt (webhook or e-mail), in seconds.",
    )
    notify_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description=(
            "Further attempts after a failed delivery, with backoff, on the notifier thread."
        ),
    )
