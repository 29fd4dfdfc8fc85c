"""Alerting against real peers: an HTTP server for webhooks and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

import ff_otel
from ff_otel import (
    AlertRule,
    FFAnalyticsAlertingConfigDTO,
    FFConfigurationManagerConfigDTO,
    FFMetricsCollectionManager,
    FFNotificationSettingsDTO,
    FFSystemMetricsDTO,
)
from ff_otel.alerting import operations
from ff_otel.alerting.engine import AlertEngine
from ff_otel.alerting.notifiers import NotificationDispatcher
from ff_otel.alerting.state import AlertState
from ff_otel.pipeline import reports
from ff_otel.store.appender import append_records

from .conftest import free_port, records, wait_until


@dataclass
class Webhook:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    hang: bool = False


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    port = free_port()
    hook = Webhook(url=f"http://127.0.0.1:{port}/hook")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.received.append(json.loads(body))
            hook.arrived.set()
            if hook.hang:
                hook.release.wait(30)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    hook.release.set()
    server.shutdown()
    server.server_close()


@dataclass
class Mailbox:
    port: int
    messages: list[Any] = field(default_factory=list)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


def alerts_path(base: Path) -> Path:
    """alerts.jsonl of a real store (operations audit into the store's trail)."""
    layout = ff_otel.StoreLayout(base)
    layout.initialize(ff_otel.FFAnalyticsConfigDTO())
    return layout.alerts


def engine_for(
    path: Path,
    rules: list[AlertRule],
    *,
    webhook: Webhook | None = None,
    mailbox: Mailbox | None = None,
    **alerting: Any,
) -> AlertEngine:
    config = FFAnalyticsAlertingConfigDTO(
        enable_webhook_alerts=webhook is not None,
        webhook_urls=[webhook.url] if webhook else [],
        enable_email_alerts=mailbox is not None,
        email_recipients=["oncall@example.org"] if mailbox else [],
        **alerting,
    )
    settings = FFNotificationSettingsDTO(
        smtp_host="127.0.0.1", smtp_port=mailbox.port if mailbox else 25, notify_retries=0
    )
    deliveries: list[dict[str, Any]] = []

    def on_result(record: Any, channel: str, target: str, ok: bool, error: Any, n: int) -> None:
        deliveries.append({"alert_event": record["event"], "channel": channel, "ok": ok})

    dispatcher = NotificationDispatcher(config, settings, "shop", on_result)
    engine = AlertEngine(path, config, rules, dispatcher, "shop")
    engine.deliveries = deliveries  # type: ignore[attr-defined]
    return engine


QUEUE_RULE = AlertRule(
    name="queue_backlog",
    series="metric:queue.depth",
    comparison=">",
    threshold=100,
    for_seconds=60,
    severity="warning",
    recommended_actions=["Add consumers"],
    runbook_url="https://runbooks.example.org/queue",
)
SNAPSHOT = FFSystemMetricsDTO()


def test_threshold_for_duration_fires_once_escalates_and_resolves(
    tmp_path: Path, webhook: Webhook, mailbox: Mailbox
) -> None:
    path = alerts_path(tmp_path)
    engine = engine_for(
        path, [QUEUE_RULE], webhook=webhook, mailbox=mailbox, escalation_delay_minutes=5
    )
    t0 = 1_800_000_000.0
    engine.evaluate(SNAPSHOT, {"queue.depth": 150}, t0)  # pending
    assert operations.active_alerts(path) == []
    engine.evaluate(SNAPSHOT, {"queue.depth": 160}, t0 + 30)  # still pending: for = 60 s
    engine.evaluate(SNAPSHOT, {"queue.depth": 170}, t0 + 60)  # fires
    for step in range(1, 4):  # stays one alert
        engine.evaluate(SNAPSHOT, {"queue.depth": 180}, t0 + 60 + step * 30)
    (active,) = operations.active_alerts(path)
    assert active.title == "queue_backlog" and active.severity == "warning"
    # The value when it fired; later evaluations change no state, so write no line.
    assert active.current_value == 170 and active.threshold_value == 100
    assert active.message == "metric:queue.depth > 100 for 60 s"
    assert active.documentation_links == ["https://runbooks.example.org/queue"]

    engine.evaluate(SNAPSHOT, {"queue.depth": 190}, t0 + 60 + 301)  # unacknowledged: escalates
    (escalated,) = operations.active_alerts(path)
    assert escalated.escalated and escalated.severity == "error"

    engine.evaluate(SNAPSHOT, {"queue.depth": 20}, t0 + 500)  # condition clears
    assert operations.active_alerts(path) == []
    events = [r["event"] for r in records(path) if r.get("alert_id") == active.alert_id]
    assert events == ["pending", "fired", "escalated", "resolved"]
    resolved = operations.current_alerts(path)[active.alert_id]
    assert resolved["resolution_time_seconds"] == 440

    wait_until(lambda: len(webhook.received) == 3 and len(mailbox.messages) == 3)
    statuses = [payload["status"] for payload in webhook.received]
    assert statuses == ["firing", "firing", "resolved"]
    first = webhook.received[0]
    assert first["version"] == "4"
    assert first["alerts"][0]["labels"]["alertname"] == "queue_backlog"
    assert first["alerts"][0]["annotations"]["runbook_url"].endswith("/queue")
    subjects = [m["Subject"] for m in mailbox.messages]
    assert subjects[0] == "[ff-otel] FIRING warning: queue_backlog"
    assert subjects[-1].startswith("[ff-otel] RESOLVED")
    assert "Add consumers" in mailbox.messages[0].get_payload()
    engine.dispatcher.close()


def test_cooldown_keeps_a_flapping_condition_one_alert(tmp_path: Path, webhook: Webhook) -> None:
    rule = QUEUE_RULE.model_copy(update={"for_seconds": 0})
    path = alerts_path(tmp_path)
    engine = engine_for(path, [rule], webhook=webhook, alert_cooldown_minutes=15)
    t0 = 1_800_000_000.0
    engine.evaluate(SNAPSHOT, {"queue.depth": 500}, t0)
    engine.evaluate(SNAPSHOT, {"queue.depth": 5}, t0 + 60)
    engine.evaluate(SNAPSHOT, {"queue.depth": 500}, t0 + 120)  # relapse inside the cooldown
    ids = {r["alert_id"] for r in records(path) if r.get("alert_id")}
    assert len(ids) == 1
    assert [r["event"] for r in records(path)] == ["pending", "fired", "resolved", "refired"]
    wait_until(lambda: len(webhook.received) == 2)  # fired and resolved; no second "new" alert
    time.sleep(0.2)
    assert len(webhook.received) == 2
    engine.evaluate(SNAPSHOT, {"queue.depth": 5}, t0 + 180)
    engine.evaluate(SNAPSHOT, {"queue.depth": 500}, t0 + 180 + 16 * 60)  # after the cooldown
    assert len({r["alert_id"] for r in records(path) if r.get("alert_id")}) == 2
    engine.dispatcher.close()


def test_beyond_max_alerts_per_hour_one_storm_alert_and_nothing_lost(tmp_path: Path) -> None:
    rules = [
        AlertRule(name=f"rule_{i}", series=f"metric:m{i}", threshold=1, for_seconds=0)
        for i in range(5)
    ]
    path = alerts_path(tmp_path)
    engine = engine_for(path, rules, max_alerts_per_hour=2)
    engine.evaluate(SNAPSHOT, {f"m{i}": 10 for i in range(5)}, 1_800_000_000.0)
    by_event = [(r.get("rule"), r["event"]) for r in records(path)]
    fired = [rule for rule, event in by_event if event == "fired" and rule != "alert_storm"]
    suppressed = [rule for rule, event in by_event if event == "suppressed"]
    assert len(fired) == 2 and len(suppressed) == 3
    assert ("alert_storm", "fired") in by_event
    storm = next(r for r in records(path) if r.get("rule") == "alert_storm")
    assert storm["severity"] == "critical"


def test_state_survives_a_restart(tmp_path: Path, webhook: Webhook) -> None:
    rule = QUEUE_RULE.model_copy(update={"for_seconds": 0})
    path = alerts_path(tmp_path)
    first = engine_for(path, [rule], webhook=webhook, escalation_delay_minutes=1)
    t0 = 1_800_000_000.0
    first.evaluate(SNAPSHOT, {"queue.depth": 500}, t0)
    (alert,) = operations.active_alerts(path)
    assert operations.acknowledge(path, alert.alert_id, "dana")
    operations.silence(
        path,
        {"rule": "disk_full"},
        duration_minutes=600,
        created_by="dana",
        comment="maintenance",
        starts_at="2027-01-15T08:00:00Z",
    )
    first.dispatcher.close()

    restarted = engine_for(
        path,
        [rule, AlertRule(name="disk_full", series="metric:disk", threshold=90, for_seconds=0)],
        webhook=webhook,
    )
    restarted.evaluate(SNAPSHOT, {"queue.depth": 600, "disk": 95}, t0 + 3600)
    state = operations.current_alerts(path)[alert.alert_id]
    assert state["acknowledged"] and state["assigned_to"] == "dana"
    assert not state.get("escalated")  # acknowledged alerts do not escalate
    disk = next(a for a in operations.current_alerts(path).values() if a["rule"] == "disk_full")
    assert disk["silenced"] is True and disk["state"] == "firing"
    wait_until(lambda: len(webhook.received) >= 1)
    # Closing sends everything queued first: after it, nothing more can arrive.
    restarted.dispatcher.close(timeout=60)
    assert all(p["alerts"][0]["labels"]["alertname"] != "disk_full" for p in webhook.received)


def test_anomalies_raise_alerts_with_the_expected_band(tmp_path: Path) -> None:
    path = alerts_path(tmp_path)
    engine = engine_for(path, [])
    t0 = 1_800_000_000.0
    for step in range(60):
        latency = 100 + (step % 7) - 3
        engine.evaluate(FFSystemMetricsDTO(response_time_ms=latency), {}, t0 + step)
    engine.evaluate(FFSystemMetricsDTO(response_time_ms=900), {}, t0 + 60)
    (alert,) = operations.active_alerts(path)
    assert alert.alert_type == "anomaly" and alert.metric_name == "response_time_ms"
    band = alert.historical_context
    assert band["expected_low"] < 100 < band["expected_high"] < 900
    engine.evaluate(FFSystemMetricsDTO(response_time_ms=101), {}, t0 + 61)
    assert operations.active_alerts(path) == []
    # A relapse within the cooldown (after the score's 100-point suppression)
    # re-fires the same alert instead of opening a second one. It is larger
    # than the first: a second 900 ms in 200 points is as common as one in
    # 200, which the score no longer counts as news (scoring.RARE_RATE).
    for step in range(62, 200):
        engine.evaluate(FFSystemMetricsDTO(response_time_ms=100 + (step % 7) - 3), {}, t0 + step)
    engine.evaluate(FFSystemMetricsDTO(response_time_ms=5000), {}, t0 + 200)
    (again,) = operations.active_alerts(path)
    assert again.alert_id == alert.alert_id


def test_an_anomaly_below_the_series_floor_raises_no_alert(tmp_path: Path) -> None:
    # A quiet series: 100 ms to the microsecond. 102 ms is far outside its band
    # (its score is ~1), but 2 ms is under the response-time floor of 5 ms.
    path = alerts_path(tmp_path)
    engine = engine_for(path, [])
    t0 = 1_800_000_000.0
    for step in range(60):
        engine.evaluate(
            FFSystemMetricsDTO(response_time_ms=100 + (step % 3) * 0.001), {}, t0 + step
        )
    detector = engine.anomalies.detectors["response_time_ms"]
    engine.evaluate(FFSystemMetricsDTO(response_time_ms=102), {}, t0 + 60)
    assert detector.score >= 0.9
    assert operations.active_alerts(path) == []


def test_a_hanging_webhook_does_not_hold_up_collection(tmp_path: Path, webhook: Webhook) -> None:
    webhook.hang = True
    handle = ff_otel.configure(
        base_path=tmp_path,
        system_metrics=False,
        analytics=ff_otel.FFAnalyticsConfigDTO(
            alerting_config=FFAnalyticsAlertingConfigDTO(
                enable_webhook_alerts=True, webhook_urls=[webhook.url]
            )
        ),
        alert_rules=[AlertRule(name="always", series="metric:ticks", threshold=0)],
        notifications=FFNotificationSettingsDTO(notify_timeout_seconds=60, notify_retries=0),
    )
    ff_otel.counter("ticks").add(1)
    assert ff_otel.force_flush()
    assert webhook.arrived.wait(15)  # the delivery is now stuck in the endpoint

    def collect() -> None:
        ff_otel.counter("ticks").add(1)
        ff_otel.force_flush()

    collections = threading.Thread(target=collect)
    before = len(records(handle.layout.health_checks))
    collections.start()
    collections.join(20)  # a collection waiting on the webhook would take 60 s
    assert not collections.is_alive()
    assert len(records(handle.layout.health_checks)) == before + 1
    webhook.release.set()


def test_a_refusing_endpoint_is_recorded_as_failed_delivery(tmp_path: Path) -> None:
    handle = ff_otel.configure(
        base_path=tmp_path,
        system_metrics=False,
        analytics=ff_otel.FFAnalyticsConfigDTO(
            alerting_config=FFAnalyticsAlertingConfigDTO(
                enable_webhook_alerts=True, webhook_urls=[f"http://127.0.0.1:{free_port()}/x"]
            )
        ),
        alert_rules=[AlertRule(name="always", series="metric:ticks", threshold=0)],
        notifications=FFNotificationSettingsDTO(notify_timeout_seconds=1, notify_retries=1),
    )
    ff_otel.counter("ticks").add(1)
    assert ff_otel.force_flush()
    wait_until(
        lambda: any(r.get("event") == "notification_failed" for r in records(handle.layout.alerts))
    )
    failed = next(r for r in records(handle.layout.alerts) if r["event"] == "notification_failed")
    assert failed["channel"] == "webhook" and failed["attempts"] == 2
    assert "Connection refused" in failed["error"] or "URLError" in failed["error"]


async def test_the_monitoring_protocol(tmp_path: Path) -> None:
    ff_otel.configure(
        base_path=tmp_path,
        system_metrics=False,
        alert_rules=[
            AlertRule(name="always", series="metric:ticks", threshold=0, severity="critical")
        ],
    )
    ff_otel.counter("ticks").add(1)
    assert ff_otel.force_flush()
    config = FFConfigurationManagerConfigDTO()
    config.storage.base_path = tmp_path
    manager = FFMetricsCollectionManager(config)
    (alert,) = await manager.get_active_alerts()
    assert await manager.get_active_alerts(severity="info") == []
    assert [a.alert_id for a in await manager.get_active_alerts("critical")] == [alert.alert_id]
    assert await manager.acknowledge_alert(alert.alert_id, "sam") is True
    assert await manager.acknowledge_alert("alert_does_not_exist", "sam") is False
    assert await manager.resolve_alert(alert.alert_id, "restarted the consumer") is True
    assert await manager.resolve_alert(alert.alert_id, "again") is False
    assert await manager.get_active_alerts() == []
    state = operations.current_alerts(tmp_path / "analytics" / "system_metrics" / "alerts.jsonl")
    assert state[alert.alert_id]["resolution_notes"] == "restarted the consumer"
    with pytest.raises(ValueError, match="unknown severity"):
        await manager.get_active_alerts(severity="apocalyptic")


def test_bad_rules_and_silences_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="comparison"):
        AlertRule(name="x", series="cpu_usage_percent", threshold=1, comparison="=>")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="metric name"):
        AlertRule(name="x", series="metric:", threshold=1)
    with pytest.raises(ValueError, match="end"):
        operations.silence(alerts_path(tmp_path), {"rule": "x"}, created_by="me")
    with pytest.raises(ValueError, match="matcher"):
        operations.silence(alerts_path(tmp_path), {}, duration_minutes=5, created_by="me")


