"""The spec's enums: analytics levels, aggregation periods, alert severities."""

from __future__ import annotations

from enum import StrEnum


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
