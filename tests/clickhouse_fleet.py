"""Telemetry written into ClickHouse as the Collector's clickhouseexporter writes it.

The tables are the exporter's own DDL (``clickhouse_ddl/``); rows carry the names and
encodings of its ``traces_insert.sql``/``logs_insert.sql``: a span the local store holds as a
record becomes the ``otel_traces`` row the exporter would write for it, on a given host.

chdb runs one embedded server per process, on one path, and a path belongs to one process:
tests in this process share one path (the ``chdb_path`` fixture), and a test that runs the
CLI (another process) fills a path of its own with ``python -m tests.clickhouse_fleet``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ff_otel import read_records
from ff_otel.store.layout import StoreLayout

DDL = Path(__file__).parent / "clickhouse_ddl"
METRIC_TABLES = {
    "sum": "otel_metrics_sum",
    "gauge": "otel_metrics_gauge",
    "histogram": "otel_metrics_histogram",
    "exponential_histogram": "otel_metrics_exponential_histogram",
    "summary": "otel_metrics_summary",
}
TABLES = ("otel_traces", "otel_logs", *METRIC_TABLES.values())
_TEMPORALITY = {"delta": 1, "cumulative": 2}
_SPAN_COLUMNS = (
    "Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind, ServiceName, "
    "ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode, "
    "StatusMessage, `Events.Timestamp`, `Events.Name`, `Events.Attributes`, `Links.TraceId`, "
    "`Links.SpanId`, `Links.TraceState`, `Links.Attributes`"
)
_LOG_COLUMNS = (
    "Timestamp, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, Body, "
    "ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl, ScopeName, ScopeVersion, "
    "ScopeAttributes, LogAttributes"
)


def ns(value: datetime | str) -> int:
    """Nanoseconds since the epoch of a naive-UTC or aware instant (or its ISO text)."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() * 1_000_000) * 1000


def literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _map(values: dict[str, Any]) -> str:
    pairs = ", ".join(f"{literal(str(k))}, {literal(str(v))}" for k, v in values.items())
    return f"map({pairs})" if pairs else "map()"


def span_row(record: dict[str, Any], host: str) -> str:
    """The otel_traces row the exporter writes for the span the store holds as ``record``."""
    attributes = dict(record.get("attributes") or {})  # ff.component among them, when set
    # A component the instrumentation scope does not give came from ff.component (a record
    # written by hand may name one without the attribute).
    scope = record.get("scope") or ""
    if record.get("component") not in (None, scope.rsplit(".", 1)[-1] if scope else "unknown"):
        attributes.setdefault("ff.component", record["component"])
    kind = {"server": "Server", "client": "Client", "internal": "Internal"}[record["kind"]]
    status = "Error" if record["status"] == "error" else "Unset"
    return (
        f"(fromUnixTimestamp64Nano({ns(record['timestamp'])}), {literal(record['trace_id'])}, "
        f"{literal(record['span_id'])}, {literal(record.get('parent_span_id') or '')}, '', "
        f"{literal(record['name'])}, {literal(kind)}, {literal(record['service'])}, "
        f"map('host.name', {literal(host)}), {literal(record.get('scope') or '')}, '', "
        f"{_map(attributes)}, {round(record['duration_ms'] * 1_000_000)}, {literal(status)}, "
        f"{literal(record.get('status_message') or '')}, [], [], [], [], [], [], [])"
    )


def event_row(record: dict[str, Any], host: str) -> str:
    """The otel_logs row of the ``ff.user_event`` the store holds as ``record``: the record's
    attributes as ff-otel sends them, its data the body (the exporter writes a map as JSON)."""
    attributes = {"ff.event.type": record["event_type"], "user.hash": record["user_hash"]}
    if record.get("session_id"):
        attributes["session.id"] = record["session_id"]
    body = json.dumps(record.get("data") or {}, separators=(",", ":"))
    return (
        f"(fromUnixTimestamp64Nano({ns(record['timestamp'])}), '', '', 0, 'INFO', 9, "
        f"{literal(record['service'])}, {literal(body)}, '', map('host.name', {literal(host)}), "
        f"'', 'ff_otel.analytics', '', map(), {_map(attributes)})"
    )


