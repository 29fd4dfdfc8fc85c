"""Daily, weekly and monthly reports: one self-contained summary per period and format.

``analytics/reports/<period>/<first day>.<format>`` (``day``, ``week``,
``month``; ``json`` and ``csv``, as ``report_output_formats`` says). Each holds
the period's health (share of healthy intervals, components that were not),
performance (requests, errors, latency percentiles, per-component figures),
alerts (lifecycle records by kind and severity), users and features (the BI
of the period). Health and performance are computed in SQL over the views
(:mod:`ff_otel.pipeline.bi_figures` for the spans, as BI does), the users and
features by BI; the alerts replay the lifecycle records to know each alert's
state at the period's end. With a ``query_url`` the performance, users,
features and insights are the fleet's, from ClickHouse (BI's per-host figures,
such as session lengths, absent); health and alerts stay the store's own (for a
fleet, the store of ``ff-otel monitor --query-url``, where the fleet's alerts
live), and the report says so under ``sources``. The collector writes the
report of the latest complete period ``aggregation_delay_minutes`` after its
end (time for late records to arrive), from its store; earlier periods are not
backfilled. ``generate_report`` makes one on demand.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ff_otel.alerting.state import replay
from ff_otel.compliance.trails import audit_act
from ff_otel.core import clock
from ff_otel.pipeline import bi
from ff_otel.pipeline.bi_figures import SpanFigures, spans_between
from ff_otel.pipeline.periods import bucket_bounds, bucket_key
from ff_otel.spec.config import FFAnalyticsConfigDTO, FFBusinessInputsDTO
from ff_otel.sql.engine import sql
from ff_otel.sql.inventory import has_records_between
from ff_otel.store.documents import write_bytes_atomic, write_json_atomic
from ff_otel.store.layout import StoreLayout
from ff_otel.store.reader import read_records

_SCHEDULE = {
    "day": "generate_daily_reports",
    "week": "generate_weekly_reports",
    "month": "generate_monthly_reports",
}


def report_window(period: str, end: datetime | str | None) -> tuple[datetime, datetime]:
    """The calendar period (UTC day, ISO week, month) containing ``end`` - 1 µs."""
    if period not in _SCHEDULE:
        raise ValueError(f"report period must be one of {list(_SCHEDULE)}, got {period!r}")
    stop = clock.now() if end is None else clock.parse_instant(end)
    key = bucket_key(period, clock.format_iso(stop - timedelta(microseconds=1)))
    return bucket_bounds(period, key)


def build_report(
    layout: StoreLayout,
    analytics: FFAnalyticsConfigDTO,
    period: str,
    start: datetime,
    stop: datetime,
    business: FFBusinessInputsDTO | None = None,
    query_url: str = "",
) -> dict[str, Any]:
    """The report of ``[start, stop)``: from the store, or (``query_url``) the fleet's
    performance and users from ClickHouse beside the store's health and alerts."""
    start_iso, stop_iso = clock.format_iso(start), clock.format_iso(stop)
    # BI windows have fixed lengths (a "month" is 30 days); for a calendar
    # month the report's users are those of the 30 days before its end.
    intelligence = bi.generate(layout, analytics, period, stop, business, query_url=query_url)
    dto = intelligence.dto
    report: dict[str, Any] = {
        "period": period,
        "start": start_iso,
        "end": stop_iso,
        "generated_at": clock.now_iso(),
        "health": _health(layout, start, stop),
        "performance": performance_figures(spans_between(layout.base_path, start, stop, query_url)),
        "alerts": _alerts(layout, start_iso, stop_iso),
        "users": {
            "total": dto.total_users,
            "active": dto.active_users,
            "new": dto.new_users,
            "returning": dto.returning_users,
            "lifecycle": intelligence.extras["lifecycle"],
            "average_session_minutes": (
                None
                if "average_session_duration_minutes" in intelligence.absent
                else dto.average_session_duration_minutes
            ),
        },
        "features": dto.most_used_features,
        "insights": {
            "performance_bottlenecks": dto.performance_bottlenecks,
            "scaling_recommendations": dto.scaling_recommendations,
            "user_experience_improvements": dto.user_experience_improvements,
        },
    }
    if "most_used_features" in intelligence.absent:
        del report["features"]  # track_feature_usage=False: not tracked, so not reported
    if query_url:
        fleet = {section: "fleet" for section in ("performance", "users", "features", "insights")}
        report["sources"] = {**fleet, "health": "store", "alerts": "store"}
    return report


def write_report(layout: StoreLayout, report: dict[str, Any], formats: list[str]) -> list[Path]:
    audit_act(
        layout, "report_generated", f"{report['period']}:{report['start'][:10]}", formats=formats
    )
    folder = layout.analytics_path / "reports" / report["period"]
    folder.mkdir(parents=True, exist_ok=True)
    stem = report["start"][:10]
    written = []
    for fmt in formats:
        path = folder / f"{stem}.{fmt}"
        if fmt == "json":
            write_json_atomic(path, report)
        else:
            write_bytes_atomic(path, to_csv(report).encode())
        written.append(path)
    return written


