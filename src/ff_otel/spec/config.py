"""The spec's configuration DTOs as validated pydantic models.

Field names and defaults are exactly the spec's. Validation rejects values
that cannot work (a zero collection interval, a sampling rate above 1) with
an error that names the field, instead of failing later on a background
thread where nobody sees it.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class AnalyticsLevel(StrEnum):
    """Analytics collection levels."""

    MINIMAL = "minimal"
    STANDARD = "standard"
    DETAILED = "detailed"
    FULL = "full"


class AggregationPeriod(StrEnum):
    """Data aggregation time periods."""

    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class AlertSeverity(StrEnum):
    """Alert severity levels."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


REPORT_FORMATS = ("json", "csv")


class _ConfigModel(BaseModel):
    """Base of every config DTO: unknown fields are errors, assignment is validated."""

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        validate_default=True,
        use_enum_values=True,
    )

    def to_dict(self) -> dict[str, Any]:
        """The DTO as plain JSON-compatible data (the spec calls this ``to_dict``)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build and validate the DTO from plain data."""
        return cls.model_validate(data)


def parse_service(entry: str) -> tuple[str, int | None]:
    """An ``allowed_external_services`` entry as (lower-case host, port or None).

    Raises ``ValueError`` naming the entry when it names no host.
    """
    text = entry.strip()
    url = text if "://" in text else f"//{text}"
    try:
        parsed = urlsplit(url)
        host, port = parsed.hostname, parsed.port
    except ValueError:
        host = None
    if not host or ("://" not in text and parsed.path):
        raise ValueError(f"not a host, host:port or URL: {entry!r}")
    return host, port


class FFAnalyticsPrivacyConfigDTO(_ConfigModel):
    """Privacy configuration for analytics collection."""

    anonymize_user_data: bool = Field(
        default=True,
        description=(
            "Store user ids as keyed pseudonyms (HMAC with the store's key). Off stores raw user "
            "ids, as the spec's sketch did, and records an `anonymization_disabled` privacy event "
            "whenever a process starts with it."
        ),
    )
    hash_user_identifiers: bool = Field(
        default=True,
        description=(
            "Replace identifier attributes (`user.id`, `user_id`, `email`, `session.id`, ...) and "
            "session ids with their pseudonyms, so data stays joinable. Off leaves them as they "
            "are and records an `identifier_hashing_disabled` privacy event."
        ),
    )
    exclude_sensitive_content: bool = Field(
        default=True,
        description=(
            "Redact content keys (`content`, `body`, `text`, `prompt`, `completion`, `transcript`)"
            " as `[REDACTED:content excluded]` in every scrubbed record."
        ),
    )

    raw_data_retention_days: int = Field(
        default=30,
        ge=1,
        description=(
            "Days the raw class (`system_metrics/`, `user_analytics/`) is kept; older segments are"
            " deleted whole by the hourly retention run."
        ),
    )
    aggregated_data_retention_days: int = Field(
        default=365,
        ge=1,
        description="Days the aggregated class (`business_intelligence/`, `reports/`) is kept.",
    )
    compliance_data_retention_days: int = Field(
        default=2555,
        ge=1,
        description=(
            "Days the compliance class (`compliance/`: audit trail, privacy and security events) "
            "is kept."
        ),
    )

    allow_user_opt_out: bool = Field(
        default=True,
        description=(
            "Let `opt_out(user_id)` stop a user's events being stored; off makes `opt_out` return "
            "False."
        ),
    )
    require_explicit_consent: bool = Field(
        default=False, description="Store nothing for a user until `opt_in(user_id)`."
    )
    honor_do_not_track: bool = Field(
        default=True,
        description='Do not store an event whose data has `"dnt": true` (or `do_not_track`).',
    )

    enable_external_analytics: bool = Field(
        default=False,
        description=(
            "Let user events (`ff.user_event` log records) reach exporters beside the store (the "
            "OTLP collector, `OTEL_LOGS_EXPORTER`'s). Off: they stay in the store; spans, metrics "
            "and other logs still go."
        ),
    )
    allowed_external_services: list[str] = Field(
        default_factory=list,
        description=(
            "With external analytics on: the collectors that may receive user events (`host`, "
            "`host:port`, `*.example.com` or a URL); empty means every collector."
        ),
    )
    data_export_restrictions: list[str] = Field(
        default_factory=list,
        description=(
            "Streams (by name or path under `analytics/`) and categories that `export_data` / `ff-"
            "otel export` refuse, each refusal audited."
        ),
    )
    # ff-otel's own, after the spec's fields:
    ip_address_handling: Literal["truncate", "keep", "drop"] = Field(
        default="truncate",
        description=(
            "IP addresses in client-address attributes and free text: `truncate` zeroes the last "
            "IPv4 octet and the last 80 IPv6 bits, `drop` redacts them, `keep` keeps them."
        ),
    )

    @field_validator("allowed_external_services")
    @classmethod
    def _services_name_a_host(cls, value: list[str]) -> list[str]:
        # An entry that names no host would silently match nothing.
        for entry in value:
            parse_service(entry)
        return value


