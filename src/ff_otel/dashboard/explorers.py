"""The explorer pages' data: traces, structured logs and metrics, searched with SQL.

Every answer is one parameterised query through the store's SQL engine, or the
fleet's ClickHouse over a query URL (:mod:`ff_otel.sql`; the few functions the two
name differently come from the backend's dialect): the filters a user types are
bound as parameters and never formatted into the statement. Each query names the window it covers
(``since``: ``15m``, ``1h``, ``6h``, ``24h``, ``7d``; the last hour by default).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from ff_otel.core import clock
from ff_otel.dashboard.context import StoreView
from ff_otel.sql.engine import dialect_for, sql

Query = dict[str, list[str]]

PAGES = re.compile(r"/(traces|logs|metrics|sql)(?:/([0-9a-f]{32}))?")
"""The explorer pages; only ``/traces`` takes a trace id (its waterfall)."""

SINCE = {"15m": 15, "1h": 60, "6h": 360, "24h": 1440, "7d": 10080}
"""The windows a page may ask for, in minutes."""
SEVERITIES = {"trace": 1, "debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}
"""OpenTelemetry's severity numbers: ``severity=warn`` shows warnings and above."""
_PAGE_SIZE = 50
_MAX_PAGE = 500
_MAX_SERIES = 20
_BUCKETS = 60
_MAX_TEXT = 2000


def reads(view: StoreView) -> dict[str, Callable[[Query], Any]]:
    """The explorers' JSON endpoints, by path."""
    base, url = view.layout.base_path, view.query_url
    return {
        "/api/explore/traces": lambda q: traces(base, q, url),
        "/api/explore/logs": lambda q: logs(base, q, url),
        "/api/explore/metrics": lambda q: metrics(base, q, url),
    }


def traces(base: Path, query: Query, query_url: str = "") -> dict[str, Any]:
    """Recent traces, newest first: a trace matches when one of its spans has the
    ``service``, ``name`` and ``attr`` asked for; ``status`` and ``min_ms`` judge the
    whole trace (an error anywhere in it; its root's duration)."""
    d = dialect_for(query_url)
    since, minutes = _since(query)
    limit, offset = _paging(query)
    params: dict[str, Any] = {"since": since, "limit": limit, "offset": offset}
    span_filters = ["true"]
    if service := _text(query, "service"):
        span_filters.append("service = $service")
        params["service"] = service
    if name := _text(query, "name"):
        span_filters.append("name = $name")
        params["name"] = name
    if attr := _text(query, "attr"):
        key, colon, value = attr.partition(":")
        if not colon or not key:
            raise ValueError(f"attr must be key:value, e.g. http.route:/chat; got {attr[:80]!r}")
        span_filters.append("attributes[$attr_key] = $attr_value")
        params.update(attr_key=key, attr_value=value)
    trace_filters = [d.any_true(" AND ".join(span_filters))]
    errors = "count(*) FILTER (WHERE status = 'error')"
    status = _text(query, "status")
    if status == "error":
        trace_filters.append(f"{errors} > 0")
    elif status == "ok":
        trace_filters.append(f"{errors} = 0")
    elif status:
        raise ValueError(f"status must be error or ok; got {status[:40]!r}")
    duration = (
        "coalesce(max(duration_ms) FILTER (WHERE coalesce(parent_span_id, '') = ''), "
        f"{d.epoch_ms('max(end_timestamp)')} - {d.epoch_ms('min(timestamp)')})"
    )
    if (min_ms := _number(query, "min_ms")) is not None:
        trace_filters.append(f"{duration} >= $min_ms")
        params["min_ms"] = min_ms
    root = "FILTER (WHERE coalesce(parent_span_id, '') = '')"
    first_name = d.arg_min("name", "timestamp")
    first_service = d.arg_min("service", "timestamp")
    rows = sql(
        f"""
        SELECT trace_id, min(timestamp) AS start,
          coalesce({first_name} {root}, {first_name}) AS root_name,
          coalesce({first_service} {root}, {first_service}) AS service,
          {duration} AS duration_ms, count(*) AS spans, {errors} AS errors,
          {d.distinct_list("service")} AS services, count(*) OVER () AS matching
        FROM spans
        WHERE timestamp >= $since AND trace_id IS NOT NULL
        GROUP BY trace_id
        HAVING {" AND ".join(trace_filters)}
        ORDER BY start DESC, trace_id
        LIMIT $limit OFFSET $offset
        """,
        params,
        base_path=base,
        query_url=query_url,
    )
    return {
        **_listing(since, minutes, rows, offset, limit),
        "traces": [
            {
                "trace_id": row["trace_id"],
                "start": clock.format_iso(row["start"]),
                "root_name": row["root_name"],
                "service": row["service"],
                "services": sorted(s for s in row["services"] if s is not None),
                "duration_ms": _rounded(row["duration_ms"]),
                "spans": int(row["spans"]),
                "errors": int(row["errors"]),
            }
            for row in rows
        ],
    }


