"""Traces as span trees, and recent errors; the slow operations that link to the
traces are :mod:`~ff_otel.dashboard.slow_operations`.

These views are about what just happened: they read the newest spans and
error records backwards from the end of their streams (the last hour, and at
most a bounded number of bytes, so a very busy store still answers quickly;
the answer says what time it actually covers). Over the fleet's ClickHouse they
are SQL over its ``spans`` and ``logs``, with the same answers' shapes.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from ff_otel.core import clock
from ff_otel.dashboard.context import StoreView, epoch_ms, iso
from ff_otel.sql.engine import dialect_for, sql
from ff_otel.store.reader import read_recent

WINDOW = timedelta(hours=1)
"""How far back the views of what just happened look."""
_TRACE_BYTES = 64 * 1024 * 1024
_ERROR_BYTES = 8 * 1024 * 1024
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_MAX_ATTRIBUTES = 40
_MAX_TEXT = 300
_MAX_FRAMES = 30
_FRAME = re.compile(r'\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>.+)')
# The frames OpenTelemetry's and ff-otel's own context managers add around the
# user's code: where the exception was recorded, not where it was raised.
_INSTRUMENTATION_PATHS = ("/opentelemetry/", "/ff_otel/", "/contextlib.py")


def trace(view: StoreView, trace_id: str, around: str | None = None) -> dict[str, Any] | None:
    """One trace as a span tree (depth-first, children by start time); None when not found.

    ``around`` (a timestamp of the trace, as the operations view lists it)
    says how far back to look; without it, the last hour.
    """
    if not _TRACE_ID.fullmatch(trace_id):
        raise ValueError(f"not a trace id (32 lowercase hex digits): {trace_id[:40]!r}")
    since = clock.now() - WINDOW
    if around is not None:
        since = min(since, clock.parse_instant(around) - timedelta(minutes=2))
    if view.fleet:
        spans = _fleet_trace(view, trace_id, since)
    else:
        spans = [
            span
            for span in read_recent(view.layout.spans, since, max_bytes=_TRACE_BYTES)
            if span.get("trace_id") == trace_id
        ]
    if not spans:
        return None
    by_id = {str(span.get("span_id")): span for span in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans:
        parent = span.get("parent_span_id")
        children.setdefault(parent if parent in by_id else None, []).append(span)
    for siblings in children.values():
        siblings.sort(key=lambda s: str(s.get("timestamp")))
    begin = min(epoch_ms(str(s["timestamp"])) for s in spans)
    finish = max(epoch_ms(str(s["timestamp"])) + float(s.get("duration_ms") or 0) for s in spans)
    rows: list[dict[str, Any]] = []
    stack = [(span, 0) for span in reversed(children.get(None, []))]
    while stack:
        span, depth = stack.pop()
        rows.append(_span_row(span, depth, begin))
        stack.extend((child, depth + 1) for child in reversed(children.get(span["span_id"], [])))
    return {
        "trace_id": trace_id,
        "timestamp": min(str(s["timestamp"]) for s in spans),
        "duration_ms": round(finish - begin, 3),
        "services": sorted({str(s.get("service")) for s in spans}),
        "spans": rows,
    }


def _fleet_trace(view: StoreView, trace_id: str, since: datetime) -> list[dict[str, Any]]:
    """The trace's spans from the fleet, as the store's span records look."""
    rows = sql(
        """
        SELECT timestamp, trace_id, span_id, parent_span_id, name, kind, component,
          duration_ms, status, status_message, attributes, events, service
        FROM spans WHERE trace_id = $trace_id AND timestamp >= $since ORDER BY timestamp
        """,
        {"trace_id": trace_id, "since": since.replace(tzinfo=None)},
        query_url=view.query_url,
    )
    return [{**row, "timestamp": clock.format_iso(row["timestamp"])} for row in rows]


def _span_row(span: dict[str, Any], depth: int, begin_ms: float) -> dict[str, Any]:
    attributes = span.get("attributes") or {}
    return {
        "span_id": span.get("span_id"),
        "parent_span_id": span.get("parent_span_id"),
        "depth": depth,
        "name": span.get("name"),
        "component": span.get("component"),
        "kind": span.get("kind"),
        "status": span.get("status"),
        "status_message": _short(span.get("status_message")),
        "offset_ms": round(epoch_ms(str(span["timestamp"])) - begin_ms, 3),
        "duration_ms": round(float(span.get("duration_ms") or 0.0), 3),
        "attributes": {
            str(key): _short(value) for key, value in list(attributes.items())[:_MAX_ATTRIBUTES]
        },
        "events": [_event_row(event, begin_ms) for event in span.get("events") or ()],
    }


def _event_row(event: dict[str, Any], begin_ms: float) -> dict[str, Any]:
    attributes = dict(event.get("attributes") or {})
    row: dict[str, Any] = {
        "name": event.get("name"),
        "offset_ms": round(epoch_ms(str(event["timestamp"])) - begin_ms, 3)
        if isinstance(event.get("timestamp"), str)
        else None,
    }
    if event.get("name") == "exception":
        row["exception"] = _exception(attributes)
        attributes = {k: v for k, v in attributes.items() if not k.startswith("exception.")}
    row["attributes"] = {str(key): _short(value) for key, value in list(attributes.items())[:10]}
    return row


def _exception(attributes: dict[str, Any]) -> dict[str, Any]:
    """Type, message and the stack frames (innermost last), the instrumentation's own left out."""
    frames: list[dict[str, Any]] = []
    hidden = 0
    lines = str(attributes.get("exception.stacktrace") or "").splitlines()
    for index, line in enumerate(lines):
        found = _FRAME.fullmatch(line)
        if found is None:
            continue
        if any(part in found["file"] for part in _INSTRUMENTATION_PATHS):
            hidden += 1
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        code = following.strip() if following.startswith("    ") else ""
        frames.append(
            {
                "file": found["file"],
                "line": int(found["line"]),
                "function": found["function"],
                "code": _short(code),
            }
        )
    return {
        "type": attributes.get("exception.type"),
        "message": _short(attributes.get("exception.message")),
        "frames": frames[-_MAX_FRAMES:],
        "frames_left_out": hidden + max(0, len(frames) - _MAX_FRAMES),
    }


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + "…"
    if isinstance(value, (list, tuple)):
        return [_short(item) for item in value[:20]]
    return value


