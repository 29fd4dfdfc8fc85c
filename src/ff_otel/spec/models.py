"""The spec's data DTOs and the record shapes of the store's own files.

The four DTOs are pydantic models with every field of the spec. Timestamps are
timezone-aware UTC datetimes in Python and the store's fixed-width ISO form in
JSON, so a DTO read back from a file equals the one written.

Records the exporters write on their hot path (spans, metric points, logs) are
``TypedDict`` shapes: documented and type-checked, but built as plain dicts
because a model per span would cost more than the span itself.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Annotated, Any, Literal, Self, TypedDict

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from ff_otel.core import clock
from ff_otel.spec.enums import AggregationPeriod, AlertSeverity

UtcDatetime = Annotated[
    datetime,
    AfterValidator(clock.parse_instant),
    PlainSerializer(clock.format_iso, return_type=str, when_used="json"),
]
"""A datetime that is always aware UTC and serialises in the store's ISO form."""


def stamped_id(prefix: str, at: float | None = None) -> str:
    """``<prefix>_<epoch ms>_<random>`` for the moment ``at`` (epoch seconds; now when None)."""
    # The spec's ids are "<prefix>_<epoch ms>"; 48 random bits keep ids made in
    # the same millisecond (hundreds in a burst, or by other processes) apart.
    moment = time.time() if at is None else at
    return f"{prefix}_{int(moment * 1000)}_{secrets.token_hex(6)}"


class _DataModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible data, as stored in the files."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate(data)


class FFSystemMetricsDTO(_DataModel):
    """System performance and health metrics."""

    metric_id: str = Field(default_factory=lambda: stamped_id("sys"))
    timestamp: UtcDatetime = Field(default_factory=clock.now)
    collection_period_seconds: int = 60

    response_time_ms: float = 0.0
    throughput_requests_per_second: float = 0.0
    concurrent_users: int = 0
    active_sessions: int = 0

    cpu_usage_percent: float = 0.0
    memory_usage_mb: float = 0.0
    memory_usage_percent: float = 0.0
    disk_usage_mb: float = 0.0
    disk_usage_percent: float = 0.0
    network_io_mbps: float = 0.0

    error_count: int = 0
    warning_count: int = 0
    success_rate_percent: float = 100.0
    uptime_seconds: int = 0

    component_health: dict[str, str] = Field(default_factory=dict)
    component_response_times: dict[str, float] = Field(default_factory=dict)
    component_error_rates: dict[str, float] = Field(default_factory=dict)

    data_quality_score: float = 1.0
    system_reliability_score: float = 1.0
    user_satisfaction_score: float = 0.0


class FFUserAnalyticsDTO(_DataModel):
    """User behavior and engagement analytics (the user is only ever a keyed hash)."""

    user_hash: str = ""
    session_id: str = ""
    timestamp: UtcDatetime = Field(default_factory=clock.now)

    session_duration_seconds: int = 0
    pages_viewed: int = 0
    features_used: list[str] = Field(default_factory=list)
    actions_performed: int = 0

    interaction_frequency: float = 0.0
    feature_adoption_rate: float = 0.0
    return_user: bool = False
    session_quality_score: float = 0.0

    time_to_first_action_seconds: int = 0
    bounce_rate: float = 0.0
    conversion_events: list[str] = Field(default_factory=list)
    satisfaction_rating: int | None = None

    messages_sent: int = 0
    documents_processed: int = 0
    tools_executed: int = 0
    searches_performed: int = 0

    user_agent: str = ""
    platform: str = ""
    language: str = ""
    timezone: str = ""

    user_segment: str = ""
    usage_pattern: str = ""


USER_EVENT = "ff.user_event"
"""The OTel log event name user events carry to OTLP collectors (``event_name``)."""


class FFBusinessIntelligenceDTO(_DataModel):
    """Business intelligence and insights data."""

    insight_id: str = Field(default_factory=lambda: stamped_id("bi"))
    timestamp: UtcDatetime = Field(default_factory=clock.now)
    analysis_period: str = AggregationPeriod.DAY.value

    total_users: int = 0
    active_users: int = 0
    new_users: int = 0
    returning_users: int = 0
    user_growth_rate_percent: float = 0.0

    most_used_features: list[dict[str, Any]] = Field(default_factory=list)
    feature_adoption_rates: dict[str, float] = Field(default_factory=dict)
    feature_abandonment_rates: dict[str, float] = Field(default_factory=dict)

    peak_usage_hours: list[int] = Field(default_factory=list)
    average_session_duration_minutes: float = 0.0
    user_satisfaction_trends: list[float] = Field(default_factory=list)

    projected_growth_30_days: float = 0.0
    resource_utilization_trends: dict[str, list[float]] = Field(default_factory=dict)
    scaling_recommendations: list[str] = Field(default_factory=list)

    performance_bottlenecks: list[str] = Field(default_factory=list)
    cost_optimization_opportunities: list[str] = Field(default_factory=list)
    user_experience_improvements: list[str] = Field(default_factory=list)

    roi_indicators: dict[str, float] = Field(default_factory=dict)
    cost_per_user: float = 0.0
    revenue_per_user: float = 0.0
    churn_risk_indicators: list[str] = Field(default_factory=list)


class FFAnalyticsAlertDTO(_DataModel):
    """Alert notification for monitoring system."""

    alert_id: str = Field(default_factory=lambda: stamped_id("alert"))
    timestamp: UtcDatetime = Field(default_factory=clock.now)
    severity: AlertSeverity = AlertSeverity.INFO

    alert_type: str = ""
    title: str = ""
    message: str = ""
    affected_component: str = ""

    metric_name: str = ""
    current_value: float = 0.0
    threshold_value: float = 0.0
    historical_context: dict[str, Any] = Field(default_factory=dict)

    acknowledged: bool = False
    resolved: bool = False
    escalated: bool = False
    assigned_to: str | None = None

    recommended_actions: list[str] = Field(default_factory=list)
    remediation_steps: list[str] = Field(default_factory=list)
    documentation_links: list[str] = Field(default_factory=list)

    resolution_time_seconds: int | None = None
    resolution_notes: str = ""
    prevented_incidents: int = 0

    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=True)


class SpanEventRecord(TypedDict):
    name: str
    timestamp: str
    attributes: dict[str, Any]


class SpanRecord(TypedDict):
    """One line of ``system_metrics/spans.jsonl``: a finished span."""

    timestamp: str
    end_timestamp: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    component: str
    duration_ms: float
    status: Literal["ok", "error"]
    status_message: str | None
    attributes: dict[str, Any]
    events: list[SpanEventRecord]
    service: str
    scope: str


class MetricPointRecord(TypedDict, total=False):
    """One line of ``system_metrics/metrics.jsonl``: one data point of one metric."""

    timestamp: str
    start_timestamp: str
    name: str
    description: str
    unit: str
    type: Literal["sum", "gauge", "histogram", "exponential_histogram"]
    temporality: Literal["delta", "cumulative"]
    monotonic: bool
    attributes: dict[str, Any]
    value: float
    sum: float
    count: int
    min: float
    max: float
    bucket_counts: list[int]
    explicit_bounds: list[float]
    service: str
    scope: str


class LogRecordRecord(TypedDict):
    """One line of ``system_metrics/logs.jsonl`` (and of ``error_rates.jsonl`` for errors)."""

    timestamp: str
    record_type: str
    severity: str
    severity_number: int
    event_name: str | None
    body: Any
    attributes: dict[str, Any]
    trace_id: str | None
    span_id: str | None
    service: str
    scope: str