def _listing(
    since: datetime, minutes: int, rows: list[dict[str, Any]], offset: int, limit: int
) -> dict[str, Any]:
    """What every paged listing says about itself: its window, its match count, its page."""
    return {
        "since": clock.format_iso(since),
        "minutes": minutes,
        "matching": int(rows[0]["matching"]) if rows else 0,
        "offset": offset,
        "limit": limit,
    }


def logs(base: Path, query: Query, query_url: str = "") -> dict[str, Any]:
    """Log records, newest first: ``severity`` and above, of a ``component`` (its logger,
    or a ``component`` attribute), of a ``trace_id``, whose body or attributes contain
    the text ``q`` (case-insensitive)."""
    d = dialect_for(query_url)
    since, minutes = _since(query)
    limit, offset = _paging(query)
    params: dict[str, Any] = {"since": since, "limit": limit, "offset": offset}
    filters = ["timestamp >= $since"]
    if severity := _text(query, "severity"):
        number = SEVERITIES.get(severity.lower())
        if number is None:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}; got {severity!r}")
        filters.append("severity_number >= $severity")
        params["severity"] = number
    if component := _text(query, "component"):
        scoped = d.map_get(d.column("attributes"), "component")
        filters.append(f"(scope = $component OR {scoped} = $component)")
        params["component"] = component
    if trace_id := _text(query, "trace_id"):
        filters.append("trace_id = $trace_id")
        params["trace_id"] = trace_id.lower()
    if text := _text(query, "q"):
        filters.append(
            f"({d.contains_text('CAST(body AS VARCHAR)', '$q')} "
            f"OR {d.contains_text('CAST(attributes_json AS VARCHAR)', '$q')})"
        )
        params["q"] = text
    rows = sql(
        f"""
        SELECT timestamp, severity, severity_number, scope, event_name, body, attributes,
          trace_id, span_id, service, count(*) OVER () AS matching
        FROM logs WHERE {" AND ".join(filters)}
        ORDER BY timestamp DESC LIMIT $limit OFFSET $offset
        """,
        params,
        base_path=base,
        query_url=query_url,
    )
    return {
        **_listing(since, minutes, rows, offset, limit),
        "logs": [
            {
                "timestamp": clock.format_iso(row["timestamp"]),
                "severity": row["severity"],
                "severity_number": row["severity_number"],
                "component": (row["attributes"] or {}).get("component") or row["scope"],
                "body": _short(row["body"]),
                "attributes": {k: _short(v) for k, v in (row["attributes"] or {}).items()},
                "trace_id": row["trace_id"],
                "span_id": row["span_id"],
                "service": row["service"],
            }
            for row in rows
        ],
    }


def metrics(base: Path, query: Query, query_url: str = "") -> dict[str, Any]:
    """Every instrument of the window; with ``name``, that instrument's series (one per
    attribute set), in about 60 time buckets."""
    since, minutes = _since(query)
    instruments = sql(
        """
        SELECT name, any_value(type) AS type, any_value(unit) AS unit,
          any_value(description) AS description, count(*) AS points,
          count(DISTINCT CAST(attributes_json AS VARCHAR)) AS series, max(timestamp) AS last
        FROM metrics WHERE timestamp >= $since GROUP BY name ORDER BY name
        """,
        {"since": since},
        base_path=base,
        query_url=query_url,
    )
    answer: dict[str, Any] = {
        "since": clock.format_iso(since),
        "minutes": minutes,
        "instruments": [
            {
                **row,
                "points": int(row["points"]),
                "series": int(row["series"]),
                "last": clock.format_iso(row["last"]),
            }
            for row in instruments
        ],
    }
    name = _text(query, "name")
    if name:
        found = next((row for row in instruments if row["name"] == name), None)
        answer["selected"] = (
            _instrument(base, query_url, name, found, since, minutes) if found else None
        )
    return answer


