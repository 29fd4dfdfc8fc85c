"""The SQL engine: typed views over the store, parameters, freshness, refusals, torn lines."""

from __future__ import annotations

import contextlib
import gzip
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import ff_otel
from ff_otel.query import streams
from ff_otel.sql import skipped_lines, tables

DAY = datetime(2026, 5, 4, 10, tzinfo=UTC)


@ff_otel.instrument(component="api")
def serve(fail: bool) -> None:
    with ff_otel.span("db.query", component="database", table="messages"):
        pass
    if fail:
        raise RuntimeError("boom")


@pytest.fixture
def busy(handle: ff_otel.FFOtel) -> ff_otel.FFOtel:
    for i in range(40):
        with contextlib.suppress(RuntimeError):
            serve(fail=i % 8 == 0)
    for user in range(6):
        at = DAY + timedelta(minutes=user)
        ff_otel.record_user_event(f"u{user}", f"s{user}", "session_start", {}, timestamp=at)
        ff_otel.record_user_event(
            f"u{user}", f"s{user}", "feature_usage", {"features": ["search"]}, timestamp=at
        )
    assert ff_otel.force_flush()
    return handle


def test_counts_and_aggregates_match_what_was_written(busy: ff_otel.FFOtel) -> None:
    rows = ff_otel.sql(
        "SELECT component, count(*) AS n, count(*) FILTER (status = 'error') AS errors "
        "FROM spans GROUP BY component ORDER BY component"
    )
    assert rows == [
        {"component": "api", "n": 40, "errors": 5},
        {"component": "database", "n": 40, "errors": 0},
    ]
    [users] = ff_otel.sql(
        "SELECT count(DISTINCT user_hash) AS users, count(*) AS events, min(timestamp) AS first "
        "FROM events"
    )
    assert users == {"users": 6, "events": 12, "first": DAY.replace(tzinfo=None)}
    [typed] = ff_otel.sql(
        "SELECT typeof(timestamp) AS t, typeof(duration_ms) AS d, "
        "attributes['table'] AS tbl FROM spans WHERE name = 'db.query' LIMIT 1"
    )
    assert typed == {"t": "TIMESTAMP", "d": "DOUBLE", "tbl": "messages"}
    [durations] = ff_otel.sql("SELECT sum(duration_ms) AS total FROM spans")
    expected = sum(r["duration_ms"] for r in ff_otel.read_records(busy.layout.spans))
    assert durations["total"] == pytest.approx(expected)


def test_requests_are_server_or_root_spans_and_failures_include_5xx(handle: ff_otel.FFOtel) -> None:
    with (
        ff_otel.span("GET /a", **{"http.route": "/a", "http.response.status_code": 503}),
        ff_otel.span("child"),
    ):
        pass
    with ff_otel.span("GET /b", **{"http.route": "/b", "http.status_code": 404}):
        pass
    with contextlib.suppress(ValueError), ff_otel.span("GET /c"):
        raise ValueError("x")
    assert ff_otel.force_flush()
    rows = ff_otel.sql("SELECT name, route, status_code, failed FROM requests ORDER BY name")
    assert rows == [
        {"name": "GET /a", "route": "/a", "status_code": 503, "failed": True},
        {"name": "GET /b", "route": "/b", "status_code": 404, "failed": False},
        {"name": "GET /c", "route": None, "status_code": None, "failed": True},
    ]


def test_positional_and_named_parameters(busy: ff_otel.FFOtel) -> None:
    assert ff_otel.sql("SELECT count(*) AS n FROM spans WHERE status = ?", ["error"]) == [{"n": 5}]
    assert ff_otel.sql(
        "SELECT count(*) AS n FROM spans WHERE component = $c AND status = $s",
        {"c": "api", "s": "ok"},
    ) == [{"n": 35}]


def test_a_record_is_visible_after_force_flush(handle: ff_otel.FFOtel) -> None:
    assert ff_otel.sql("SELECT count(*) AS n FROM spans") == [{"n": 0}]
    serve(fail=False)
    assert ff_otel.force_flush()
    assert ff_otel.sql("SELECT count(*) AS n FROM spans") == [{"n": 2}]
    serve(fail=False)
    assert ff_otel.force_flush()
    assert ff_otel.sql("SELECT count(*) AS n FROM spans") == [{"n": 4}]


def test_rotated_and_gzipped_segments_are_part_of_the_view(busy: ff_otel.FFOtel) -> None:
    spans = busy.layout.spans
    rotated = spans.with_name("spans.20260101T000000.jsonl")
    spans.rename(rotated)
    spans.touch()
    serve(fail=False)
    assert ff_otel.force_flush()
    gz = spans.with_name("spans.20251201T000000.jsonl.gz")
    with gzip.open(gz, "wb") as sink:
        sink.write(rotated.read_bytes()[: rotated.read_bytes().index(b"\n") + 1])
    assert ff_otel.sql("SELECT count(*) AS n FROM spans") == [{"n": 80 + 2 + 1}]


def test_torn_and_malformed_lines_are_skipped_and_counted(handle: ff_otel.FFOtel) -> None:
    serve(fail=False)
    assert ff_otel.force_flush()
    with handle.layout.spans.open("ab") as sink:
        sink.write(b'not json\n[1, 2]\n{"timestamp": "2026-05-04T10:00:00.000000Z", "dur')
    serve(fail=False)  # the next append closes the torn line first
    assert ff_otel.force_flush()
    assert ff_otel.sql("SELECT count(*) AS n FROM spans") == [{"n": 4}]
    assert skipped_lines()["spans"] == 3


