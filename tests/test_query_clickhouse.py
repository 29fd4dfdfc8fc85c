"""``ff_otel.query`` over the fleet's ClickHouse answers what it answers over a store holding the
same telemetry.

One set of telemetry is written both ways: through the public API into the local store, and
into the exporter's tables in chdb, dealt across three hosts as a load balancer would.
"""

from __future__ import annotations

import contextlib
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chdb import session

import ff_otel

from .clickhouse_fleet import by_host, create_tables, fill_in_another_process, insert
from .test_cli_sql import run

NOW = datetime.now(UTC)


@ff_otel.instrument(component="api")
def answer(index: int) -> None:
    with ff_otel.span("llm.call", component="llm", model=("small", "large")[index % 2]) as span:
        span.set_attribute("tokens", index * 7)
        if index % 9 == 0:
            raise RuntimeError("model timed out")


@pytest.fixture
def telemetry(base_path: Path) -> ff_otel.FFOtel:
    handle = ff_otel.configure(base_path=base_path, service_name="chat-api", system_metrics=False)
    for user in range(12):
        for day in range(0, 30, 1 + user % 4):
            at = NOW - timedelta(days=day, hours=user)
            data: dict[str, Any] = {"platform": ("web", "ios")[user % 2], "count": user}
            kind = ("session_start", "feature_usage")[day % 2]
            if kind == "feature_usage":
                data["name"] = ("search", "chat", "export")[day % 3]
            assert ff_otel.record_user_event(f"u{user}", f"s{user}-{day}", kind, data, timestamp=at)
    for index in range(40):
        with contextlib.suppress(RuntimeError):
            answer(index)
    for code in (200, 200, 503, 404):
        with ff_otel.span("GET /chat", kind="server", **{"http.response.status_code": code}):
            pass
    assert ff_otel.force_flush()
    return handle


QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("spans", {}),
    (
        "spans",
        {
            "group_by": ["component", "status", "kind"],
            "aggregates": [
                "count",
                "errors",
                "sum:duration_ms",
                "avg:duration_ms",
                "min:duration_ms",
                "max:duration_ms",
                "p50:duration_ms",
                "p95:duration_ms",
                "p99:duration_ms",
            ],
        },
    ),
    ("spans", {"group_by": ["name", "time:hour"], "aggregates": ["count", "distinct:trace_id"]}),
    (
        "spans",
        {
            "where": {"component": "llm"},
            "group_by": ["attributes.model"],
            "aggregates": [
                "count",
                "sum:attributes.tokens",
                "p95:attributes.tokens",
                "p50:duration_ms",
            ],
        },
    ),
    ("spans", {"where": {"attributes.model": "large", "status": "error"}, "aggregates": ["count"]}),
    (
        "requests",
        {
            "group_by": ["attributes.http.response.status_code"],
            "aggregates": ["count", "errors", "p95:duration_ms"],
        },
    ),
    ("events", {"group_by": ["event_type"], "aggregates": ["count", "distinct:user_hash"]}),
    ("events", {"group_by": ["data.platform", "time:week"], "aggregates": ["count"]}),
    ("events", {"group_by": ["time:day"], "aggregates": ["distinct:session_id"]}),
    ("events", {"group_by": ["time:month", "data.name"], "aggregates": ["avg:data.count"]}),
    ("events", {"where": {"data.name": "search", "data.count": 2}, "aggregates": ["count"]}),
    (
        "events",
        {
            "start": NOW - timedelta(days=10),
            "end": NOW - timedelta(days=2),
            "group_by": ["user_hash"],
            "aggregates": ["count", "max:data.count"],
        },
    ),
]


def same(left: Any, right: Any) -> bool:
    """Equal, floats to 1e-12 relative: a sum's last bit depends on the order its engine
    added the values in (ClickHouse adds in parallel)."""
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-12)
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(map(same, left, right))
    return bool(left == right)


def test_query_over_clickhouse_equals_the_store_s(
    telemetry: ff_otel.FFOtel, chdb_path: Path
) -> None:
    writer = session.Session(str(chdb_path))
    create_tables(writer.query, "query_fleet")
    for host, records in by_host(telemetry.layout).items():
        insert(
            writer.query,
            "query_fleet",
            spans=records["spans"],
            events=records["events"],
            host=host,
        )
    writer.close()
    url = f"chdb://{chdb_path}?database=query_fleet"
    for stream, arguments in QUERIES:
        local = ff_otel.query(stream, **arguments)
        fleet = ff_otel.query(stream, **arguments, query_url=url)
        assert same(fleet, local), (stream, arguments, fleet, local)
        assert local, (stream, arguments)  # each query has rows worth comparing
    # The configured query URL is the default, as for ff_otel.sql.
    ff_otel.shutdown()
    ff_otel.configure(base_path=telemetry.layout.base_path, query_url=url, system_metrics=False)
    errors = ff_otel.query("spans", aggregates=["errors"])
    assert errors == ff_otel.query("spans", aggregates=["errors"], query_url="local")
    with pytest.raises(ValueError, match=r"'sessions' is kept per host.*not in ClickHouse"):
        ff_otel.query("sessions")


def test_cli_query_over_the_fleet_prints_the_store_s_rows(
    telemetry: ff_otel.FFOtel, tmp_path: Path
) -> None:
    url = fill_in_another_process(tmp_path / "chdb", "cli_query", by_host(telemetry.layout))
    local = ff_otel.query("spans", group_by=["component"], aggregates=["count", "errors"])
    arguments = ["--group-by", "component", "--agg", "count", "--agg", "errors", "--json"]
    done = run("query", "spans", *arguments, "--query-url", url, "--base-path", tmp_path / "none")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == local
    assert not (tmp_path / "none").exists()
    done = run("query", "alerts", "--query-url", url, "--base-path", tmp_path / "none")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "kept per host" in done.stderr