def _instrument(
    base: Path,
    query_url: str,
    name: str,
    found: dict[str, Any],
    since: datetime,
    minutes: int,
) -> dict[str, Any]:
    d = dialect_for(query_url)
    width = max(1, minutes * 60 // _BUCKETS)
    start_ms = since.replace(tzinfo=UTC).timestamp() * 1000.0
    # The bucket as its index from the window's start (time_bucket with that origin).
    rows = sql(
        f"""
        SELECT floor(({d.epoch_ms("timestamp")} - {d.epoch_ms("$since")}) / $width_ms) AS bucket,
          CAST(attributes_json AS VARCHAR) AS series_key, any_value(attributes) AS attributes,
          {d.any_true("monotonic")} AS monotonic, sum(value) AS total, avg(value) AS mean,
          {d.arg_max("value", "timestamp")} AS last,
          {d.collect_list("bucket_counts")} AS counts,
          any_value(explicit_bounds) AS bounds, min({d.column("min")}) AS low,
          max({d.column("max")}) AS high, sum({d.column("sum")}) AS hist_sum,
          sum({d.column("count")}) AS hist_count
        FROM metrics WHERE name = $name AND timestamp >= $since
        GROUP BY bucket, series_key ORDER BY bucket
        """,
        {"width_ms": width * 1000, "since": since, "name": name},
        base_path=base,
        query_url=query_url,
    )
    kind = str(found["type"])
    by_series: dict[str, dict[str, Any]] = {}
    for row in rows:
        attributes = row["attributes"] or {}
        label = ", ".join(f"{k}={v}" for k, v in sorted(attributes.items())) or name
        entry = by_series.setdefault(row["series_key"], {"name": label, "attributes": attributes})
        at = start_ms + int(row["bucket"]) * width * 1000.0
        for line, value in _readings(kind, row, width).items():
            entry.setdefault(line, []).append([at, value])
    series = sorted(by_series.values(), key=lambda s: str(s["name"]))
    if kind == "sum" and any(row["monotonic"] for row in rows):
        shown = "rate per second (counter)"
    elif kind in ("histogram", "exponential_histogram"):
        shown = "p50 / p95 / p99 (histogram)" if kind == "histogram" else "mean (histogram)"
    else:
        shown = "value (gauge)" if kind == "gauge" else "value (up-down counter)"
    return {
        **found,
        "last": clock.format_iso(found["last"]),
        "shown_as": shown,
        "bucket_seconds": width,
        "start": start_ms,
        "series": series[:_MAX_SERIES],
        "series_left_out": max(0, len(series) - _MAX_SERIES),
    }


def _readings(kind: str, row: dict[str, Any], width: int) -> dict[str, float | None]:
    """What one time bucket of one series shows: a counter as its rate, a histogram as
    quantiles of its merged buckets, anything else as its value."""
    if kind == "sum":
        if row["monotonic"]:
            return {"rate": _rounded((row["total"] or 0.0) / width)}
        return {"value": _rounded(row["last"])}
    if kind == "gauge":
        return {"value": _rounded(row["mean"])}
    count = int(row["hist_count"] or 0)
    if kind != "histogram" or not count:
        return {"mean": _rounded((row["hist_sum"] or 0.0) / count) if count else None}
    bounds = [float(b) for b in row["bounds"] or ()]
    merged = [0] * (len(bounds) + 1)
    for counts in row["counts"]:
        parsed = orjson.loads(counts) if isinstance(counts, str) else counts
        for index, value in enumerate(parsed or ()):
            if index < len(merged):
                merged[index] += int(value)
    return {
        f"p{round(q * 100)}": _rounded(_quantile(merged, bounds, q, row["low"], row["high"]))
        for q in (0.5, 0.95, 0.99)
    }


def _quantile(
    counts: list[int], bounds: list[float], q: float, low: float | None, high: float | None
) -> float | None:
    """The q-quantile of an explicit-bucket histogram, linear within its bucket and
    clamped to the recorded min and max."""
    total = sum(counts)
    if not total:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            lower = bounds[index - 1] if index > 0 else (low if low is not None else 0.0)
            upper = bounds[index] if index < len(bounds) else (high if high is not None else lower)
            value = lower + (upper - lower) * (rank - seen) / count
            if low is not None:
                value = max(value, low)
            if high is not None:
                value = min(value, high)
            return value
        seen += count
    return high


def _since(query: Query) -> tuple[datetime, int]:
    text = _text(query, "since") or "1h"
    minutes = SINCE.get(text)
    if minutes is None:
        raise ValueError(f"since must be one of {', '.join(SINCE)}; got {text[:20]!r}")
    moment = clock.now() - timedelta(minutes=minutes)
    return moment.replace(tzinfo=None), minutes


def _paging(query: Query) -> tuple[int, int]:
    limit = _number(query, "limit")
    offset = _number(query, "offset")
    size = _PAGE_SIZE if limit is None else int(limit)
    if not 1 <= size <= _MAX_PAGE:
        raise ValueError(f"limit must be from 1 to {_MAX_PAGE}")
    start = 0 if offset is None else int(offset)
    if start < 0:
        raise ValueError("offset must not be negative")
    return size, start


def _text(query: Query, name: str) -> str:
    values = query.get(name)
    return values[-1].strip()[:500] if values else ""


def _number(query: Query, name: str) -> float | None:
    text = _text(query, name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number; got {text[:40]!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number")
    return value


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + "…"
    return value