class FFAnalyticsAlertingConfigDTO(_ConfigModel):
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


class FFAnalyticsConfigDTO(_ConfigModel):
    """Configuration for analytics and monitoring system."""

    analytics_level: AnalyticsLevel = Field(
        default=AnalyticsLevel.STANDARD,
        description=(
            "How much is collected and stored: `minimal` (spans, metrics, logs, resources, "
            "health), `standard` (+ snapshots, interval summaries, `process.*` metrics), "
            "`detailed` (+ top errors per component), `full` (+ p50/p95/p99 per component)."
        ),
    )
    collection_interval_seconds: int = Field(
        default=60,
        ge=1,
        description=(
            "Seconds between metric collections and pipeline ticks (snapshots, health, alert "
            "rules); the store's batch delay is half of it, at most 5 s."
        ),
    )
    enable_real_time_metrics: bool = Field(
        default=True,
        description=(
            "`FFMetricsCollectionManager.initialize_analytics_system()` also starts continuous "
            "collection, as in the spec."
        ),
    )

    aggregation_periods: list[AggregationPeriod] = Field(
        default_factory=lambda: [
            AggregationPeriod.HOUR,
            AggregationPeriod.DAY,
            AggregationPeriod.WEEK,
        ],
        description=(
            "Recorded in the store's manifest; time grouping is chosen per question "
            "(`time:minute`, `time:hour`, `time:day`, `time:week`, `time:month`)."
        ),
    )
    aggregation_delay_minutes: int = Field(
        default=5,
        ge=0,
        description=(
            "Minutes after a day, week or month ends before its scheduled report is written, so "
            "late records are in."
        ),
    )

    enable_performance_monitoring: bool = Field(
        default=True,
        description=(
            "Store `performance.jsonl` snapshots and `interval_summary` records. Off: neither is "
            "stored; health checks, resource readings and alert rules still run on every interval."
        ),
    )
    track_response_times: bool = Field(
        default=True,
        description=(
            "Keep `response_time_ms`, `component_response_times` and `component_latency_ms` in "
            "stored snapshots and summaries. Off: those fields are absent (spans keep "
            "`duration_ms`)."
        ),
    )
    track_resource_usage: bool = Field(
        default=True,
        description=(
            "Read host and process resources with psutil. Off is the same as "
            "`system_metrics=False`: no `resource_usage.jsonl`, no `system.*`/`process.*` metrics,"
            " no resource fields in snapshots."
        ),
    )
    track_error_rates: bool = Field(
        default=True,
        description=(
            "Write an `interval_summary` record to `error_rates.jsonl` each interval (the "
            "`span_error`/`log_error` records are always written)."
        ),
    )

    enable_user_analytics: bool = Field(
        default=True,
        description=(
            "Record user events. Off: `record_user_event` returns False, and feature use, sessions"
            " and BI's user figures stop with it."
        ),
    )
    track_user_behavior: bool = Field(
        default=True,
        description=(
            "Store user events (the behaviour everything user-related is derived from); off has "
            "the same effect as `enable_user_analytics=False`."
        ),
    )
    track_feature_usage: bool = Field(
        default=True,
        description=(
            "Derive feature use from the features an event reports: `feature_usage.jsonl`, "
            "`features_used` in events and sessions, BI's feature fields and the reports' "
            "`features` section."
        ),
    )
    track_session_quality: bool = Field(
        default=True,
        description=(
            "Track sessions: `session_analytics.jsonl`, `engagement_metrics.jsonl`, "
            "`active_sessions`/`concurrent_users`/`user_satisfaction_score` in snapshots, BI's "
            "session and satisfaction figures."
        ),
    )

    enable_business_intelligence: bool = Field(
        default=True,
        description=(
            "Compute business intelligence: off, `generate_business_intelligence()` returns an "
            "empty DTO and `ff-otel bi` refuses."
        ),
    )
    generate_usage_reports: bool = Field(
        default=True,
        description=(
            "Write scheduled reports at all (with the daily, weekly and monthly switches). Off: "
            "none are scheduled; `generate_report()` and `ff-otel report` still write one on "
            "demand."
        ),
    )
    enable_trend_analysis: bool = Field(
        default=True,
        description=(
            "Compute BI's growth rate, resource and satisfaction trends and retention cohorts."
        ),
    )
    enable_predictive_analytics: bool = Field(
        default=False,
        description=(
            "Compute BI's `projected_growth_30_days` and the forecasts in "
            "`scaling_recommendations` (least-squares lines 30 days ahead)."
        ),
    )

    privacy_config: FFAnalyticsPrivacyConfigDTO = Field(
        default_factory=FFAnalyticsPrivacyConfigDTO,
        description="Privacy: pseudonymisation, scrubbing, consent, retention, external analytics.",
    )
    alerting_config: FFAnalyticsAlertingConfigDTO = Field(
        default_factory=FFAnalyticsAlertingConfigDTO,
        description="Alert thresholds, noise control and notification channels.",
    )

    enable_data_compression: bool = Field(
        default=True,
        description=(
            "Compact sealed segments of the analytics streams to Parquet and gzip other segments "
            "older than `compression_age_days`."
        ),
    )
    compression_age_days: int = Field(
        default=7,
        ge=1,
        description=(
            "Age in days after which sealed segments not compacted to Parquet become `.jsonl.gz`."
        ),
    )
    enable_data_sampling: bool = Field(
        default=False,
        description=(
            "Keep or drop whole users by their pseudonym at `sampling_rate` (and traces with "
            "`ParentBased(TraceIdRatioBased(sampling_rate))`); off, the standard "
            "`OTEL_TRACES_SAMPLER` applies."
        ),
    )
    sampling_rate: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Share of users (and traces) kept when sampling is on, from 0 to 1.",
    )

    generate_daily_reports: bool = Field(
        default=True,
        description="Write the report of each complete calendar day to `analytics/reports/day/`.",
    )
    generate_weekly_reports: bool = Field(
        default=True,
        description="Write the report of each complete ISO week to `analytics/reports/week/`.",
    )
    generate_monthly_reports: bool = Field(
        default=True,
        description="Write the report of each complete month to `analytics/reports/month/`.",
    )
    report_output_formats: list[str] = Field(
        default_factory=lambda: ["json", "csv"],
        description=(
            "Formats each report is written in: `json` (sections) and/or `csv` "
            "(`section,metric,value` rows)."
        ),
    )

    @field_validator("report_output_formats")
    @classmethod
    def _known_formats(cls, value: list[str]) -> list[str]:
        unknown = [fmt for fmt in value if fmt not in REPORT_FORMATS]
        if unknown:
            raise ValueError(f"unknown report format(s) {unknown}; known: {list(REPORT_FORMATS)}")
        return value


