"""Alerting configuration: the spec's ``FFAnalyticsAlertingConfigDTO`` and ff-otel's own beside it.

:class:`FFAnalyticsAlertingConfigDTO` holds the spec's thresholds, channels and
escalation. :class:`AlertRule` is one rule (``configure(alert_rules=[...])``):
a series, a comparison, a threshold, how long, and what to tell people; see
:mod:`ff_otel.alerting.rules` for the series a rule may watch and the built-in
rules. :class:`FFNotificationSettingsDTO` says how notifications reach people.
All are configuration, validated with the rest of ``configure()``'s settings,
so they live here with the config models and not in the alerting package that
acts on them.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ff_otel.spec.config_model import ConfigModel
from ff_otel.spec.enums import AlertSeverity

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


class FFAnalyticsAlertingConfigDTO(ConfigModel):
    """Alerting configuration for monitoring."""

    error_rate_threshold_percent: float = Field(
        default=5.0,
        gt=0,
        le=100,
        description=(
            "`high_error_rate` and `component_error_rate` fire above this error rate (failed "
            "requests ÷ requests); also a component's health threshold (degraded above it, "
            "unhealthy above twice it) and BI's bottleneck threshold."
        ),
    )
    response_time_threshold_ms: float = Field(
        default=5000.0,
        gt=0,
        description=(
            "`slow_responses` and `component_slow` fire when the interval's p95 exceeds this; also"
            " a component's health threshold and BI's bottleneck threshold."
        ),
    )
    memory_usage_threshold_percent: float = Field(
        default=85.0,
        gt=0,
        le=100,
        description=(
            "`high_memory_usage` fires above this share of host memory; BI's scaling "
            "recommendations use it too."
        ),
    )
    disk_usage_threshold_percent: float = Field(
        default=90.0,
        gt=0,
        le=100,
        description=(
            "`high_disk_usage` fires above this share of the store's volume; the `store` health "
            "check is degraded above it."
        ),
    )

    alert_cooldown_minutes: int = Field(
        default=15,
        ge=0,
        description=(
            "After an alert resolves, the same rule and component open no new alert for this long;"
            " a relapse re-fires the same alert without notifying again."
        ),
    )
    max_alerts_per_hour: int = Field(
        default=10,
        ge=1,
        description=(
            "New alerts beyond this many in an hour are recorded as `suppressed` (not notified) "
            "and one critical `alert_storm` alert says so."
        ),
    )
    escalation_delay_minutes: int = Field(
        default=30,
        ge=1,
        description=(
            "A firing alert nobody acknowledged escalates after each delay: severity up one level,"
            " `escalated=True`, notified again."
        ),
    )

    enable_email_alerts: bool = Field(
        default=False,
        description=(
            "Send alert notifications by e-mail over SMTP to `email_recipients` (server settings: "
            "the notifications settings)."
        ),
    )
    enable_webhook_alerts: bool = Field(
        default=False,
        description=(
            "Post alert notifications to `webhook_urls` as Alertmanager's webhook payload (or its "
            "`/api/v2/alerts`, per `webhook_format`)."
        ),
    )
    enable_log_alerts: bool = Field(
        default=True,
        description="Write each alert notification as a log line at `alert_log_level`.",
    )

    email_recipients: list[str] = Field(
        default_factory=list, description="Addresses that alert e-mails go to."
    )
    webhook_urls: list[str] = Field(
        default_factory=list,
        description="`http://` or `https://` URLs that alert notifications are posted to.",
    )
    alert_log_level: str = Field(
        default="WARNING", description="Logging level of the log-line notifications."
    )

    @field_validator("email_recipients")
    @classmethod
    def _emails_have_a_domain(cls, value: list[str]) -> list[str]:
        for address in value:
            local, _, domain = address.partition("@")
            if not local or "." not in domain:
                raise ValueError(f"not an email address: {address!r}")
        return value

    @field_validator("webhook_urls")
    @classmethod
    def _webhooks_are_http(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"webhook URL must start with http:// or https://: {url!r}")
        return value

    @field_validator("alert_log_level")
    @classmethod
    def _is_a_logging_level(cls, value: str) -> str:
        level = value.upper()
        if not isinstance(logging.getLevelName(level), int):
            raise ValueError(f"unknown logging level {value!r}")
        return level