def metric_row(record: dict[str, Any], host: str) -> tuple[str, str, str]:
    """The exporter's table, columns and row for the metric point the store holds as ``record``."""
    columns = {
        "ResourceAttributes": f"map('host.name', {literal(host)})",
        "ServiceName": literal(record["service"]),
        "ScopeName": literal(record.get("scope") or ""),
        "MetricName": literal(record["name"]),
        "MetricDescription": literal(record.get("description") or ""),
        "MetricUnit": literal(record.get("unit") or ""),
        "Attributes": _map(record.get("attributes") or {}),
        "StartTimeUnix": f"fromUnixTimestamp64Nano({ns(record['start_timestamp'])})"
        if record.get("start_timestamp")
        else "fromUnixTimestamp64Nano(0)",
        "TimeUnix": f"fromUnixTimestamp64Nano({ns(record['timestamp'])})",
    }
    kind = record["type"]
    temporality = str(_TEMPORALITY.get(record.get("temporality") or "", 0))
    if kind in ("sum", "gauge"):
        columns["Value"] = repr(float(record["value"]))
    if kind == "sum":
        columns["AggregationTemporality"] = temporality
        columns["IsMonotonic"] = "true" if record.get("monotonic") else "false"
    if kind in ("histogram", "exponential_histogram"):
        columns["AggregationTemporality"] = temporality
        columns["Count"] = str(record["count"])
        columns["Sum"] = repr(float(record["sum"]))
        columns["Min"] = repr(float(record["min"]))
        columns["Max"] = repr(float(record["max"]))
    if kind == "histogram":
        columns["BucketCounts"] = repr([int(n) for n in record["bucket_counts"]])
        columns["ExplicitBounds"] = repr([float(b) for b in record["explicit_bounds"]])
    return METRIC_TABLES[kind], ", ".join(columns), ", ".join(columns.values())


def create_tables(query: Any, database: str) -> None:
    """The exporter's tables in ``database`` (``query`` runs one statement)."""
    query(f"CREATE DATABASE IF NOT EXISTS {database}")
    for table in TABLES:
        ddl = (DDL / f"{table}.sql").read_text()
        query(ddl.replace("otel.otel_", f"{database}.otel_").replace('"otel"', database))


def insert(
    query: Any,
    database: str,
    *,
    spans: Iterable[dict[str, Any]] = (),
    events: Iterable[dict[str, Any]] = (),
    metrics: Iterable[dict[str, Any]] = (),
    host: str = "h1",
) -> None:
    """The spans, user events and metric points of one host, as the exporter inserts them."""
    span_rows = [span_row(record, host) for record in spans]
    if span_rows:
        query(
            f"INSERT INTO {database}.otel_traces ({_SPAN_COLUMNS}) VALUES " + ", ".join(span_rows)
        )
    event_rows = [event_row(record, host) for record in events]
    if event_rows:
        rows = ", ".join(event_rows)
        query(f"INSERT INTO {database}.otel_logs ({_LOG_COLUMNS}) VALUES {rows}")
    for record in metrics:
        table, columns, row = metric_row(record, host)
        query(f"INSERT INTO {database}.{table} ({columns}) VALUES ({row})")


def by_host(
    layout: StoreLayout, hosts: Sequence[str] = ("h1", "h2", "h3")
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The store's spans and user events dealt round-robin to ``hosts``, as a load balancer
    would (the same user and trace on several hosts)."""
    behavior = layout.analytics_path / "user_analytics/behavior_patterns.jsonl"
    dealt: dict[str, dict[str, list[dict[str, Any]]]] = {
        host: {"spans": [], "events": []} for host in hosts
    }
    for stream, records in (
        ("spans", read_records(layout.spans)),
        ("events", read_records(behavior)),
    ):
        for index, record in enumerate(records):
            dealt[hosts[index % len(hosts)]][stream].append(record)
    return dealt


def fill_in_another_process(path: Path, database: str, hosts: dict[str, dict[str, Any]]) -> str:
    """Fill a chdb path this process never opens; ``hosts`` maps a host to its spans/events.

    Returns the ``chdb://`` query URL.
    """
    payload = json.dumps({"path": str(path), "database": database, "hosts": hosts}, default=str)
    subprocess.run(
        [sys.executable, "-m", "tests.clickhouse_fleet"],
        input=payload,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
        timeout=300,
    )
    return f"chdb://{path}?database={database}"


def _main() -> None:
    from chdb import session

    payload = json.load(sys.stdin)
    writer = session.Session(payload["path"])
    create_tables(writer.query, payload["database"])
    for host, records in payload["hosts"].items():
        insert(
            writer.query,
            payload["database"],
            spans=records.get("spans", ()),
            events=records.get("events", ()),
            metrics=records.get("metrics", ()),
            host=host,
        )
    writer.close()


if __name__ == "__main__":
    _main()