def due_reports(
    layout: StoreLayout,
    analytics: FFAnalyticsConfigDTO,
    now: datetime,
    without_data: dict[tuple[str, datetime], datetime] | None = None,
) -> list[tuple[str, datetime, datetime]]:
    """Scheduled reports whose period is complete, final, and not written yet.

    None at all with ``generate_usage_reports=False``; otherwise the periods
    whose switch (``generate_daily_reports``, ``_weekly_``, ``_monthly_``) is on
    and which hold any span, user event, session or resource reading. A
    collector passes ``without_data``, kept from one call to the next: a
    final period found empty is added to it (``(period, start) -> stop``) and
    not looked for again, until the collector clears it on seeing a record of
    such a period arrive (the look reads every timestamp of those streams;
    asked every interval, it cost the collector more than all its other work
    on a store of a month).
    """
    if not analytics.generate_usage_reports:
        return []
    delay = timedelta(minutes=analytics.aggregation_delay_minutes)
    candidates = []
    for period, flag in _SCHEDULE.items():
        if not getattr(analytics, flag):
            continue
        start, stop = report_window(period, now - delay)
        start, stop = report_window(period, start)  # the period before the open one
        path = layout.analytics_path / "reports" / period / f"{clock.format_iso(start)[:10]}.json"
        known_empty = without_data is not None and (period, start) in without_data
        if stop + delay <= now and not path.exists() and not known_empty:
            candidates.append((period, start, stop))
    if not candidates:
        return []
    found = has_records_between(
        layout,
        [layout.spans, layout.behavior_patterns, layout.session_analytics, layout.resource_usage],
        [(start, stop) for _, start, stop in candidates],
    )
    due = []
    for candidate, any_record in zip(candidates, found, strict=True):
        if any_record:
            due.append(candidate)
        elif without_data is not None:
            without_data[candidate[:2]] = candidate[2]
    return due


def to_csv(report: dict[str, Any]) -> str:
    """``section,metric,value`` rows: nested values flattened to dotted names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "metric", "value"])
    for section in ("health", "performance", "alerts", "users", "features", "insights"):
        for name, value in _flatten(report.get(section, {})):
            writer.writerow([section, name, value])
    return buffer.getvalue()


def _range(start: datetime, stop: datetime) -> dict[str, datetime]:
    return {"start": _naive(start), "stop": _naive(stop)}


def _naive(instant: datetime) -> datetime:
    return clock.parse_instant(instant).replace(tzinfo=None)


_IN_RANGE = '"timestamp" >= $start AND "timestamp" < $stop'
# Labels as Python's str() writes them (None for an absent field), in order of
# first appearance, as the figures were counted before they were SQL.
_STATUS_SQL = f"""
SELECT coalesce(status, 'None') AS status, count(*) AS n
FROM health_checks WHERE {_IN_RANGE}
GROUP BY 1 ORDER BY min("timestamp"), 1
"""
_TROUBLED_SQL = f"""
SELECT coalesce(c->>'$.component', 'None') || ': ' || coalesce(c->>'$.status', 'None') AS label,
    count(*) AS n
FROM (SELECT "timestamp" AS ts, unnest(TRY_CAST(checks AS JSON[])) AS c,
             generate_subscripts(TRY_CAST(checks AS JSON[]), 1) AS i
      FROM health_checks WHERE {_IN_RANGE})
WHERE (c->>'$.status') IS DISTINCT FROM 'healthy'
GROUP BY 1 ORDER BY n DESC, min(ts), min(i) LIMIT 10
"""


def _health(layout: StoreLayout, start: datetime, stop: datetime) -> dict[str, Any]:
    params, base = _range(start, stop), layout.base_path
    statuses = {row["status"]: row["n"] for row in sql(_STATUS_SQL, params, base_path=base)}
    troubled = {row["label"]: row["n"] for row in sql(_TROUBLED_SQL, params, base_path=base)}
    intervals = sum(statuses.values())
    return {
        "intervals": intervals,
        "healthy_share_percent": round(100 * statuses.get("healthy", 0) / intervals, 2)
        if intervals
        else None,
        "status_counts": statuses,
        "not_healthy": troubled,
    }


def performance_figures(spans: SpanFigures) -> dict[str, Any]:
    """Requests, failed requests, error rate, latency percentiles and per-component figures."""
    requests = spans.requests
    count, errors, sketch = requests["count"], requests["errors"], requests["latency"]
    return {
        "requests": count,
        "failed_requests": errors,
        "error_rate_percent": round(100 * errors / count, 3) if count else None,
        "p50_ms": sketch.quantile(0.5),
        "p95_ms": sketch.quantile(0.95),
        "p99_ms": sketch.quantile(0.99),
        "components": {
            name: {
                "spans": c["count"],
                "errors": c["errors"],
                "p95_ms": c["latency"].quantile(0.95),
            }
            for name, c in sorted(spans.components.items())
        },
    }


_DELIVERIES = ("notified", "notification_failed")


def _alerts(layout: StoreLayout, start: str, stop: str) -> dict[str, Any]:
    # Alerts, not lifecycle lines: each alert active in the period counted once,
    # in its state at the period's end (for the current period: its state now,
    # as `ff-otel alerts list` shows it), with the lifecycle events apart.
    events: Counter[str] = Counter()
    seen: set[str] = set()
    for record in read_records(layout.alerts, start, stop):
        if isinstance(record.get("alert_id"), str) and record.get("event") not in _DELIVERIES:
            seen.add(record["alert_id"])
            events[str(record.get("event"))] += 1
    at_end, _ = replay(read_records(layout.alerts, None, stop))
    states: Counter[str] = Counter()
    for alert_id in seen:
        alert = at_end.get(alert_id, {})
        states[f"{alert.get('state')}:{alert.get('severity', '')}"] += 1
    return {
        "alerts": len(seen),
        "by_state_and_severity": dict(states),
        "events": dict(events),
        "records": sum(events.values()),
    }


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        rows: list[tuple[str, Any]] = []
        for key, item in value.items():
            rows.extend(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return rows
    if isinstance(value, list):
        if all(not isinstance(item, (dict, list)) for item in value):
            return [(prefix, "; ".join(str(item) for item in value))]
        rows = []
        for index, item in enumerate(value):
            rows.extend(_flatten(item, f"{prefix}[{index}]"))
        return rows
    return [(prefix, "" if value is None else value)]
