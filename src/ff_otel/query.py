"""Queries over any stream and the rollups: time range, filters, group-by, aggregates.

``ff_otel.query("spans", start=..., end=..., where={"component": "llm"},
group_by=["time:hour"], aggregates=["count", "errors", "p95:duration_ms"])``
returns one row (a dict) per group. Aggregates: ``count``, ``errors`` (failed
records as :func:`ff_otel.pipeline.interval.failed` defines them), ``sum:F``,
``avg:F``, ``min:F``, ``max:F``, ``p50:F``/``p95:F``/``p99:F`` (from a 1%-accurate sketch) and
``distinct:F``. Group by fields or ``time:minute|hour|day|week|month``.
Fields are dotted paths into nested records; a key that itself holds dots
(``attributes.http.route``) is found too.

``requests`` is the spans that are requests (kind ``server``, or a root
span), as the interval snapshots and the rollups count them.

Span counts, errors and latency percentiles by component and time, the same
for requests by time, event counts and distinct users by event type and time,
and the average, minimum and maximum of the resource readings
(``cpu_usage_percent``, ``memory_usage_percent``, ``disk_usage_percent``) by
time are answered from the hourly rollups when the range starts and ends on
whole hours; everything else streams the raw records, never loading a whole file.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ff_otel import _clock, setup
from ff_otel.pipeline.buckets import ROLLED_RESOURCE_FIELDS, bucket_key
from ff_otel.pipeline.interval import failed, is_request
from ff_otel.pipeline.sketch import LatencySketch
from ff_otel.store.documents import read_json
from ff_otel.store.layout import StoreLayout
from ff_otel.store.reader import read_records

_STREAMS = {
    "spans": "system_metrics/spans.jsonl",
    "metrics": "system_metrics/metrics.jsonl",
    "logs": "system_metrics/logs.jsonl",
    "alerts": "system_metrics/alerts.jsonl",
    "performance": "system_metrics/performance.jsonl",
    "health_checks": "system_metrics/health_checks.jsonl",
    "resource_usage": "system_metrics/resource_usage.jsonl",
    "error_rates": "system_metrics/error_rates.jsonl",
    "events": "user_analytics/behavior_patterns.jsonl",
    "feature_usage": "user_analytics/feature_usage.jsonl",
    "sessions": "user_analytics/session_analytics.jsonl",
    "engagement": "user_analytics/engagement_metrics.jsonl",
    "usage_trends": "business_intelligence/usage_trends.jsonl",
    "optimization_insights": "business_intelligence/optimization_insights.jsonl",
    "capacity_planning": "business_intelligence/capacity_planning.jsonl",
    "roi_analytics": "business_intelligence/roi_analytics.jsonl",
    "audit_logs": "compliance/audit_logs.jsonl",
    "privacy_events": "compliance/privacy_events.jsonl",
    "security_events": "compliance/security_events.jsonl",
}
_VIEWS: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "requests": ("spans", is_request),
}
_SUMMARY_KINDS = ("avg", "min", "max")
_TIME_GROUPS = ("minute", "hour", "day", "week", "month")
_QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
_FIELD_AGGREGATES = ("sum", "avg", "min", "max", "distinct", *_QUANTILES)


def streams() -> list[str]:
    """The stream names ``query`` knows (a relative ``.jsonl`` path works too)."""
    return [*_STREAMS, *_VIEWS]


def query(
    stream: str,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    where: Mapping[str, Any] | None = None,
    group_by: Sequence[str] = (),
    aggregates: Sequence[str] = ("count",),
    base_path: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Rows of ``aggregates`` per group of ``group_by`` over ``stream`` in ``[start, end)``.

    Raises ``ValueError`` naming an unknown stream, aggregate or time group, or
    a reversed range.
    """
    layout = setup.store_layout(base_path)
    source, keep = _VIEWS.get(stream, (stream, None))
    path = stream_path(layout, source)
    where = dict(where or {})
    for group in group_by:
        if group.startswith("time:") and group[5:] not in _TIME_GROUPS:
            raise ValueError(f"unknown time group {group!r}; use time:{'|'.join(_TIME_GROUPS)}")
    makers = [_aggregate_maker(spec) for spec in aggregates]
    start_iso = _clock.to_iso(start) if start is not None else None
    end_iso = _clock.to_iso(end) if end is not None else None
    if start_iso and end_iso and start_iso > end_iso:
        raise ValueError(f"time range is reversed: start {start_iso} is after end {end_iso}")
    from_rollups = _from_rollups(layout, stream, start_iso, end_iso, where, group_by, aggregates)
    if from_rollups is not None:
        return from_rollups
    groups: dict[tuple[Any, ...], list[_Accumulator]] = {}
    for record in read_records(path, start_iso, end_iso):
        if keep is not None and not keep(record):
            continue
        if any(_get(record, field) != value for field, value in where.items()):
            continue
        key = tuple(_group_value(record, group) for group in group_by)
        accumulators = groups.get(key)
        if accumulators is None:
            accumulators = groups[key] = [make() for make in makers]
        for accumulator in accumulators:
            accumulator.add(record)
    return _rows(groups, group_by, aggregates)


