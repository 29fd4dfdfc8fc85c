"""The logical views over ClickHouse (chdb in-process) with the clickhouseexporter's own DDL.

The same telemetry is written both ways: through the public API into the local store, and
into ``otel_traces``/``otel_logs`` as the Collector's clickhouseexporter writes it (names and
encodings from its ``traces_insert.sql``/``logs_insert.sql``); the same ``ff_otel.sql``
queries must give the same answers.
"""

from __future__ import annotations

import contextlib
import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from chdb import session

import ff_otel
from ff_otel.sql import tables

from .clickhouse_fleet import create_tables, insert
from .test_sql import DAY, serve


@pytest.fixture
def database(chdb_path: Path, request: pytest.FixtureRequest) -> str:
    return "otel_" + str(abs(hash(request.node.nodeid)))


@pytest.fixture
def both(handle: ff_otel.FFOtel, chdb_path: Path, database: str) -> str:
    for i in range(40):
        with contextlib.suppress(RuntimeError):
            serve(fail=i % 8 == 0)
    with ff_otel.span("GET /a", **{"http.route": "/a", "http.response.status_code": 503}):
        pass
    for user in range(6):
        at = DAY + timedelta(minutes=user)
        ff_otel.record_user_event(f"u{user}", f"s{user}", "session_start", {}, timestamp=at)
    # Each way a user event names the features it used, and a text that only looks like a list.
    for data in (
        {"features": ["search", "export"], "feature": "chat"},
        {"name": "voice"},
        {"features": '["not", "a list"]', "name": "share"},
    ):
        ff_otel.record_user_event("u0", "s0", "feature_usage", data, timestamp=DAY)
    requests = ff_otel.counter("chat.requests", unit="1")
    latency = ff_otel.histogram("chat.latency", unit="ms")
    for i in range(5):
        requests.add(1, {"route": "/chat", "code": 200 + i})
        latency.record(10.0 * i, {"route": "/chat"})
    assert ff_otel.force_flush()
    writer = session.Session(str(chdb_path))
    create_tables(writer.query, database)
    behavior = handle.layout.analytics_path / "user_analytics/behavior_patterns.jsonl"
    insert(
        writer.query,
        database,
        spans=ff_otel.read_records(handle.layout.spans),
        events=ff_otel.read_records(behavior),
        metrics=ff_otel.read_records(handle.layout.analytics_path / "system_metrics/metrics.jsonl"),
    )
    writer.close()
    return f"chdb://{chdb_path}?database={database}"


QUERIES = (
    "SELECT component, count(*) AS n, countIf(status = 'error') AS errors "
    "FROM spans GROUP BY component ORDER BY component",
    "SELECT name, route, status_code, failed FROM requests ORDER BY name, failed",
    "SELECT count(DISTINCT user_hash) AS users, count(*) AS events, min(timestamp) AS first "
    "FROM events",
    "SELECT event_type, user_hash, session_id FROM events ORDER BY user_hash, event_type",
    "SELECT features_used FROM events WHERE features_used IS NOT NULL ORDER BY features_used",
    "SELECT name, kind, attributes['table'] AS tbl FROM spans WHERE name = 'db.query' LIMIT 1",
    "WITH slow AS (SELECT * FROM spans WHERE duration_ms >= 0) SELECT count(*) AS n FROM slow",
    "SELECT name, type, temporality, monotonic, unit, sum(value) AS total, sum(count) AS n, "
    "max(max) AS top, min(start_timestamp) <= min(timestamp) AS ordered FROM metrics "
    "WHERE name LIKE 'chat.%' GROUP BY ALL ORDER BY name",
    "SELECT attributes['route'] AS route, attributes['code'] AS code, value FROM metrics "
    "WHERE name = 'chat.requests' ORDER BY code",
    "SELECT bucket_counts, explicit_bounds FROM metrics WHERE name = 'chat.latency' AND count > 0",
    "SELECT count(*) AS n FROM metrics WHERE type IN ('sum', 'gauge', 'histogram')",
)

PARAMETERISED = (
    ("SELECT count(*) AS n FROM spans WHERE component = ? AND duration_ms >= ?", ["api", 0.0]),
    ("SELECT count(*) AS n FROM spans WHERE status = $s AND name != '$s ?'", {"s": "error"}),
    ("SELECT count(*) AS n FROM events WHERE timestamp >= ? AND ? IS NULL", [DAY, None]),
    (
        "SELECT count(*) AS n FROM metrics WHERE name = $name AND value > $v",
        {"name": "chat.requests", "v": 0},
    ),
)


