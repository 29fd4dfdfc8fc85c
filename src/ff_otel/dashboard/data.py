"""What the dashboard's overview, alert and chart endpoints answer.

Short ranges (1 h, 6 h) come from the collector's per-interval records
(``performance.jsonl`` snapshots and ``resource_usage.jsonl`` readings), read
backwards from the end of the stream; long ranges (24 h, 7 d) are rolled up
per hour at request time, in SQL over the spans and resource readings, through
:func:`ff_otel.query` (source "hourly, in SQL": one point per hour). Either
way a chart gets points of the same meaning: request rate, request p95 and
error rate, each component's p95 and error rate, CPU and memory.

Over the fleet's ClickHouse (``StoreView.query_url``) every range is in SQL over the
fleet's spans (per minute for 1 h and 6 h); the interval snapshots, health checks and
resource readings are per host, so they are absent and ``per_host`` says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from ff_otel.alerting import operations
from ff_otel.alerting.state import AlertState, count_by_state
from ff_otel.core import clock
from ff_otel.dashboard.context import PER_HOST, StoreView, epoch_ms, iso, latest
from ff_otel.query import query
from ff_otel.sql.clickhouse_client import redacted
from ff_otel.store.reader import read_recent

RANGES = {"1h": 3600, "6h": 6 * 3600, "24h": 24 * 3600, "7d": 7 * 24 * 3600}
FLEET_SNAPSHOT_SECONDS = 300
"""The window of the overview's snapshot over the fleet (a host's is its last interval)."""
_UNIT_SECONDS = {"minute": 60, "hour": 3600}
_UNIT_FORMATS = {"minute": "%Y-%m-%dT%H:%M:00Z", "hour": "%Y-%m-%dT%H:00:00Z"}
_UNIT_PADDING = {"minute": ":00", "hour": ":00:00"}
_UNIT_SOURCES = {"minute": "per minute, in SQL", "hour": "hourly, in SQL"}
_FROM_INTERVALS = ("1h", "6h")
_POINTS = 120
"""Points per short-range chart: enough for a smooth line, few enough to read."""
_SEVERITY_RANK = {"critical": 0, "error": 1, "warning": 2, "info": 3}
_RECENTLY_RESOLVED = timedelta(hours=24)
_ALERT_FIELDS = (
    "alert_id",
    "title",
    "message",
    "severity",
    "state",
    "acknowledged",
    "assigned_to",
    "affected_component",
    "metric_name",
    "current_value",
    "threshold_value",
    "recommended_actions",
    "fired_at",
    "timestamp",
    "escalated",
    "silenced",
    "labels",
    "rule",
    "resolution_notes",
)


def overview(view: StoreView) -> dict[str, Any]:
    """The latest health record and performance snapshot, and how fresh they are.

    Over the fleet: no health (per host) and a snapshot of the fleet's requests over the
    last :data:`FLEET_SNAPSHOT_SECONDS`, in SQL."""
    now = clock.now()
    result: dict[str, Any] = {
        "now": iso(now),
        "store": str(view.layout.base_path),
        "service": view.settings.service_name,
        "interval_seconds": view.interval_seconds,
        "health": None,
        "snapshot": None,
    }
    if view.fleet:
        result["fleet"] = redacted(view.query_url)
        result["per_host"] = {"health": PER_HOST, "resources": PER_HOST}
        result["snapshot"] = _fleet_snapshot(view, now)
        return result
    health = latest(view.layout.health_checks)
    snapshot = latest(view.layout.performance)
    if health is not None:
        checked = clock.parse_instant(health["timestamp"])
        age = (now - checked).total_seconds()
        result["health"] = {
            "status": health.get("status"),
            "checked_at": health["timestamp"],
            "age_seconds": round(age, 1),
            # Three missed intervals: no collector is writing to this store.
            "stale": age > 3 * view.interval_seconds + 5,
            "components": [
                {
                    "name": check.get("component"),
                    "status": check.get("status"),
                    "detail": check.get("detail"),
                    "source": check.get("source"),
                }
                for check in health.get("checks") or ()
            ],
        }
    if snapshot is not None:
        result["snapshot"] = {
            name: snapshot.get(name)
            for name in (
                "timestamp",
                "collection_period_seconds",
                "response_time_ms",
                "throughput_requests_per_second",
                "success_rate_percent",
                "error_count",
                "cpu_usage_percent",
                "memory_usage_percent",
                "memory_usage_mb",
                "active_sessions",
                "concurrent_users",
                "system_reliability_score",
                "data_quality_score",
            )
        }
    return result


def _fleet_snapshot(view: StoreView, now: datetime) -> dict[str, Any]:
    """The snapshot's request figures for the whole fleet (the rest is per host: None)."""
    seconds = FLEET_SNAPSHOT_SECONDS
    (row,) = query(
        "requests",
        start=now - timedelta(seconds=seconds),
        aggregates=["count", "errors", "p95:duration_ms"],
        query_url=view.query_url,
    ) or [{"count": 0, "errors": 0, "p95:duration_ms": None}]
    count = int(row["count"])
    return {
        "timestamp": iso(now),
        "collection_period_seconds": float(seconds),
        "response_time_ms": row["p95:duration_ms"],
        "throughput_requests_per_second": round(count / seconds, 3),
        "success_rate_percent": round(100.0 - _percent(row["errors"], count), 3) if count else None,
        "error_count": int(row["errors"]),
    }


