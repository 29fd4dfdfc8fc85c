"""Alerts fleet-wide: one monitor evaluates the alert rules against three hosts' telemetry in
ClickHouse (chdb with the exporter's tables) and notifies a real webhook, as a collector does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chdb import session

from ff_otel.alerting.state import AlertState
from ff_otel.pipeline.fleet import FleetMonitor, fleet_snapshot
from ff_otel.sdk.assembly import alert_engine
from ff_otel.settings.resolution import resolve_settings
from ff_otel.store.layout import StoreLayout

from .clickhouse_fleet import create_tables, fill_in_another_process, insert
from .conftest import records, wait_until
from .test_alerting import Webhook, webhook  # noqa: F401  (the fixture)
from .test_cli_sql import CLI, run

INTERVAL = 60
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
# Per host and interval: (component, spans, failed, duration ms). No host alone shows the
# fleet's figures: llm fails 2, 0 and 1 times in 10 (10% fleet-wide), search is slow on h3 only.
TRAFFIC = {
    "h1": [("llm", 10, 2, 80.0), ("search", 10, 0, 100.0)],
    "h2": [("llm", 10, 0, 80.0), ("search", 10, 0, 100.0)],
    "h3": [("llm", 10, 1, 80.0), ("search", 10, 0, 6000.0)],
}


def _spans(host: str, start: datetime, intervals: int) -> list[dict[str, Any]]:
    spans = []
    for interval in range(intervals):
        for component, count, failed, duration in TRAFFIC[host]:
            for index in range(count):
                at = start + timedelta(seconds=interval * INTERVAL + 1 + index)
                number = len(spans)
                spans.append(
                    {
                        "timestamp": at.replace(tzinfo=None).isoformat(),
                        "trace_id": f"{host}{number:030x}",
                        "span_id": f"{number:016x}",
                        "name": f"POST /{component}",
                        "kind": "server",
                        "service": "chat-api",
                        "component": component,
                        "duration_ms": duration,
                        "status": "error" if index < failed else "ok",
                    }
                )
    return spans


def _settings(base_path: Path, hook: Webhook | None = None) -> Any:
    alerting: dict[str, Any] = {}
    if hook is not None:
        alerting = {"enable_webhook_alerts": True, "webhook_urls": [hook.url]}
    return resolve_settings(
        {
            "base_path": base_path,
            "service_name": "fleet-monitor",
            "analytics": {"collection_interval_seconds": INTERVAL, "alerting_config": alerting},
        }
    )


@pytest.fixture
def fleet_url(chdb_path: Path) -> str:
    writer = session.Session(str(chdb_path))
    create_tables(writer.query, "fleet_alerts")
    for host in TRAFFIC:
        insert(writer.query, "fleet_alerts", spans=_spans(host, T0, 3), host=host)
    writer.close()
    return f"chdb://{chdb_path}?database=fleet_alerts"


@pytest.fixture
def monitor_store(base_path: Path) -> Iterator[StoreLayout]:
    layout = StoreLayout(base_path)
    layout.initialize(_settings(base_path).analytics)
    yield layout


def _monitor(layout: StoreLayout, url: str, hook: Webhook | None = None) -> FleetMonitor:
    settings = _settings(layout.base_path, hook)
    return FleetMonitor(layout, settings, alert_engine(settings, layout), url)


def _open(layout: StoreLayout) -> dict[tuple[str, str], dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for record in records(layout.alerts):
        if "alert_id" in record and "rule" in record:
            latest[record["alert_id"]] = record
    return {(r["rule"], r["labels"].get("component", "")): r for r in latest.values()}


def test_the_snapshot_is_the_whole_fleet_s(monitor_store: StoreLayout, fleet_url: str) -> None:
    one = fleet_snapshot(monitor_store, fleet_url, T0, T0 + timedelta(seconds=INTERVAL)).metrics
    assert one.component_error_rates == {"llm": 10.0, "search": 0.0}
    assert one.component_response_times["search"] == pytest.approx(6000.0, rel=0.01)
    assert one.component_response_times["llm"] == pytest.approx(80.0, rel=0.01)
    assert one.throughput_requests_per_second == 1.0  # 60 requests in 60 s
    assert one.success_rate_percent == 95.0
    assert one.error_count == 3


def test_component_alerts_fire_fleet_wide_notify_and_resolve(
    monitor_store: StoreLayout,
    fleet_url: str,
    webhook: Webhook,  # noqa: F811
) -> None:
    monitor = _monitor(monitor_store, fleet_url, webhook)
    try:
        ticks = [T0 + timedelta(seconds=INTERVAL * k) for k in range(1, 5)]
        first = monitor.tick(ticks[0])
        assert first is not None
        assert {(r["rule"], r["state"]) for r in first} >= {
            ("component_error_rate", AlertState.PENDING),
            ("component_slow", AlertState.PENDING),
        }
        monitor.tick(ticks[1])
        monitor.tick(ticks[2])  # held for two intervals: firing
        alerts = _open(monitor_store)
        errors = alerts[("component_error_rate", "llm")]
        slow = alerts[("component_slow", "search")]
        assert errors["state"] == slow["state"] == AlertState.FIRING
        assert errors["current_value"] == 10.0
        assert ("component_error_rate", "search") not in alerts
        assert ("component_slow", "llm") not in alerts
        monitor.tick(ticks[3])  # the fleet went quiet: no data resolves them
        alerts = _open(monitor_store)
        assert alerts[("component_error_rate", "llm")]["state"] == AlertState.RESOLVED
        assert alerts[("component_slow", "search")]["state"] == AlertState.RESOLVED
        expected = {
            ("firing", "component_error_rate", "llm"),
            ("firing", "component_slow", "search"),
            ("resolved", "component_error_rate", "llm"),
            ("resolved", "component_slow", "search"),
        }

        def sent() -> set[tuple[str, str, str]]:
            return {
                (p["status"], a["labels"]["alertname"], a["labels"]["component"])
                for p in list(webhook.received)
                for a in p["alerts"]
            }

        # Notifications go out on the notifier's thread, in any order: wait for all four.
        wait_until(lambda: sent() >= expected)
        assert sent() >= expected
    finally:
        monitor.close()


def test_a_second_monitor_on_the_store_stands_by_then_continues_the_first_s_alerts(
    monitor_store: StoreLayout, fleet_url: str
) -> None:
    first, second = _monitor(monitor_store, fleet_url), _monitor(monitor_store, fleet_url)
    try:
        for k in (1, 2, 3):
            assert first.tick(T0 + timedelta(seconds=INTERVAL * k)) is not None
            assert second.tick(T0 + timedelta(seconds=INTERVAL * k)) is None
        firing = _open(monitor_store)[("component_error_rate", "llm")]
        assert firing["state"] == AlertState.FIRING
        first.close()
        changes = second.tick(T0 + timedelta(seconds=INTERVAL * 4))
        assert changes is not None
        resolved = {r["alert_id"] for r in changes if r["state"] == AlertState.RESOLVED}
        assert firing["alert_id"] in resolved  # the same alert, not a second one
    finally:
        first.close()
        second.close()


def _fresh_fleet(tmp_path: Path) -> str:
    start = datetime.now(UTC) - timedelta(seconds=INTERVAL - 5)
    hosts = {host: {"spans": _spans(host, start, 1)} for host in TRAFFIC}
    return fill_in_another_process(tmp_path / "chdb", "cli_fleet", hosts)


def test_cli_monitor_once_evaluates_the_interval_just_ended(tmp_path: Path) -> None:
    url = _fresh_fleet(tmp_path)
    store = tmp_path / "monitor"
    env = {**os.environ, "FF_OTEL_COLLECTION_INTERVAL_SECONDS": str(INTERVAL)}
    done = subprocess.run(
        [str(CLI), "monitor", "--once", "--json", "--query-url", url, "--base-path", str(store)],
        capture_output=True,
        text=True,
        env={k: v for k, v in env.items() if not k.startswith("OTEL_")},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    pending = {(r["rule"], r["labels"]["component"]) for r in json.loads(done.stdout)}
    assert {("component_error_rate", "llm"), ("component_slow", "search")} <= pending
    listed = run("alerts", "list", "--all", "--json", "--base-path", store)
    assert {r["rule"] for r in json.loads(listed.stdout)} >= {"component_slow"}


def test_cli_monitor_runs_until_stopped_and_needs_a_query_url(tmp_path: Path) -> None:
    missing = run("monitor", "--base-path", tmp_path / "m")
    assert missing.returncode == 2 and "give --query-url" in missing.stderr
    url = _fresh_fleet(tmp_path)
    store = tmp_path / "monitor"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FF_OTEL_", "OTEL_"))}
    env["FF_OTEL_COLLECTION_INTERVAL_SECONDS"] = str(INTERVAL)
    process = subprocess.Popen(
        [str(CLI), "monitor", "--query-url", url, "--base-path", str(store)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        alerts = store / "analytics/system_metrics/alerts.jsonl"
        wait_until(lambda: alerts.exists() and "component_slow" in alerts.read_text(), 120)
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stderr is not None
    assert "evaluating alerts every 60 s" in process.stderr.read()
