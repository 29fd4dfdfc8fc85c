"""The logical views: one per stream, their columns and types, dialect-neutral.

A view is defined once here and rendered per dialect (``views.py`` renders
DuckDB over the local store's files). Column types are logical:

- ``timestamp``: a UTC instant (DuckDB ``TIMESTAMP``, naive, in UTC);
- ``text``, ``double``, ``bigint``, ``boolean``;
- ``map``: a JSON object as a string-to-string map (``attributes['http.route']``);
  nested values become their JSON text, numbers their decimal text. Each map
  column ``X`` also has a twin ``X_json``: the same object as JSON, where one
  key is read without building the whole map (``attributes_json->>'$."http.route"'``;
  over the local store that is several times cheaper, and :class:`~ff_otel.sql.dialect.Dialect`'s
  ``map_get`` reads it there);
- ``json``: any JSON value kept as JSON (lists, nested objects).

A value of the wrong type becomes NULL, never an error. Derived columns (and
the BI statements of :mod:`ff_otel.pipeline.bi_figures`) are written against
:class:`~ff_otel.sql.dialect.Dialect`, so the same definition renders for any
backend that implements it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ff_otel.sql.dialect import Dialect

LOGICAL_TYPES = ("timestamp", "text", "double", "bigint", "boolean", "map", "json")


Expression = Callable[[Dialect], str]


@dataclass(frozen=True)
class Column:
    """One column: stored under ``key`` in each record (``name`` when None)."""

    name: str
    type: str
    key: str | None = None

    @property
    def source_key(self) -> str:
        return self.key or self.name


def json_twin(column: Column) -> str:
    """The name of a ``map`` column's twin: the same object as JSON."""
    return f"{column.name}_json"


def map_columns(view: View) -> list[Column]:
    """The ``map`` columns of ``view``'s base view, in order: each has a :func:`json_twin`."""
    base = VIEWS_BY_NAME[view.source] if view.source else view
    return [column for column in base.columns if column.type == "map"]


@dataclass(frozen=True)
class Derived:
    """A column computed from the view's typed columns."""

    name: str
    type: str
    expression: Expression


@dataclass(frozen=True)
class View:
    """One read-only view.

    ``stream`` is the store-relative path of the JSONL stream the view reads
    (its rotated and compacted segments included). ``source`` names another
    view this one filters instead (``requests`` over ``spans``). ``complete``
    says the columns hold every field the store writes into the stream, which
    is what lets compaction turn its segments into Parquet without losing
    anything. A view that is not complete also has a ``record`` column: the
    whole line as JSON, so fields it does not type are still reachable
    (``record->>'$.field'``).
    """

    name: str
    stream: str
    columns: tuple[Column, ...]
    description: str
    complete: bool = True
    derived: tuple[Derived, ...] = ()
    source: str | None = None
    where: Expression | None = None


def _cols(spec: str) -> tuple[Column, ...]:
    """Columns from ``"name:type name:type ..."`` (type ``text`` when omitted)."""
    columns = []
    for item in spec.split():
        name, _, logical = item.partition(":")
        columns.append(Column(name, logical or "text"))
    return tuple(columns)


_USER_FIELDS = (
    "session_duration_seconds:double pages_viewed:bigint features_used:json "
    "actions_performed:bigint interaction_frequency:double feature_adoption_rate:double "
    "return_user:boolean session_quality_score:double time_to_first_action_seconds:bigint "
    "bounce_rate:double conversion_events:json satisfaction_rating:bigint "
    "messages_sent:bigint documents_processed:bigint tools_executed:bigint "
    "searches_performed:bigint user_agent platform language timezone user_segment usage_pattern"
)
_SPAN_FIELDS = (
    "timestamp:timestamp end_timestamp:timestamp trace_id span_id parent_span_id name kind "
    "component duration_ms:double status status_message attributes:map events:json service scope"
)


def http_status_code(d: Dialect) -> str:
    """``http.response.status_code``, else the legacy ``http.status_code``, as a number."""
    attributes = d.column("attributes")
    return (
        f"coalesce({d.try_cast(d.map_get(attributes, 'http.response.status_code'), 'bigint')}, "
        f"{d.try_cast(d.map_get(attributes, 'http.status_code'), 'bigint')})"
    )


def span_failed(d: Dialect) -> str:
    """A failed span: status ``error``, or a request answered with HTTP 500 or more
    (:func:`ff_otel.pipeline.interval.failed`)."""
    # As a CASE, so the attributes are read only for requests not failed by
    # their status: reading every span's attributes map is the costly part.
    return (
        f"CASE WHEN {d.column('status')} = {d.literal('error')} THEN true "
        f"WHEN NOT coalesce({span_is_request(d)}, false) THEN false "
        f"ELSE coalesce({http_status_code(d)} >= 500, false) END"
    )


def _route(d: Dialect) -> str:
    return d.map_get(d.column("attributes"), "http.route")


def span_is_request(d: Dialect) -> str:
    """A request: kind ``server`` or a root span (:func:`ff_otel.pipeline.interval.is_request`)."""
    return (
        f"({d.column('kind')} = {d.literal('server')} "
        f"OR coalesce({d.column('parent_span_id')}, {d.literal('')}) = {d.literal('')})"
    )