class _Summary:
    """Count, sum, minimum and maximum: what ``avg``, ``min`` and ``max`` are answered from."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.low: float | None = None
        self.high: float | None = None

    def summary_result(self, kind: str) -> Any:
        if kind == "avg":
            return self.total / self.count if self.count else None
        return self.low if kind == "min" else self.high


class _Accumulator(_Summary):
    def __init__(self, field: str | None, kind: str) -> None:
        super().__init__()
        self.field, self.kind = field, kind
        self.sketch = LatencySketch() if kind in _QUANTILES else None
        self.values: set[Any] = set()

    def add(self, record: dict[str, Any]) -> None:
        kind = self.kind
        if kind == "count":
            self.count += 1
            return
        if kind == "errors":
            self.count += failed(record)
            return
        assert self.field is not None
        value = _get(record, self.field)
        if kind == "distinct":
            if value is not None:
                self.values.add(value if not isinstance(value, list) else tuple(value))
            return
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return
        self.count += 1
        self.total += value
        self.low = value if self.low is None else min(self.low, value)
        self.high = value if self.high is None else max(self.high, value)
        if self.sketch is not None:
            self.sketch.add(value)

    def result(self) -> Any:
        kind = self.kind
        if kind in ("count", "errors"):
            return self.count
        if kind == "distinct":
            return len(self.values)
        if kind == "sum":
            return self.total
        if kind in _SUMMARY_KINDS:
            return self.summary_result(kind)
        assert self.sketch is not None
        return self.sketch.quantile(_QUANTILES[kind])


def _aggregate_maker(spec: str) -> Callable[[], _Accumulator]:
    if spec in ("count", "errors"):
        return lambda: _Accumulator(None, spec)
    kind, _, field = spec.partition(":")
    if kind not in _FIELD_AGGREGATES or not field:
        raise ValueError(
            f"unknown aggregate {spec!r}; use count, errors or KIND:FIELD with KIND in "
            f"{list(_FIELD_AGGREGATES)}"
        )
    return lambda: _Accumulator(field, kind)


def _rows(
    groups: Mapping[tuple[Any, ...], Sequence[_Accumulator | _Cell]],
    group_by: Sequence[str],
    aggregates: Sequence[str],
) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(groups, key=lambda k: tuple("" if v is None else str(v) for v in k)):
        row = dict(zip(group_by, key, strict=True))
        for spec, accumulator in zip(aggregates, groups[key], strict=True):
            row[spec] = accumulator.result()
        rows.append(row)
    return rows


def _from_rollups(
    layout: StoreLayout,
    stream: str,
    start: str | None,
    end: str | None,
    where: dict[str, Any],
    group_by: Sequence[str],
    aggregates: Sequence[str],
) -> list[dict[str, Any]] | None:
    # The rollups answer exactly only on whole hours and for what they hold.
    if any(stamp is not None and stamp[13:] != ":00:00.000000Z" for stamp in (start, end)):
        return None
    time_groups = {g for g in group_by if g.startswith("time:")}
    if time_groups - {"time:hour", "time:day", "time:week", "time:month"}:
        return None
    if stream == "spans":
        fields, allowed = (
            {"component"},
            {"count", "errors", *(f"{q}:duration_ms" for q in _QUANTILES)},
        )
    elif stream == "requests":
        fields, allowed = set(), {"count", "errors", *(f"{q}:duration_ms" for q in _QUANTILES)}
    elif stream == "events":
        fields, allowed = {"event_type"}, {"count", "distinct:user_hash"}
    elif stream == "resource_usage":
        fields = set()
        allowed = {
            f"{kind}:{name}" for kind in ("avg", "min", "max") for name in ROLLED_RESOURCE_FIELDS
        }
    else:
        return None
    plain = [g for g in group_by if not g.startswith("time:")]
    if set(plain) - fields or set(where) - fields or set(aggregates) - allowed:
        return None
    per_type = "event_type" in plain or "event_type" in where
    if stream == "events" and per_type and "distinct:user_hash" in aggregates:
        return None  # rollups keep active users per hour, not per event type
    folder = layout.analytics_path / "aggregates" / "hour"
    try:
        names = sorted(entry.name for entry in os.scandir(folder) if entry.name.endswith(".json"))
    except FileNotFoundError:
        names = []
    groups: dict[tuple[Any, ...], list[_Cell]] = {}
    for name in names:
        hour = name.removesuffix(".json")
        if (start is not None and hour < start[:13]) or (end is not None and hour >= end[:13]):
            continue
        for parts in _document_rows(folder / name, stream):
            if any(parts.get(field) != value for field, value in where.items()):
                continue
            values = {**parts, **{g: bucket_key(g[5:], hour + ":00:00") for g in time_groups}}
            key = tuple(values.get(g) for g in group_by)
            cells = groups.setdefault(key, [_Cell(spec) for spec in aggregates])
            for cell in cells:
                cell.add(parts)
    return _rows(groups, group_by, aggregates)


class _Cell(_Summary):
    """An aggregate folded from rollup figures rather than raw records."""

    def __init__(self, spec: str) -> None:
        super().__init__()
        self.spec = spec
        # Sketches are merged only when asked for a quantile, and not at all
        # for a cell of one hour: a week of hourly points reads 168 as stored.
        self.sketches: list[LatencySketch] = []
        self.users: set[str] = set()

    def add(self, parts: dict[str, Any]) -> None:
        if "resources" in parts:
            self._add_resource(parts["resources"])
        elif self.spec == "count":
            self.count += parts["count"]
        elif self.spec == "errors":
            self.count += parts["errors"]
        elif self.spec == "distinct:user_hash":
            self.users |= parts["users"]
        else:
            self.sketches.append(parts["latency"])

    def _add_resource(self, resources: dict[str, dict[str, float]]) -> None:
        summary = resources.get(self.spec.partition(":")[2])
        if not summary or not summary.get("count"):
            return
        self.count += int(summary["count"])
        self.total += summary["sum"]
        self.low = summary["min"] if self.low is None else min(self.low, summary["min"])
        self.high = summary["max"] if self.high is None else max(self.high, summary["max"])

    def result(self) -> Any:
        kind = self.spec.partition(":")[0]
        if self.spec in ("count", "errors"):
            return self.count
        if self.spec == "distinct:user_hash":
            return len(self.users)
        if kind in _SUMMARY_KINDS:
            return self.summary_result(kind)
        if len(self.sketches) == 1:
            return self.sketches[0].quantile(_QUANTILES[kind])
        merged = LatencySketch()
        for sketch in self.sketches:
            merged.merge(sketch)
        return merged.quantile(_QUANTILES[kind])


_CACHED_STREAMS = ("spans", "requests", "resource_usage")
_CACHE_ENTRIES = 4096
_cache: OrderedDict[tuple[str, str], tuple[tuple[int, int, int], list[dict[str, Any]]]] = (
    OrderedDict()
)
_cache_lock = threading.Lock()


def _document_rows(path: Path, stream: str) -> list[dict[str, Any]]:
    """What an hour's rollup document holds for ``stream``, one row per component or type.

    Span, request and resource rows are small and are kept (a few thousand
    documents' worth) while their document is unchanged, so a chart polling the
    last week reads only the hour that is still filling; rows holding an
    hour's users are not kept.
    """
    try:
        status = path.stat()
    except FileNotFoundError:
        return []
    key, identity = (str(path), stream), (status.st_ino, status.st_mtime_ns, status.st_size)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == identity:
            _cache.move_to_end(key)
            return hit[1]
    try:
        document = read_json(path)
    except (FileNotFoundError, ValueError):
        return []
    rows = _rows_of(document, stream) if isinstance(document, dict) else []
    if stream in _CACHED_STREAMS:
        with _cache_lock:
            _cache[key] = (identity, rows)
            _cache.move_to_end(key)
            while len(_cache) > _CACHE_ENTRIES:
                _cache.popitem(last=False)
    return rows


def _rows_of(document: dict[str, Any], stream: str) -> list[dict[str, Any]]:
    if stream == "spans":
        return [
            {
                "component": name,
                "count": c["count"],
                "errors": c["errors"],
                "latency": LatencySketch.from_json(c["latency"]),
            }
            for name, c in (document.get("spans") or {}).items()
        ]
    if stream == "requests":
        requests = document.get("requests") or {}
        if not requests.get("count"):
            return []
        return [
            {
                "count": requests["count"],
                "errors": requests["errors"],
                "latency": LatencySketch.from_json(requests["latency"]),
            }
        ]
    if stream == "resource_usage":
        resources = document.get("resources")
        return [{"resources": resources}] if resources else []
    users = frozenset(document.get("users") or ())
    return [
        {"event_type": kind, "count": count, "users": users}
        for kind, count in ((document.get("events") or {}).get("by_type") or {}).items()
    ]


def _group_value(record: dict[str, Any], group: str) -> Any:
    if group.startswith("time:"):
        stamp = record.get("timestamp")
        return bucket_key(group[5:], stamp) if isinstance(stamp, str) else None
    value = _get(record, group)
    return tuple(value) if isinstance(value, list) else value


def _get(record: Any, path: str) -> Any:
    if not isinstance(record, dict):
        return None
    if path in record:
        return record[path]
    head, dot, rest = path.partition(".")
    while dot:
        if head in record:
            found = _get(record[head], rest)
            if found is not None:
                return found
        more_head, dot, rest = rest.partition(".")
        head = f"{head}.{more_head}"
    return None


def stream_path(layout: StoreLayout, stream: str) -> Path:
    relative = _STREAMS.get(stream, stream)
    path = (layout.analytics_path / relative).resolve()
    if not relative.endswith(".jsonl") or layout.analytics_path.resolve() not in path.parents:
        raise ValueError(f"unknown stream {stream!r}; known: {', '.join(_STREAMS)}")
    return path