def recent_errors(view: StoreView, limit: int = 10) -> dict[str, Any]:
    """The last hour's failures (failed spans, error logs) by component, operation and type."""
    since = clock.now() - WINDOW
    if view.fleet:
        return _fleet_errors(view, since, limit)
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    per_component: Counter[str] = Counter()
    for record in read_recent(view.layout.error_rates, since, max_bytes=_ERROR_BYTES):
        kind = record.get("record_type")
        if kind not in ("span_error", "log_error"):
            continue  # interval summaries count errors; they are not errors themselves
        component = str(record.get("component") or record.get("scope") or "-")
        name = str(record.get("name") or record.get("event_name") or "-")
        error_type = str(record.get("error_type") or record.get("severity") or "-")
        per_component[component] += 1
        group = groups.setdefault(
            (component, name, error_type),
            {"component": component, "operation": name, "error_type": error_type, "count": 0},
        )
        group["count"] += 1
        group["last_seen"] = record.get("timestamp")
        group["message"] = _short(record.get("message") or record.get("body"))
        if record.get("trace_id"):
            group["trace_id"] = record.get("trace_id")
    ranked = sorted(groups.values(), key=lambda g: g["count"], reverse=True)
    return {
        "window_start": iso(since),
        "total": sum(per_component.values()),
        "by_component": dict(per_component.most_common()),
        "groups": ranked[:limit],
    }


def _fleet_errors(view: StoreView, since: datetime, limit: int) -> dict[str, Any]:
    """:func:`recent_errors` over the fleet, in SQL: failed spans (status error; the type is
    their ``error.type`` attribute) and error logs (severity error and above)."""
    d = dialect_for(view.query_url)
    attributes = d.column("attributes")
    rows = sql(
        f"""
        SELECT component, operation, error_type, count(*) AS n, max(timestamp) AS last_seen,
          {d.arg_max("message", "timestamp")} AS message,
          {d.arg_max("trace_id", "timestamp")} AS trace_id
        FROM (
          SELECT coalesce(component, scope, '-') AS component, coalesce(name, '-') AS operation,
            coalesce({d.map_get(attributes, "error.type")}, 'error') AS error_type,
            status_message AS message, trace_id, timestamp
          FROM spans WHERE status = 'error' AND timestamp >= $since
          UNION ALL
          SELECT coalesce({d.map_get(attributes, "component")}, scope, '-'),
            coalesce(event_name, '-'), coalesce(severity, '-'), CAST(body AS VARCHAR),
            trace_id, timestamp
          FROM logs WHERE severity_number >= 17 AND timestamp >= $since
        ) AS failures
        GROUP BY component, operation, error_type ORDER BY n DESC, last_seen DESC
        """,
        {"since": since.replace(tzinfo=None)},
        query_url=view.query_url,
    )
    per_component: Counter[str] = Counter()
    for row in rows:
        per_component[str(row["component"])] += int(row["n"])
    return {
        "window_start": iso(since),
        "total": sum(per_component.values()),
        "by_component": dict(per_component.most_common()),
        "groups": [
            {
                "component": row["component"],
                "operation": row["operation"],
                "error_type": row["error_type"],
                "count": int(row["n"]),
                "last_seen": clock.format_iso(row["last_seen"]),
                "message": _short(row["message"]),
                **({"trace_id": row["trace_id"]} if row["trace_id"] else {}),
            }
            for row in rows[:limit]
        ],
    }
