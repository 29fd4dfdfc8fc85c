"""``ff-otel sql`` and ``ff-otel compact`` through the installed command, on a real store."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import ff_otel

CLI = Path(sys.executable).with_name("ff-otel")


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FF_OTEL_", "OTEL_"))}
    done = subprocess.run(
        [str(CLI), *map(str, args)], capture_output=True, text=True, env=env, timeout=120
    )
    assert "Traceback" not in done.stderr
    return done


@ff_otel.instrument(component="api")
def serve(fail: bool) -> None:
    with ff_otel.span("db.query", component="database"):
        pass
    if fail:
        raise RuntimeError("boom")


@pytest.fixture
def store(base_path: Path) -> Iterator[Path]:
    ff_otel.configure(base_path=base_path, service_name="cli-sql", system_metrics=False)
    for i in range(20):
        with contextlib.suppress(RuntimeError):
            serve(fail=i % 5 == 0)
    ff_otel.record_user_event("alice", "s1", "session_start", {"platform": "web"})
    ff_otel.shutdown()
    yield base_path


_BY_COMPONENT = (
    "SELECT component, count(*) AS n, count(*) FILTER (status = 'error') AS errors "
    "FROM spans GROUP BY component ORDER BY component"
)


def test_json_csv_and_table_formats(store: Path) -> None:
    done = run("sql", _BY_COMPONENT, "--base-path", store, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {"component": "api", "n": 20, "errors": 4},
        {"component": "database", "n": 20, "errors": 0},
    ]
    done = run("sql", _BY_COMPONENT, "--base-path", store, "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert list(csv.reader(io.StringIO(done.stdout))) == [
        ["component", "n", "errors"],
        ["api", "20", "4"],
        ["database", "20", "0"],
    ]
    done = run("sql", _BY_COMPONENT, "--base-path", store)
    assert done.returncode == 0, done.stderr
    assert "api" in done.stdout and "database" in done.stdout and "2 rows" in done.stdout
    done = run("sql", "SELECT count(*) AS n FROM spans", "--base-path", store)
    assert done.returncode == 0, done.stderr
    assert "1 row" in done.stdout and "1 rows" not in done.stdout


def test_parameters_timestamps_and_output_files(store: Path, tmp_path: Path) -> None:
    done = run(
        "sql",
        "SELECT count(*) AS n FROM spans WHERE component = $c AND status = $s",
        "--base-path",
        store,
        "--param",
        "c=api",
        "--param",
        "s=error",
        "--format",
        "json",
    )
    assert json.loads(done.stdout) == [{"n": 4}]
    done = run(
        "sql",
        "SELECT count(*) AS n FROM spans WHERE duration_ms >= ? AND status = ?",
        "--base-path",
        store,
        "--param",
        "0",
        "--param",
        "ok",
        "--format",
        "json",
    )
    assert json.loads(done.stdout) == [{"n": 36}]
    done = run(
        "sql", "SELECT max(timestamp) AS t FROM events", "--base-path", store, "--format", "json"
    )
    [row] = json.loads(done.stdout)
    assert row["t"].endswith("Z") and len(row["t"]) == len("2026-05-04T10:00:00.123456Z")

    out = tmp_path / "spans.parquet"
    done = run(
        "sql", "SELECT * FROM spans", "--base-path", store, "--format", "parquet", "--output", out
    )
    assert done.returncode == 0, done.stderr
    assert duckdb.connect().execute(f"SELECT count(*) FROM '{out}'").fetchone() == (40,)
    csv_out = tmp_path / "by_component.csv"
    done = run("sql", _BY_COMPONENT, "--base-path", store, "--format", "csv", "--output", csv_out)
    assert done.returncode == 0 and done.stdout == ""
    assert csv_out.read_text().splitlines()[0] == "component,n,errors"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("DROP VIEW spans", "refused: DROP"),
        ("COPY (SELECT 1) TO 'x.csv'", "refused: COPY"),
        ("SELECT 1; SELECT 2", "one statement per query"),
        ("SELEC 1", "syntax error"),
        ("SELECT nope FROM spans", "nope"),
        ("SELECT * FROM read_csv('/etc/passwd')", "disabled by configuration"),
    ],
)
def test_errors_are_one_line_on_stderr(store: Path, query: str, message: str) -> None:
    done = run("sql", query, "--base-path", store)
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("ff-otel: error: ") and message in line


def test_missing_store_and_missing_output_are_clear(tmp_path: Path, store: Path) -> None:
    done = run("sql", "SELECT 1", "--base-path", tmp_path / "none")
    assert done.returncode == 2 and "no ff-otel store" in done.stderr
    done = run("sql", "SELECT 1", "--base-path", store, "--format", "parquet")
    assert done.returncode == 2 and "--output" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_tables_lists_views_and_columns(store: Path) -> None:
    done = run("sql", "--tables", "--format", "json")
    assert done.returncode == 0, done.stderr
    views = {view["name"]: view for view in json.loads(done.stdout)}
    assert {"spans", "requests", "events", "logs", "metrics", "audit_logs"} <= views.keys()
    columns = {c["name"]: c["type"] for c in views["spans"]["columns"]}
    assert columns["timestamp"] == "TIMESTAMP"
    assert columns["duration_ms"] == "DOUBLE"
    assert columns["attributes"] == "MAP(VARCHAR, VARCHAR)"
    assert {"failed", "status_code", "route"} <= {c["name"] for c in views["requests"]["columns"]}
    assert "spans" in run("sql", "--tables").stdout


def test_compact_then_the_same_answers(store: Path) -> None:
    before = run("sql", _BY_COMPONENT, "--base-path", store, "--format", "json").stdout
    spans = store / "analytics" / "system_metrics" / "spans.jsonl"
    spans.rename(spans.with_name("spans.20260101T000000.jsonl"))
    spans.touch()
    done = run("compact", "--base-path", store, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["compacted"] == ["system_metrics/spans.20260101T000000.parquet"]
    assert summary["records"] == 40
    assert run("sql", _BY_COMPONENT, "--base-path", store, "--format", "json").stdout == before
    again = run("compact", "--base-path", store)
    assert again.returncode == 0 and "0 segments" in again.stdout
