"""Slow operations: each span name and component of the last hour, slowest p95 first.

Each comes with its slowest and its latest calls, whose traces
:func:`ff_otel.dashboard.traces.trace` shows. Like the other views of what just
happened, it reads the newest spans backwards from the end of ``spans.jsonl``
(the last hour, at most :data:`_SPAN_BYTES`, so a very busy store still
answers quickly; the answer says what time it actually covers); over the
fleet's ClickHouse it is SQL over its ``spans``, with the same answer's shape.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from ff_otel.core import clock
from ff_otel.dashboard.context import StoreView, iso
from ff_otel.dashboard.traces import WINDOW
from ff_otel.query import query
from ff_otel.sql.engine import sql
from ff_otel.store.reader import read_recent

_SPAN_BYTES = 24 * 1024 * 1024
"""The most of ``spans.jsonl`` one view reads (about 40,000 spans)."""
_KEEP_TRACES = 3


def slow_operations(view: StoreView, limit: int = 10) -> dict[str, Any]:
    """Operations (span name and component) of the last hour, slowest p95 first,
    each with its slowest and its latest traces."""
    since = clock.now() - WINDOW
    if view.fleet:
        return _fleet_operations(view, since, limit)
    spans = read_recent(view.layout.spans, since, max_bytes=_SPAN_BYTES)
    operations: dict[tuple[str, str], _Operation] = {}
    for span in spans:
        key = (str(span.get("name")), str(span.get("component")))
        operation = operations.get(key)
        if operation is None:
            operation = operations[key] = _Operation(*key)
        operation.add(span)
    ranked = sorted(operations.values(), key=lambda o: o.p95(), reverse=True)
    return {
        "window_start": iso(since),
        "covers_from": spans[0]["timestamp"] if spans else None,
        "spans": len(spans),
        "operations": [operation.to_dict() for operation in ranked[:limit]],
    }


class _Operation:
    def __init__(self, name: str, component: str) -> None:
        self.name, self.component = name, component
        self.durations: list[float] = []
        self.errors = 0
        self.slowest: list[dict[str, Any]] = []
        self.latest: list[dict[str, Any]] = []

    def add(self, span: dict[str, Any]) -> None:
        duration = float(span.get("duration_ms") or 0.0)
        self.durations.append(duration)
        failed = span.get("status") == "error"
        self.errors += failed
        call = {
            "trace_id": span.get("trace_id"),
            "timestamp": span.get("timestamp"),
            "duration_ms": round(duration, 3),
            "status": "error" if failed else "ok",
        }
        self.latest.append(call)
        if len(self.latest) > _KEEP_TRACES:
            del self.latest[0]
        if len(self.slowest) < _KEEP_TRACES or duration > self.slowest[-1]["duration_ms"]:
            self.slowest.append(call)
            self.slowest.sort(key=lambda c: c["duration_ms"], reverse=True)
            del self.slowest[_KEEP_TRACES:]

    def p95(self) -> float:
        return _nearest_rank(sorted(self.durations), 0.95)

    def to_dict(self) -> dict[str, Any]:
        ordered = sorted(self.durations)
        return {
            "name": self.name,
            "component": self.component,
            "calls": len(ordered),
            "errors": self.errors,
            "p50_ms": round(_nearest_rank(ordered, 0.5), 3),
            "p95_ms": round(_nearest_rank(ordered, 0.95), 3),
            "max_ms": round(ordered[-1], 3),
            "slowest": self.slowest,
            "latest": self.latest[::-1],
        }


def _fleet_operations(view: StoreView, since: datetime, limit: int) -> dict[str, Any]:
    """:func:`slow_operations` over the fleet, in SQL: the percentiles from the latency
    sketch (:func:`ff_otel.query`), errors as failed spans
    (:func:`ff_otel.sql.schema.span_failed`)."""
    figures = query(
        "spans",
        start=since,
        group_by=["name", "component"],
        aggregates=["count", "errors", "p50:duration_ms", "p95:duration_ms", "max:duration_ms"],
        query_url=view.query_url,
    )
    ranked = sorted(figures, key=lambda row: row["p95:duration_ms"] or 0.0, reverse=True)[:limit]
    calls = _fleet_calls(view, since, [(row["name"], row["component"]) for row in ranked])
    covers = sql(
        "SELECT min(timestamp) AS first FROM spans WHERE timestamp >= $since",
        {"since": since.replace(tzinfo=None)},
        query_url=view.query_url,
    )
    first = covers[0]["first"] if covers else None
    return {
        "window_start": iso(since),
        "covers_from": clock.format_iso(first) if figures and first else None,
        "spans": sum(int(row["count"]) for row in figures),
        "operations": [
            {
                "name": str(row["name"]),
                "component": str(row["component"]),
                "calls": int(row["count"]),
                "errors": int(row["errors"]),
                "p50_ms": round(row["p50:duration_ms"] or 0.0, 3),
                "p95_ms": round(row["p95:duration_ms"] or 0.0, 3),
                "max_ms": round(row["max:duration_ms"] or 0.0, 3),
                **calls.get((row["name"], row["component"]), {"slowest": [], "latest": []}),
            }
            for row in ranked
        ],
    }


def _fleet_calls(
    view: StoreView, since: datetime, operations: list[tuple[Any, Any]]
) -> dict[tuple[Any, Any], dict[str, list[dict[str, Any]]]]:
    """The slowest and the latest calls of each operation, in one statement."""
    ranked: dict[tuple[Any, Any], dict[str, list[tuple[int, dict[str, Any]]]]] = {}
    if not operations:
        return {}
    rows = sql(
        f"""
        SELECT * FROM (
          SELECT name, component, trace_id, timestamp, duration_ms, status,
            row_number() OVER (PARTITION BY name, component
                               ORDER BY duration_ms DESC, timestamp DESC) AS slow_rank,
            row_number() OVER (PARTITION BY name, component ORDER BY timestamp DESC) AS new_rank
          FROM spans WHERE timestamp >= $since
        ) AS ranked WHERE slow_rank <= {_KEEP_TRACES} OR new_rank <= {_KEEP_TRACES}
        """,
        {"since": since.replace(tzinfo=None)},
        query_url=view.query_url,
    )
    wanted = set(operations)
    for row in rows:
        key = (row["name"], row["component"])
        if key not in wanted:
            continue
        entry = ranked.setdefault(key, {"slowest": [], "latest": []})
        call = {
            "trace_id": row["trace_id"],
            "timestamp": clock.format_iso(row["timestamp"]),
            "duration_ms": round(float(row["duration_ms"] or 0.0), 3),
            "status": "error" if row["status"] == "error" else "ok",
        }
        if row["slow_rank"] <= _KEEP_TRACES:
            entry["slowest"].append((row["slow_rank"], call))
        if row["new_rank"] <= _KEEP_TRACES:
            entry["latest"].append((row["new_rank"], call))
    return {
        key: {
            name: [call for _, call in sorted(calls, key=lambda p: p[0])]
            for name, calls in entry.items()
        }
        for key, entry in ranked.items()
    }


def _nearest_rank(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
