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

    anonymize_user_data: bool = True
    hash_user_identifiers: bool = True
    exclude_sensitive_content: bool = True

    raw_data_retention_days: int = Field(default=30, ge=1)
    aggregated_data_retention_days: int = Field(default=365, ge=1)
    compliance_data_retention_days: int = Field(default=2555, ge=1)

    allow_user_opt_out: bool = True
    require_explicit_consent: bool = False
    honor_do_not_track: bool = True

    enable_external_analytics: bool = False
    allowed_external_services: list[str] = Field(default_factory=list)
    data_export_restrictions: list[str] = Field(default_factory=list)
    # ff-otel's own, after the spec's fields:
    ip_address_handling: Literal["truncate", "keep", "drop"] = "truncate"
    """IP addresses in client-address attributes and free text: ``truncate`` zeroes the
    last IPv4 octet and the last 80 IPv6 bits, ``drop`` redacts them, ``keep`` keeps them."""

    @field_validator("allowed_external_services")
    @classmethod
    def _services_name_a_host(cls, value: list[str]) -> list[str]:
        # An entry that names no host would silently match nothing.
        for entry in value:
            parse_service(entry)
        return value


class FFAnalyticsAlertingConfigDTO(_ConfigModel):
    """Alerting configuration for monitoring."""

    error_rate_threshold_percent: float = Field(default=5.0, gt=0, le=100)
    response_time_threshold_ms: float = Field(default=5000.0, gt=0)
    memory_usage_threshold_percent: float = Field(default=85.0, gt=0, le=100)
    disk_usage_threshold_percent: float = Field(default=90.0, gt=0, le=100)

    alert_cooldown_minutes: int = Field(default=15, ge=0)
    max_alerts_per_hour: int = Field(default=10, ge=1)
    escalation_delay_minutes: int = Field(default=30, ge=1)

    enable_email_alerts: bool = False
    enable_webhook_alerts: bool = False
    enable_log_alerts: bool = True

    email_recipients: list[str] = Field(default_factory=list)
    webhook_urls: list[str] = Field(default_factory=list)
    alert_log_level: str = "WARNING"

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

    analytics_level: AnalyticsLevel = AnalyticsLevel.STANDARD
    collection_interval_seconds: int = Field(default=60, ge=1)
    enable_real_time_metrics: bool = True

    aggregation_periods: list[AggregationPeriod] = Field(
        default_factory=lambda: [
            AggregationPeriod.HOUR,
            AggregationPeriod.DAY,
            AggregationPeriod.WEEK,
        ]
    )
    aggregation_delay_minutes: int = Field(default=5, ge=0)

    enable_performance_monitoring: bool = True
    track_response_times: bool = True
    track_resource_usage: bool = True
    track_error_rates: bool = True

    enable_user_analytics: bool = True
    track_user_behavior: bool = True
    track_feature_usage: bool = True
    track_session_quality: bool = True

    enable_business_intelligence: bool = True
    generate_usage_reports: bool = True
    enable_trend_analysis: bool = True
    enable_predictive_analytics: bool = False

    privacy_config: FFAnalyticsPrivacyConfigDTO = Field(default_factory=FFAnalyticsPrivacyConfigDTO)
    alerting_config: FFAnalyticsAlertingConfigDTO = Field(
        default_factory=FFAnalyticsAlertingConfigDTO
    )

    enable_data_compression: bool = True
    compression_age_days: int = Field(default=7, ge=1)
    enable_data_sampling: bool = False
    sampling_rate: float = Field(default=1.0, ge=0.0, le=1.0)

    generate_daily_reports: bool = True
    generate_weekly_reports: bool = True
    generate_monthly_reports: bool = True
    report_output_formats: list[str] = Field(default_factory=lambda: ["json", "csv"])

    @field_validator("report_output_formats")
    @classmethod
    def _known_formats(cls, value: list[str]) -> list[str]:
        unknown = [fmt for fmt in value if fmt not in REPORT_FORMATS]
        if unknown:
            raise ValueError(f"unknown report format(s) {unknown}; known: {list(REPORT_FORMATS)}")
        return value


class FFStorageConfigDTO(_ConfigModel):
    """Where the flatfile store lives: ``analytics/`` is created under ``base_path``."""

    base_path: Path = Path("./ff_data")


class FFBusinessInputsDTO(_ConfigModel):
    """Money figures for the BI cost and ROI fields, per 30 days; absent gives absent outputs."""

    monthly_cost: float | None = Field(default=None, ge=0)
    monthly_revenue: float | None = Field(default=None, ge=0)


class FFConfigurationManagerConfigDTO(_ConfigModel):
    """The host application's configuration, as the spec's manager receives it."""

    storage: FFStorageConfigDTO = Field(default_factory=FFStorageConfigDTO)
    analytics: FFAnalyticsConfigDTO = Field(default_factory=FFAnalyticsConfigDTO)
    business: FFBusinessInputsDTO = Field(default_factory=FFBusinessInputsDTO)