def alerts(view: StoreView) -> dict[str, Any]:
    """Firing alerts (acknowledged ones too), pending and suppressed ones, those resolved in
    the last 24 h, how many alerts are in each state, and the silences in force."""
    path = view.layout.alerts
    current = operations.current_alerts(path)
    since = iso(clock.now() - _RECENTLY_RESOLVED)
    firing = [_alert(r) for r in operations.in_state(current, AlertState.FIRING)]
    firing.sort(key=lambda a: _SEVERITY_RANK.get(str(a.get("severity")), 9))
    resolved = [
        _alert(r)
        for r in operations.in_state(current, AlertState.RESOLVED)
        if str(r.get("timestamp")) >= since
    ]
    resolved.sort(key=lambda a: str(a.get("timestamp")), reverse=True)
    return {
        "by_state": count_by_state(current.values()),
        "firing": firing,
        "pending": [_alert(r) for r in operations.in_state(current, AlertState.PENDING)],
        "suppressed": [_alert(r) for r in operations.in_state(current, AlertState.SUPPRESSED)],
        "resolved": resolved[:20],
        "silences": [
            {
                "silence_id": s.silence_id,
                "matchers": s.matchers,
                "ends_at": clock.epoch_to_iso(s.ends_at),
                "created_by": s.created_by,
                "comment": s.comment,
            }
            for s in operations.active_silences(path)
        ],
    }


def _alert(record: dict[str, Any]) -> dict[str, Any]:
    return {name: record.get(name) for name in _ALERT_FIELDS}


def series(view: StoreView, range_name: str) -> dict[str, Any]:
    """Chart points over ``range_name`` (1h, 6h, 24h, 7d); ``ValueError`` for another."""
    if range_name not in RANGES:
        raise ValueError(f"unknown range {range_name!r}; use one of {', '.join(RANGES)}")
    alerting = view.settings.analytics.alerting_config
    thresholds = {
        "latency_ms": alerting.response_time_threshold_ms,
        "error_rate_percent": alerting.error_rate_threshold_percent,
        "memory_percent": alerting.memory_usage_threshold_percent,
        "cpu_percent": 90.0,
    }
    if range_name in _FROM_INTERVALS and not view.fleet:
        result = _from_intervals(view, RANGES[range_name])
    elif range_name in _FROM_INTERVALS:
        result = _in_sql(view, RANGES[range_name], "minute")
    else:
        result = _in_sql(view, RANGES[range_name], "hour")
    return {"range": range_name, "thresholds": thresholds, **result}