@pytest.mark.parametrize(("query", "params"), PARAMETERISED)
def test_parameters_bind_the_same_over_clickhouse(both: str, query: str, params: Any) -> None:
    local = ff_otel.sql(query, params)
    assert local[0]["n"] > 0
    assert ff_otel.sql(query, params, query_url=both) == local


def test_a_parameter_that_is_missing_or_cannot_be_bound_is_named(both: str) -> None:
    with pytest.raises(ff_otel.QueryError, match=r"more \? placeholders than the 1 values given"):
        ff_otel.sql("SELECT ? AS a, ? AS b", [1], query_url=both)
    with pytest.raises(ff_otel.QueryError, match=r"no value for the parameter \$b"):
        ff_otel.sql("SELECT $a AS a, $b AS b", {"a": 1}, query_url=both)
    with pytest.raises(ff_otel.QueryError, match="parameter p0: a list cannot be bound"):
        ff_otel.sql("SELECT ? AS a", [[1, 2]], query_url=both)


@pytest.mark.parametrize("query", QUERIES)
def test_same_telemetry_both_ways_gives_the_same_answers(both: str, query: str) -> None:
    local = ff_otel.sql(query.replace("countIf(status = 'error')", "count_if(status = 'error')"))
    assert ff_otel.sql(query, query_url=both) == local


def test_durations_agree_to_the_nanosecond_the_exporter_keeps(both: str) -> None:
    [local] = ff_otel.sql("SELECT sum(duration_ms) AS total FROM spans")
    [fleet] = ff_otel.sql("SELECT sum(duration_ms) AS total FROM spans", query_url=both)
    assert fleet["total"] == pytest.approx(local["total"], abs=1e-3)


def test_every_view_has_the_local_stores_columns(both: str) -> None:
    columns = {view["name"]: [c["name"] for c in view["columns"]] for view in tables()}
    for name in ("spans", "requests", "logs", "events", "metrics"):
        table = ff_otel.sql_arrow(f"SELECT * FROM {name} LIMIT 0", query_url=both)
        assert table.column_names == columns[name], name


def test_the_environment_variable_chooses_the_backend(
    both: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FF_OTEL_QUERY_URL", both)
    assert ff_otel.sql("SELECT count(*) AS n FROM events") == [{"n": 9}]
    assert ff_otel.sql("SELECT count(*) AS n FROM events", query_url="local") == [{"n": 9}]


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO otel.otel_traces (TraceId) VALUES ('x')",
        "DROP TABLE otel.otel_traces",
        "CREATE TABLE otel.t (a Int8) ENGINE = Memory",
    ],
)
def test_writes_are_refused(both: str, statement: str) -> None:
    with pytest.raises(ff_otel.QueryError, match="refused"):
        ff_otel.sql(statement, query_url=both)


def test_clickhouses_own_readonly_setting_refuses_what_the_check_lets_through(both: str) -> None:
    # A table function that would write is a SELECT to the parser; ClickHouse refuses it.
    with pytest.raises(ff_otel.QueryError, match=r"READONLY|readonly"):
        ff_otel.sql("SELECT * FROM file('/tmp/ff-otel-x.csv', 'CSV', 'a Int8')", query_url=both)


def test_a_missing_table_is_one_clear_line(chdb_path: Path) -> None:
    url = f"chdb://{chdb_path}?database=no_such_database"
    with pytest.raises(ff_otel.QueryError) as caught:
        ff_otel.sql("SELECT count(*) FROM spans", query_url=url)
    message = str(caught.value)
    assert "\n" not in message
    assert "chdb://" in message and "clickhouse exporter created its tables" in message


def test_a_closed_port_is_one_clear_line_within_the_timeout() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ff_otel.QueryError) as caught:
        ff_otel.sql("SELECT 1", query_url=f"clickhouse://ro:pw@127.0.0.1:{port}/otel")
    assert time.monotonic() - started < 60
    message = str(caught.value)
    assert "\n" not in message and f"127.0.0.1:{port}" in message
    assert "check the host and port in the URL" in message
    assert "pw" not in message.replace("password", "")


def test_an_unknown_scheme_is_refused_by_name() -> None:
    with pytest.raises(ff_otel.QueryError, match="postgres:// is not a query backend"):
        ff_otel.sql("SELECT 1", query_url="postgres://x/y")