def test_a_new_collector_continues_the_anomaly_detectors_of_the_last(tmp_path: Path) -> None:
    settings = {
        "base_path": tmp_path,
        "analytics": ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=3600),
        "system_metrics": False,
    }
    first = ff_otel.configure(**settings)
    assert first.pipeline is not None and first.pipeline.alerts is not None
    for _ in range(5):
        first.pipeline.tick()
    learned = first.pipeline.alerts.anomalies.states()
    assert learned and all(state["points_seen"] >= 5 for state in learned.values())
    ff_otel.shutdown()  # releases the collector lease; its last tick is checkpointed

    second = ff_otel.configure(**settings)
    assert second.pipeline is not None and second.pipeline.alerts is not None
    assert second.pipeline.acquire_collector()
    restored = second.pipeline.alerts.anomalies.states()
    assert restored.keys() == learned.keys()
    for series, state in restored.items():
        assert state["points_seen"] >= learned[series]["points_seen"]  # not a fresh warm-up


def test_every_command_shows_one_set_of_alert_states(tmp_path: Path) -> None:
    path = alerts_path(tmp_path)
    layout = ff_otel.StoreLayout(tmp_path)
    rules = [
        QUEUE_RULE,  # for 60 s: pending first
        AlertRule(name="disk_full", series="metric:disk", threshold=90, for_seconds=0),
    ]
    engine = engine_for(path, rules)
    t0 = 1_800_000_000.0
    engine.evaluate(SNAPSHOT, {"queue.depth": 500, "disk": 95}, t0)  # queue pending, disk fires
    engine.evaluate(SNAPSHOT, {"queue.depth": 5, "disk": 95}, t0 + 30)  # queue cancelled
    engine.dispatcher.close()
    current = operations.current_alerts(path)
    assert {a["rule"]: a["state"] for a in current.values()} == {
        "queue_backlog": "cancelled",
        "disk_full": "firing",
    }
    assert {r["state"] for r in records(path) if r.get("state")} <= set(AlertState)
    # The report counts alerts (not lifecycle lines) in their state at the
    # period's end: the one firing alert, as the list of firing alerts has it.
    period = reports._alerts(layout, "2027-01-01T00:00:00Z", "2027-01-31T00:00:00Z")
    assert period["alerts"] == 2
    assert period["by_state_and_severity"] == {"cancelled:warning": 1, "firing:warning": 1}
    assert len(operations.active_alerts(path)) == 1


def test_an_older_stores_inactive_state_reads_as_cancelled(tmp_path: Path) -> None:
    path = alerts_path(tmp_path)
    append_records(
        path,
        [
            {"timestamp": "2027-01-15T08:00:00.000000Z", "alert_id": "a1", "event": "pending",
             "state": "pending", "severity": "warning"},
            {"timestamp": "2027-01-15T08:01:00.000000Z", "alert_id": "a1", "event": "cancelled",
             "state": "inactive", "severity": "warning"},
        ],
    )  # fmt: skip
    assert operations.current_alerts(path)["a1"]["state"] == "cancelled"