class FFStorageConfigDTO(_ConfigModel):
    """Where the flatfile store lives: ``analytics/`` is created under ``base_path``."""

    base_path: Path = Field(
        default=Path("./ff_data"),
        description="Store root: the store's files are under `<base_path>/analytics/`.",
    )


class FFBusinessInputsDTO(_ConfigModel):
    """Money figures for the BI cost and ROI fields, per 30 days; absent gives absent outputs."""

    monthly_cost: float | None = Field(
        default=None,
        ge=0,
        description=(
            "What running the service costs per 30 days, for BI's `cost_per_user` and ROI figures;"
            " absent without it."
        ),
    )
    monthly_revenue: float | None = Field(
        default=None,
        ge=0,
        description=(
            "What the service earns per 30 days, for BI's `revenue_per_user` and ROI figures; "
            "absent without it."
        ),
    )


class FFConfigurationManagerConfigDTO(_ConfigModel):
    """The host application's configuration, as the spec's manager receives it."""

    storage: FFStorageConfigDTO = Field(
        default_factory=FFStorageConfigDTO, description="Where the store lives."
    )
    analytics: FFAnalyticsConfigDTO = Field(
        default_factory=FFAnalyticsConfigDTO,
        description=(
            "What is collected, stored, alerted on and reported (the spec's analytics "
            "configuration)."
        ),
    )
    business: FFBusinessInputsDTO = Field(
        default_factory=FFBusinessInputsDTO,
        description="Business inputs for BI's cost and ROI figures.",
    )
