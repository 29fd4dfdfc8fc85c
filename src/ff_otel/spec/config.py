"""The spec's configuration DTOs as validated pydantic models.

Field names and defaults are exactly the spec's. Validation rejects values
that cannot work (a zero collection interval, a sampling rate above 1) with
an error that names the field, instead of failing later on a background
thread where nobody sees it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from ff_otel.spec.alerting_config import FFAnalyticsAlertingConfigDTO
from ff_otel.spec.config_model import ConfigModel
from ff_otel.spec.enums import AggregationPeriod, AnalyticsLevel
from ff_otel.spec.privacy_config import FFAnalyticsPrivacyConfigDTO

REPORT_FORMATS = ("json", "csv")


class FFAnalyticsConfigDTO(ConfigModel):
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


class FFStorageConfigDTO(ConfigModel):
    """Where the flatfile store lives: ``analytics/`` is created under ``base_path``."""

    base_path: Path = Field(
        default=Path("./ff_data"),
        description="Store root: the store's files are under `<base_path>/analytics/`.",
    )


class FFBusinessInputsDTO(ConfigModel):
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


class FFConfigurationManagerConfigDTO(ConfigModel):
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