VIEWS: tuple[View, ...] = (
    View(
        "spans",
        "system_metrics/spans.jsonl",
        _cols(_SPAN_FIELDS),
        "one row per finished span",
    ),
    View(
        "requests",
        "system_metrics/spans.jsonl",
        _cols(_SPAN_FIELDS),
        "spans that are requests (kind server, or a root span); failed: status error or "
        "HTTP status >= 500",
        source="spans",
        where=span_is_request,
        derived=(
            Derived("route", "text", _route),
            Derived("status_code", "bigint", http_status_code),
            Derived("failed", "boolean", span_failed),
        ),
    ),
    View(
        "logs",
        "system_metrics/logs.jsonl",
        _cols(
            "timestamp:timestamp record_type severity severity_number:bigint event_name "
            "body:json attributes:map trace_id span_id service scope"
        ),
        "OTel log records without a more specific home",
    ),
    View(
        "metrics",
        "system_metrics/metrics.jsonl",
        _cols(
            "timestamp:timestamp start_timestamp:timestamp name description unit type "
            "temporality monotonic:boolean value:double sum:double count:bigint min:double "
            "max:double bucket_counts:json explicit_bounds:json scale:bigint zero_count:bigint "
            "positive:json negative:json attributes:map service scope"
        ),
        "one row per metric data point (counters and histograms as deltas)",
    ),
    View(
        "events",
        "user_analytics/behavior_patterns.jsonl",
        _cols(
            "timestamp:timestamp record_type event_type user_hash session_id data:map service "
            + _USER_FIELDS
        ),
        "one row per user event; data holds the scrubbed event data",
    ),
    View(
        "feature_usage",
        "user_analytics/feature_usage.jsonl",
        _cols("timestamp:timestamp record_type feature user_hash session_id"),
        "one row per feature used",
    ),
    View(
        "sessions",
        "user_analytics/session_analytics.jsonl",
        _cols(
            "timestamp:timestamp record_type user_hash session_id session_start:timestamp "
            + _USER_FIELDS
        ),
        "one row per closed session",
    ),
    View(
        "engagement",
        "user_analytics/engagement_metrics.jsonl",
        _cols(
            "timestamp:timestamp record_type user_hash session_id engagement_score:double "
            "user_segment return_user:boolean messages_sent:bigint documents_processed:bigint "
            "tools_executed:bigint searches_performed:bigint"
        ),
        "one row per closed session's engagement score",
    ),
    View(
        "alerts",
        "system_metrics/alerts.jsonl",
        _cols(
            "timestamp:timestamp alert_id event state severity alert_type title message "
            "affected_component metric_name current_value:double threshold_value:double "
            "acknowledged:boolean resolved:boolean escalated:boolean silenced:boolean "
            "assigned_to resolution_notes resolution_time_seconds:double rule labels:map"
        ),
        "alert lifecycle records (fired, escalated, acknowledged, resolved)",
        complete=False,
    ),
    View(
        "performance",
        "system_metrics/performance.jsonl",
        _cols(
            "timestamp:timestamp metric_id collection_period_seconds:double "
            "response_time_ms:double throughput_requests_per_second:double "
            "concurrent_users:bigint active_sessions:bigint cpu_usage_percent:double "
            "memory_usage_mb:double memory_usage_percent:double disk_usage_mb:double "
            "disk_usage_percent:double network_io_mbps:double error_count:bigint "
            "warning_count:bigint success_rate_percent:double uptime_seconds:double "
            "component_health:map component_response_times:map component_error_rates:map "
            "data_quality_score:double system_reliability_score:double "
            "user_satisfaction_score:double"
        ),
        "one FFSystemMetricsDTO snapshot per collection interval",
        complete=False,
    ),
    View(
        "resource_usage",
        "system_metrics/resource_usage.jsonl",
        _cols(
            "timestamp:timestamp host interval_seconds:double cpu_usage_percent:double "
            "memory_usage_mb:double memory_usage_percent:double disk_usage_mb:double "
            "disk_usage_percent:double disk_mountpoint network_io_mbps:double process:json"
        ),
        "host and collector-process resource readings per interval",
        complete=False,
    ),
    View(
        "health_checks",
        "system_metrics/health_checks.jsonl",
        _cols("timestamp:timestamp host status checks:json"),
        "overall health and each check's result per interval",
        complete=False,
    ),
    View(
        "error_rates",
        "system_metrics/error_rates.jsonl",
        _cols(
            "timestamp:timestamp record_type service component name trace_id span_id "
            "error_type message severity body:json interval_seconds:double requests:bigint "
            "failed_requests:bigint error_count:bigint warning_count:bigint "
            "error_rate_percent:double component_error_rates:map"
        ),
        "failed spans (span_error), error logs (log_error) and interval summaries",
        complete=False,
    ),
    View(
        "audit_logs",
        "compliance/audit_logs.jsonl",
        _cols(
            "timestamp:timestamp seq:bigint actor action resource outcome details:json host "
            "pid:bigint service prev_hash hash"
        ),
        "the hash-chained audit trail",
        complete=False,
    ),
    View(
        "privacy_events",
        "compliance/privacy_events.jsonl",
        _cols("timestamp:timestamp event_type consent_ref service"),
        "consent changes and privacy requests (references only)",
        complete=False,
    ),
    View(
        "security_events",
        "compliance/security_events.jsonl",
        _cols("timestamp:timestamp event_type severity service details:json"),
        "security events",
        complete=False,
    ),
    *(
        View(
            name,
            f"business_intelligence/{name}.jsonl",
            _cols("timestamp:timestamp insight_id analysis_period"),
            f"stored business-intelligence records ({name.replace('_', ' ')})",
            complete=False,
        )
        for name in ("usage_trends", "optimization_insights", "capacity_planning", "roi_analytics")
    ),
)
"""Every view, in the order ``ff-otel sql --tables`` lists them."""

VIEWS_BY_NAME: dict[str, View] = {view.name: view for view in VIEWS}


def view(name: str) -> View:
    """The view called ``name``; ``KeyError`` when there is none."""
    return VIEWS_BY_NAME[name]
