"""One interval's records: the ``FFSystemMetricsDTO`` snapshot and the files it is written to.

Also the interval's value of each application metric, which ``metric:<name>``
alert rules watch.
"""

from __future__ import annotations

from typing import Any

from ff_otel.instrumentation.system_metrics import ResourceReading
from ff_otel.pipeline.health import CheckResult
from ff_otel.pipeline.interval import IntervalActivity, percentile
from ff_otel.pipeline.levels import LevelPolicy
from ff_otel.pipeline.status import SystemHealth, reliability
from ff_otel.spec.models import FFSystemMetricsDTO
from ff_otel.store.appender import append_records
from ff_otel.store.layout import StoreLayout

_RESOURCE_FIELDS = {
    "cpu_usage_percent",
    "memory_usage_mb",
    "memory_usage_percent",
    "disk_usage_mb",
    "disk_usage_percent",
    "network_io_mbps",
}
_SESSION_FIELDS = {"concurrent_users", "active_sessions"}
_LATENCY_FIELDS = {"response_time_ms", "component_response_times"}


def interval_metrics(
    activity: IntervalActivity,
    reading: ResourceReading | None,
    results: list[CheckResult],
    data_quality: float,
) -> FFSystemMetricsDTO:
    """The interval's ``FFSystemMetricsDTO``: activity, health results and the resource reading."""
    metrics = FFSystemMetricsDTO(
        collection_period_seconds=max(1, round(activity.seconds)),
        response_time_ms=round(activity.response_time_p95_ms, 3),
        throughput_requests_per_second=round(activity.throughput_requests_per_second, 3),
        error_count=activity.error_count,
        warning_count=activity.warning_logs,
        success_rate_percent=round(activity.success_rate_percent, 3),
        component_health={r.name: r.status for r in results},
        component_response_times={
            name: round(c.p95_ms, 3) for name, c in activity.components.items()
        },
        component_error_rates={
            name: round(c.error_rate_percent, 3) for name, c in activity.components.items()
        },
        data_quality_score=data_quality,
        system_reliability_score=reliability(activity, results),
    )
    if reading is not None:
        metrics.cpu_usage_percent = round(reading.cpu_usage_percent, 2)
        metrics.memory_usage_mb = round(reading.memory_used_bytes / 2**20, 1)
        metrics.memory_usage_percent = round(reading.memory_utilization * 100, 2)
        metrics.disk_usage_mb = round(reading.disk_used_bytes / 2**20, 1)
        metrics.disk_usage_percent = round(reading.disk_utilization * 100, 2)
        metrics.network_io_mbps = round(reading.network_io_mbps, 4)
        metrics.uptime_seconds = int(reading.process_uptime_seconds)
    return metrics


def write_interval_records(
    layout: StoreLayout,
    policy: LevelPolicy,
    host: str,
    metrics: FFSystemMetricsDTO,
    health: SystemHealth,
    activity: IntervalActivity,
    reading: ResourceReading | None,
    *,
    has_ratings: bool,
    tracks_sessions: bool,
) -> None:
    """Append the interval's resource, health, performance and error-summary records.

    What is written follows the ``policy`` (level and switches); values that
    were not measured, or are not to be tracked, are left out of the records,
    not written as zeros.
    """
    stamp = health.checked_at
    if reading is not None:
        append_records(
            layout.resource_usage,
            [
                {
                    "timestamp": stamp,
                    "host": host,
                    "interval_seconds": round(activity.seconds, 3),
                    **reading.to_record(),
                }
            ],
        )
    append_records(
        layout.health_checks,
        [
            {
                "timestamp": stamp,
                "host": host,
                "status": health.status,
                "checks": [r.to_record() for r in health.components],
            }
        ],
    )
    if policy.performance_snapshots:
        # Values that were not measured are left out, not written as zeros.
        excluded = set() if has_ratings else {"user_satisfaction_score"}
        if not tracks_sessions:
            excluded |= _SESSION_FIELDS
        if reading is None:
            excluded |= _RESOURCE_FIELDS
        if not policy.response_times:
            excluded |= _LATENCY_FIELDS
        append_records(layout.performance, [metrics.model_dump(mode="json", exclude=excluded)])
    if policy.error_summaries:
        summary = activity.summary_record(detailed=policy.top_errors)
        if policy.latency_percentiles and policy.response_times:
            summary["component_latency_ms"] = {
                name: {
                    q: round(percentile(c.durations_ms, level), 3)
                    for q, level in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
                }
                for name, c in activity.components.items()
            }
        append_records(layout.error_rates, [{"timestamp": stamp, **summary}])


def application_metric_values(points: list[dict[str, Any]]) -> dict[str, float]:
    """The interval's value of each application metric, for ``metric:<name>`` alert rules.

    Counters: the sum of the interval's deltas; histograms: the mean of the
    interval's measurements; gauges and up-down counters: the latest value.
    ff-otel's own system metrics are left to the snapshot's fields.
    """
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    latest: dict[str, float] = {}
    for point in points:
        if point.get("scope") == "ff_otel.system" or not isinstance(point.get("name"), str):
            continue
        name = point["name"]
        kind = point.get("type")
        if kind in ("histogram", "exponential_histogram"):
            sums[name] = sums.get(name, 0.0) + float(point.get("sum") or 0.0)
            counts[name] = counts.get(name, 0.0) + float(point.get("count") or 0)
        elif kind == "sum" and point.get("temporality") == "delta":
            sums[name] = sums.get(name, 0.0) + float(point.get("value") or 0.0)
        elif isinstance(point.get("value"), (int, float)):
            latest[name] = float(point["value"])
    values = dict(latest)
    for name, total in sums.items():
        values[name] = total / counts[name] if counts.get(name) else total
    return values