def test_a_wrong_typed_field_is_null_not_an_error(handle: ff_otel.FFOtel) -> None:
    with handle.layout.spans.open("ab") as sink:
        sink.write(
            b'{"timestamp": "yesterday", "duration_ms": "slow", "attributes": "x", '
            b'"status": 5, "name": "odd"}\n'
        )
    rows = ff_otel.sql("SELECT timestamp, duration_ms, attributes, status FROM spans")
    assert rows == [{"timestamp": None, "duration_ms": None, "attributes": None, "status": "5"}]


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("CREATE TABLE t (a INT)", "CREATE"),
        ("CREATE VIEW v AS SELECT 1", "CREATE"),
        ("DROP VIEW spans", "DROP"),
        ("INSERT INTO spans VALUES (1)", "INSERT"),
        ("UPDATE spans SET name = 'x'", "UPDATE"),
        ("DELETE FROM spans", "DELETE"),
        ("COPY (SELECT 1) TO 'out.csv'", "COPY"),
        ("ATTACH 'other.db'", "ATTACH"),
        ("INSTALL httpfs", "INSTALL/LOAD"),
        ("LOAD httpfs", "INSTALL/LOAD"),
        ("SET threads = 1", "SET"),
        ("RESET memory_limit", "SET"),
        ("PRAGMA enable_profiling", "PRAGMA"),
        ("CALL checkpoint()", "CALL"),
        ("EXPORT DATABASE 'out'", "EXPORT"),
        ("BEGIN TRANSACTION", "transaction"),
        ("SELECT 1; SELECT 2", "one statement per query"),
    ],
)
def test_statements_that_are_not_read_only_queries_are_refused(
    handle: ff_otel.FFOtel, statement: str, named: str
) -> None:
    with pytest.raises(ff_otel.QueryError, match=named):
        ff_otel.sql(statement)


def test_files_and_urls_outside_the_store_are_refused(
    handle: ff_otel.FFOtel, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.csv"
    outside.write_text("a,b\n1,2\n")
    for query in (
        f"SELECT * FROM read_csv('{outside}')",
        f"SELECT * FROM '{outside}'",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_parquet('https://example.com/x.parquet')",
    ):
        with pytest.raises(ff_otel.QueryError, match="disabled by configuration"):
            ff_otel.sql(query)
    assert ff_otel.sql("PRAGMA version")  # read-only pragmas are fine
    assert ff_otel.sql("SELECT 1 AS one") == [{"one": 1}]


def test_syntax_and_binder_errors_carry_duckdbs_message(handle: ff_otel.FFOtel) -> None:
    with pytest.raises(ff_otel.QueryError, match="syntax error at or near"):
        ff_otel.sql("SELEC 1")
    with pytest.raises(ff_otel.QueryError, match='"no_such_column" not found'):
        ff_otel.sql("SELECT no_such_column FROM spans")
    with pytest.raises(ff_otel.QueryError, match="no_such_table"):
        ff_otel.sql("SELECT * FROM no_such_table")


def test_arrow_results_and_base_path(busy: ff_otel.FFOtel, base_path: Path) -> None:
    ff_otel.shutdown()
    table = ff_otel.sql_arrow(
        "SELECT component, count(*) AS n FROM spans GROUP BY ALL ORDER BY 1", base_path=base_path
    )
    assert table.column_names == ["component", "n"]
    assert table.to_pylist() == [{"component": "api", "n": 40}, {"component": "database", "n": 40}]
    with pytest.raises(ff_otel.QueryError, match="no ff-otel store"):
        ff_otel.sql("SELECT 1", base_path=base_path / "missing")


def test_every_stream_has_a_view_that_reads(handle: ff_otel.FFOtel) -> None:
    names = {table["name"] for table in tables()}
    assert set(streams()) <= names
    audited = len(list(ff_otel.read_records(handle.layout.audit_logs)))
    for name in names:
        expected = audited if name == "audit_logs" else 0
        assert ff_otel.sql(f"SELECT count(*) AS n FROM {name}") == [{"n": expected}], name


def test_a_forked_worker_queries_with_its_own_engine(busy: ff_otel.FFOtel) -> None:
    assert ff_otel.sql("SELECT count(*) AS n FROM spans") == [{"n": 80}]  # engine made here
    child = os.fork()
    if child == 0:  # a pre-forking server's worker
        try:
            ok = ff_otel.sql("SELECT count(*) AS n FROM spans", base_path=busy.layout.base_path)
            os._exit(0 if ok == [{"n": 80}] else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_threads_query_at_once(busy: ff_otel.FFOtel) -> None:
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                rows = ff_otel.sql("SELECT count(*) AS n FROM spans WHERE status = ?", ["error"])
                assert rows == [{"n": 5}]
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []


def test_duckdbs_progress_bar_is_off_so_long_queries_print_only_their_answer(
    handle: ff_otel.FFOtel,
) -> None:
    # DuckDB draws its bar on stdout once a query runs 2 s, even when stdout is a
    # pipe: it would corrupt `ff-otel sql --format json > answer.json`.
    rows = ff_otel.sql("SELECT current_setting('enable_progress_bar') AS bar")
    assert rows == [{"bar": False}]
