"""Choosing the query backend: ``configure(query_url=...)``, ``FF_OTEL_QUERY_URL`` and the CLI's
``--query-url``, against ClickHouse (chdb) holding the exporter's tables."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from chdb import session

import ff_otel
from ff_otel import ConfigError

from .clickhouse_fleet import create_tables, fill_in_another_process, insert
from .test_cli_sql import CLI, run


def fleet_span(index: int, *, component: str = "api", failed: bool = False) -> dict[str, Any]:
    """A request span as the store would hold it (the exporter's row is made from it)."""
    return {
        "timestamp": f"2026-05-04T10:{index // 60:02d}:{index % 60:02d}",
        "trace_id": f"{index:032x}",
        "span_id": f"{index:016x}",
        "name": "GET /chat",
        "kind": "server",
        "service": "chat-api",
        "component": component,
        "duration_ms": 10.0 + index,
        "status": "error" if failed else "ok",
        "attributes": {"http.route": "/chat"},
    }


@pytest.fixture(scope="module")
def fleet_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two hosts' spans in a chdb path of its own, filled by another process (the CLI's)."""
    hosts = {
        "h1": {"spans": [fleet_span(i) for i in range(5)]},
        "h2": {"spans": [fleet_span(i, failed=True) for i in range(5, 8)]},
    }
    return fill_in_another_process(tmp_path_factory.mktemp("fleet"), "fleet", hosts)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgres://db/otel", "postgres:// is not a query backend"),
        ("chdb://relative/path", "absolute path"),
        ("clickhouse://:8123/otel", "names no host"),
        ("clickhouse://host:99999/otel", "port"),
    ],
)
def test_configure_refuses_a_bad_query_url_by_name(base_path: Path, url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=rf"query_url: .*{problem}.*\(got '{url}'\)"):
        ff_otel.configure(base_path=base_path, query_url=url, system_metrics=False)
    assert ff_otel.current() is None


def test_the_environment_variable_is_validated_like_the_argument(
    base_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FF_OTEL_QUERY_URL", "mysql://db/otel")
    with pytest.raises(ConfigError, match=r"query_url: .*mysql:// is not a query backend"):
        ff_otel.configure(base_path=base_path, system_metrics=False)
    monkeypatch.setenv("FF_OTEL_QUERY_TIMEOUT_SECONDS", "0")
    monkeypatch.setenv("FF_OTEL_QUERY_URL", "local")
    with pytest.raises(ConfigError, match="query_timeout_seconds"):
        ff_otel.configure(base_path=base_path, system_metrics=False)


def test_the_configured_query_url_is_where_sql_queries(base_path: Path, chdb_path: Path) -> None:
    writer = session.Session(str(chdb_path))
    create_tables(writer.query, "configured")
    insert(writer.query, "configured", spans=[fleet_span(i) for i in range(3)], host="h9")
    writer.close()
    url = f"chdb://{chdb_path}?database=configured"
    handle = ff_otel.configure(base_path=base_path, query_url=url, system_metrics=False)
    assert handle.settings.query_url == url
    assert ff_otel.sql("SELECT count(*) AS n FROM spans") == [{"n": 3}]
    # The local store is still one argument away.
    assert ff_otel.sql("SELECT count(*) AS n FROM spans", query_url="local") == [{"n": 0}]


def test_cli_sql_queries_the_fleet_without_a_local_store(tmp_path: Path, fleet_url: str) -> None:
    done = run(
        "sql",
        "SELECT component, count(*) AS n, countIf(status = 'error') AS errors FROM spans "
        "GROUP BY component",
        "--format",
        "json",
        "--query-url",
        fleet_url,
        "--base-path",
        tmp_path / "nothing-here",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"component": "api", "n": 8, "errors": 3}]


def test_cli_reads_the_query_url_from_the_environment(tmp_path: Path, fleet_url: str) -> None:
    done = subprocess.run(
        [str(CLI), "sql", "SELECT count(*) AS n FROM requests", "--format", "json"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "FF_OTEL_QUERY_URL": fleet_url},
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"n": 8}]


@pytest.mark.parametrize(
    "command",
    [["sql", "SELECT 1"], ["bi"], ["status"], ["alerts", "list"], ["report"], ["query", "spans"]],
)
def test_a_bad_query_url_is_one_line_naming_the_option(tmp_path: Path, command: list[str]) -> None:
    done = run(*command, "--query-url", "postgres://db/otel", "--base-path", tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "--query-url" in done.stderr and "postgres:// is not a query backend" in done.stderr
