"""``ff-otel report``, ``status`` and ``alerts list`` with ``--query-url``: the fleet's figures from
ClickHouse (chdb with the exporter's tables, filled by another process), what is per host from
the store at ``--base-path``; a ClickHouse that cannot be reached is one line on stderr."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ff_otel.settings.resolution import resolve_settings
from ff_otel.store.layout import StoreLayout

from .clickhouse_fleet import fill_in_another_process
from .conftest import free_port
from .test_cli_sql import CLI
from .test_fleet_alerts import TRAFFIC, _spans

# Long enough that spans written a minute before the command are in its last interval
# however slowly the machine starts the processes.
INTERVAL = 3600
DAY = (datetime.now(UTC) - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)


def cli(*args: str | Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FF_OTEL_", "OTEL_"))}
    env["FF_OTEL_COLLECTION_INTERVAL_SECONDS"] = str(INTERVAL)
    env.update(extra_env)
    done = subprocess.run(
        [str(CLI), *map(str, args)], capture_output=True, text=True, env=env, timeout=120
    )
    assert "Traceback" not in done.stderr
    return done


def _event(user: str, at: datetime, feature: str) -> dict[str, Any]:
    return {
        "timestamp": at.replace(tzinfo=None).isoformat(),
        "event_type": "feature_usage",
        "user_hash": user,
        "session_id": f"s-{user}",
        "data": {"name": feature},
        "service": "chat-api",
    }


def _monitor_store(path: Path) -> Path:
    StoreLayout(path).initialize(resolve_settings({"base_path": path}).analytics)
    return path


def test_report_over_the_fleet_takes_performance_and_users_from_clickhouse(
    tmp_path: Path,
) -> None:
    start = DAY + timedelta(hours=10)
    # The same user on two hosts, as a load balancer deals them: two users fleet-wide.
    events = {
        "h1": [_event("user-a", start, "search")],
        "h2": [_event("user-a", start + timedelta(hours=1), "chat")],
        "h3": [_event("user-b", start + timedelta(hours=2), "search")],
    }
    hosts = {host: {"spans": _spans(host, start, 3), "events": events[host]} for host in TRAFFIC}
    url = fill_in_another_process(tmp_path / "chdb", "cli_report", hosts)
    store = _monitor_store(tmp_path / "monitor")
    end = (DAY + timedelta(days=1)).isoformat()

    done = cli("report", "--end", end, "--json", "--query-url", url, "--base-path", store)

    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    report = printed["report"]
    performance = report["performance"]
    assert performance["requests"] == 3 * 3 * 20  # three hosts, three intervals
    assert performance["failed_requests"] == 3 * 3  # llm: 2 + 0 + 1 per interval
    assert performance["components"]["llm"]["errors"] == 9
    assert performance["components"]["search"]["p95_ms"] == pytest.approx(6000.0, rel=0.01)
    assert report["users"]["active"] == 2
    assert {f["feature"] for f in report["features"]} == {"search", "chat"}
    assert report["users"]["average_session_minutes"] is None  # sessions are per host
    assert report["health"]["intervals"] == 0  # health records are the store's: none here
    assert report["sources"]["performance"] == "fleet"
    assert report["sources"]["alerts"] == "store"
    written = store / f"analytics/reports/day/{DAY:%Y-%m-%d}"
    assert printed["files"][0] == f"{written}.json" and Path(printed["files"][0]).exists()

    table = cli("report", "--end", end, "--query-url", url, "--base-path", store)
    assert table.returncode == 0, table.stderr
    assert "Requests, components and users: the fleet's" in table.stdout
    assert "180, 9 failed" in table.stdout


@pytest.fixture
def fresh_fleet(tmp_path: Path) -> str:
    """One interval of the three hosts' traffic, ending about 50 s ago."""
    start = datetime.now(UTC) - timedelta(seconds=60)
    hosts = {host: {"spans": _spans(host, start, 1)} for host in TRAFFIC}
    return fill_in_another_process(tmp_path / "chdb", "cli_status", hosts)


def test_status_over_the_fleet_shows_the_last_interval_per_component(
    tmp_path: Path, fresh_fleet: str
) -> None:
    done = cli("status", "--json", "--query-url", fresh_fleet, "--base-path", tmp_path / "none")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["ok"] and status["scope"] == "fleet"
    assert status["interval"]["seconds"] == INTERVAL
    assert status["requests"] == 60 and status["failed_requests"] == 3
    llm, search = status["components"]["llm"], status["components"]["search"]
    assert (llm["spans"], llm["errors"], llm["error_rate_percent"]) == (30, 3, 10.0)
    assert search["p95_ms"] == pytest.approx(6000.0, rel=0.01)  # slow on h3 only
    assert status["alerts"] is None  # no monitor store at --base-path

    stale = cli("status", "--max-age", "5", "--query-url", fresh_fleet, "--base-path", tmp_path)
    assert stale.returncode == 1
    assert "no span reached ClickHouse in the last 5 s (--max-age)" in stale.stdout
    assert "llm" in stale.stdout and "10.0" in stale.stdout
    fresh = cli("status", "--max-age", "3000", "--query-url", fresh_fleet, "--base-path", tmp_path)
    assert fresh.returncode == 0, fresh.stdout


def test_alerts_list_over_the_fleet_lists_the_monitor_s_alerts(
    tmp_path: Path, fresh_fleet: str
) -> None:
    store = tmp_path / "monitor"
    missing = cli("alerts", "list", "--query-url", fresh_fleet, "--base-path", store)
    assert missing.returncode == 2
    assert "the fleet's alerts are in the store of `ff-otel monitor" in missing.stderr

    evaluated = cli("monitor", "--once", "--query-url", fresh_fleet, "--base-path", store)
    assert evaluated.returncode == 0, evaluated.stderr
    listed = cli(
        "alerts", "list", "--all", "--json", "--query-url", fresh_fleet, "--base-path", store
    )
    assert listed.returncode == 0, listed.stderr
    pending = {(r["rule"], r["labels"]["component"]) for r in json.loads(listed.stdout)}
    assert {("component_error_rate", "llm"), ("component_slow", "search")} <= pending
    table = cli("alerts", "list", "--all", "--query-url", fresh_fleet, "--base-path", store)
    assert "The fleet's alerts, as the monitor keeps them in" in table.stdout
    status = cli("status", "--json", "--query-url", fresh_fleet, "--base-path", store)
    assert json.loads(status.stdout)["alerts"]["by_state"]["pending"] >= 2


@pytest.mark.parametrize("command", [("status",), ("report", "--period", "week")])
def test_a_closed_port_is_one_line_and_a_failure(tmp_path: Path, command: tuple[str, ...]) -> None:
    store = _monitor_store(tmp_path / "monitor")
    port = free_port()
    url = f"clickhouse://ro:s3cret@127.0.0.1:{port}/otel"
    done = cli(
        *command, "--query-url", url, "--base-path", store, FF_OTEL_QUERY_TIMEOUT_SECONDS="2"
    )
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"ff-otel: error: ClickHouse query at clickhouse://127.0.0.1:{port}")
    assert "check the host and port in the URL" in line and "s3cret" not in line
    assert not (store / "analytics/reports").exists() or not any(
        (store / "analytics/reports").rglob("*.json")
    )