class _Steps:
    """Points of a short-range chart: one per step, the step's intervals combined."""

    def __init__(self, start_ms: float, step_ms: float) -> None:
        self.start_ms, self.step_ms = start_ms, step_ms
        self.cells: dict[int, dict[str, list[float]]] = {}

    def add(self, stamp_ms: float, values: dict[str, float | None]) -> None:
        cell = self.cells.setdefault(int((stamp_ms - self.start_ms) // self.step_ms), {})
        for name, value in values.items():
            if isinstance(value, (int, float)):
                cell.setdefault(name, []).append(float(value))

    def line(self, name: str, combine: str = "mean") -> list[list[float]]:
        points = []
        for index in sorted(self.cells):
            values = self.cells[index].get(name)
            if values:
                value = max(values) if combine == "max" else sum(values) / len(values)
                points.append([self.start_ms + (index + 1) * self.step_ms, round(value, 3)])
        return points

    def names(self) -> set[str]:
        return {name for cell in self.cells.values() for name in cell}


def _from_intervals(view: StoreView, seconds: int) -> dict[str, Any]:
    now = clock.now()
    since = now - timedelta(seconds=seconds)
    snapshots = read_recent(view.layout.performance, since)
    readings = read_recent(view.layout.resource_usage, since)
    # A store younger than the range is drawn over its own life, not squeezed
    # into the right edge of an empty hour.
    first = min(
        (records[0]["timestamp"] for records in (snapshots, readings) if records), default=None
    )
    start_ms = since.timestamp() * 1000
    if first is not None:
        start_ms = max(start_ms, epoch_ms(first) - 1000 * view.interval_seconds)
    covered = (now.timestamp() * 1000 - start_ms) / 1000
    step = max(view.interval_seconds, covered / _POINTS)
    perf = _Steps(start_ms, step * 1000)
    for snapshot in snapshots:
        rate = snapshot.get("throughput_requests_per_second")
        success = snapshot.get("success_rate_percent")
        values: dict[str, float | None] = {
            "rate": rate,
            "p95": snapshot.get("response_time_ms") if rate else None,
            "error_rate": 100.0 - success if isinstance(success, (int, float)) and rate else None,
        }
        for name, p95 in (snapshot.get("component_response_times") or {}).items():
            values[f"p95:{name}"] = p95
        for name, rate_percent in (snapshot.get("component_error_rates") or {}).items():
            values[f"errors:{name}"] = rate_percent
        perf.add(epoch_ms(snapshot["timestamp"]), values)
    resources = _Steps(start_ms, step * 1000)
    for reading in readings:
        resources.add(
            epoch_ms(reading["timestamp"]),
            {
                "cpu": reading.get("cpu_usage_percent"),
                "memory": reading.get("memory_usage_percent"),
            },
        )
    components = sorted(
        {name.partition(":")[2] for name in perf.names() if name.startswith(("p95:", "errors:"))}
    )
    return {
        "source": "interval snapshots",
        "start": start_ms,
        "end": now.timestamp() * 1000,
        "step_seconds": step,
        "requests": {
            "rate": perf.line("rate"),
            "p95": perf.line("p95", "max"),
            "error_rate": perf.line("error_rate"),
        },
        "components": {
            name: {
                "p95": perf.line(f"p95:{name}", "max"),
                "error_rate": perf.line(f"errors:{name}"),
            }
            for name in components
        },
        "resources": {
            "cpu": resources.line("cpu"),
            "cpu_max": resources.line("cpu", "max"),
            "memory": resources.line("memory"),
            "memory_max": resources.line("memory", "max"),
        },
    }


def _in_sql(view: StoreView, seconds: int, unit: str) -> dict[str, Any]:
    """The chart points per ``unit`` (minute or hour) over the last ``seconds``, in SQL: over
    the fleet the request and component lines only (resource readings are per host)."""
    step = _UNIT_SECONDS[unit]
    now = clock.now()
    end = clock.parse_instant(now.strftime(_UNIT_FORMATS[unit])) + timedelta(seconds=step)
    start = end - timedelta(seconds=seconds)
    base = view.layout.base_path
    key = f"time:{unit}"
    within: dict[str, Any] = {
        "start": start,
        "end": end,
        "base_path": base,
        "query_url": view.query_url,
    }
    requests = query(
        "requests",
        group_by=[key],
        aggregates=["count", "errors", "p50:duration_ms", "p95:duration_ms", "p99:duration_ms"],
        **within,
    )
    spans = query(
        "spans",
        group_by=[key, "component"],
        aggregates=["count", "errors", "p95:duration_ms"],
        **within,
    )
    resources = (
        []
        if view.fleet
        else query(
            "resource_usage",
            group_by=[key],
            aggregates=[
                "avg:cpu_usage_percent",
                "max:cpu_usage_percent",
                "avg:memory_usage_percent",
                "max:memory_usage_percent",
            ],
            **within,
        )
    )
    now_ms = now.timestamp() * 1000
    step_ms = step * 1000.0

    def begin(row: dict[str, Any]) -> float:
        return epoch_ms(row[key] + _UNIT_PADDING[unit])

    def at(row: dict[str, Any]) -> float:
        # A point stands at its step's end (the current step: now), as the
        # interval snapshots put each step's point at the step's end.
        return min(begin(row) + step_ms, now_ms)

    def step_seconds(row: dict[str, Any]) -> float:
        return max(1.0, (at(row) - begin(row)) / 1000)

    components: dict[str, dict[str, list[list[float]]]] = {}
    for row in spans:
        entry = components.setdefault(str(row["component"]), {"p95": [], "error_rate": []})
        entry["p95"].append([at(row), _round(row["p95:duration_ms"])])
        entry["error_rate"].append([at(row), _percent(row["errors"], row["count"])])
    first = [begin(rows[0]) for rows in (requests, spans, resources) if rows]
    start_ms = max(start.timestamp() * 1000, min(first)) if first else start.timestamp() * 1000
    result: dict[str, Any] = {
        "source": _UNIT_SOURCES[unit] + (" (the fleet)" if view.fleet else ""),
        "start": start_ms,
        "end": now_ms,
        "step_seconds": step,
        "requests": {
            "rate": [[at(r), round(r["count"] / step_seconds(r), 3)] for r in requests],
            "p50": _points(requests, at, "p50:duration_ms"),
            "p95": _points(requests, at, "p95:duration_ms"),
            "p99": _points(requests, at, "p99:duration_ms"),
            "error_rate": [[at(r), _percent(r["errors"], r["count"])] for r in requests],
        },
        "components": dict(sorted(components.items())),
        "resources": {
            "cpu": _points(resources, at, "avg:cpu_usage_percent"),
            "cpu_max": _points(resources, at, "max:cpu_usage_percent"),
            "memory": _points(resources, at, "avg:memory_usage_percent"),
            "memory_max": _points(resources, at, "max:memory_usage_percent"),
        },
    }
    if view.fleet:
        result["per_host"] = {"resources": PER_HOST}
    return result


def _points(rows: Iterable[dict[str, Any]], at: Any, field: str) -> list[list[float]]:
    return [[at(row), _round(row[field])] for row in rows if row.get(field) is not None]


def _round(value: Any) -> float:
    return round(float(value), 3)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 3) if whole else 0.0
