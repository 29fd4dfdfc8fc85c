"""One set of alert states, shown alike by every command that shows alerts.

A real engine writes a store holding an alert in each state (and a line an
earlier version wrote); ``ff-otel alerts list``, ``ff-otel status``,
``ff-otel report``, the dashboard's ``/api/alerts`` (a real server on a real
socket) and the facade's ``get_active_alerts()`` must then agree on every
alert's state and on how many are in each.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections import Counter
from pathlib import Path

from ff_otel import (
    AlertRule,
    AlertState,
    FFConfigurationManagerConfigDTO,
    FFMetricsCollectionManager,
    FFSystemMetricsDTO,
)
from ff_otel.alerting import operations
from ff_otel.core import clock
from ff_otel.store.appender import append_records

from .test_alerting import alerts_path, engine_for
from .test_cli import as_json, ff_otel_cli
from .test_dashboard import _start_dashboard, _stop

HIGH = 500.0
LOW = 1.0


def _rule(name: str, for_seconds: float = 0) -> AlertRule:
    return AlertRule(name=name, series=f"metric:{name}", threshold=100, for_seconds=for_seconds)


def _store_with_every_state(base: Path) -> tuple[dict[str, str], float]:
    """A store with alerts in every state; their states by id, and when the last change was."""
    path = alerts_path(base)
    rules = [
        _rule("queue", for_seconds=3600),  # pending throughout
        _rule("flap", for_seconds=3600),  # pending, then cancelled
        _rule("disk"),  # firing, acknowledged
        _rule("cpu"),  # firing
        _rule("memory"),  # fired, then resolved
        _rule("swap"),  # the fourth to fire in the hour: suppressed (plus a storm alert)
    ]
    engine = engine_for(path, rules, max_alerts_per_hour=3)
    t0 = time.time() - 60
    every = {rule.name: HIGH for rule in rules}
    engine.evaluate(FFSystemMetricsDTO(), every, t0)
    engine.evaluate(FFSystemMetricsDTO(), {**every, "flap": LOW, "memory": LOW}, t0 + 30)
    engine.dispatcher.close()
    stamp = clock.epoch_to_iso(t0 + 30)
    append_records(
        path,
        [
            {"timestamp": stamp, "alert_id": "alert_old", "event": "pending", "state": "pending",
             "severity": "warning", "title": "written by an earlier version"},
            {"timestamp": stamp, "alert_id": "alert_old", "event": "cancelled",
             "state": "inactive", "severity": "warning", "title": "written by an earlier version"},
        ],
    )  # fmt: skip
    by_rule = {a.get("rule"): a["alert_id"] for a in operations.current_alerts(path).values()}
    assert operations.acknowledge(path, by_rule["disk"], "dana")
    return {a: r["state"] for a, r in operations.current_alerts(path).items()}, t0 + 30


async def test_every_command_shows_the_same_states_for_the_same_store(tmp_path: Path) -> None:
    states, last_change = _store_with_every_state(tmp_path)
    counts = {state.value: n for state, n in Counter(map(AlertState, states.values())).items()}
    expected = {state.value: counts.get(state.value, 0) for state in AlertState}
    # Every state is there, and no name outside the documented set.
    assert expected == {"pending": 1, "firing": 2, "suppressed": 1, "cancelled": 2, "resolved": 2}
    firing = {alert_id for alert_id, state in states.items() if state == AlertState.FIRING}

    listed = as_json(ff_otel_cli("alerts", "list", "--all", "--json", "--base-path", tmp_path))
    assert {a["alert_id"]: a["state"] for a in listed} == states
    only_firing = as_json(ff_otel_cli("alerts", "list", "--json", "--base-path", tmp_path))
    assert {a["alert_id"] for a in only_firing} == firing
    table = ff_otel_cli("alerts", "list", "--all", "--base-path", tmp_path).stdout
    assert "8 alerts: 1 pending, 2 firing, 1 suppressed, 2 cancelled, 2 resolved" in table
    assert "inactive" not in table

    # Only open alerts (pending, firing, suppressed) can be acknowledged or resolved.
    for command in ("ack", "resolve"):
        refused = ff_otel_cli("alerts", command, "alert_old", "--base-path", tmp_path)
        assert refused.returncode == 2 and "alert_old is already cancelled" in refused.stderr

    status = as_json(ff_otel_cli("status", "--json", "--base-path", tmp_path))["alerts"]
    assert status["by_state"] == expected
    assert status["firing"] == len(firing) and status["acknowledged"] == 1
    human = ff_otel_cli("status", "--base-path", tmp_path).stdout
    assert "2 firing" in human and "1 acknowledged) · 1 pending, 1 suppressed" in human

    end = clock.epoch_to_iso(last_change + 1)
    report = as_json(ff_otel_cli("report", "--json", "--end", end, "--base-path", tmp_path))
    alerts = report["report"]["alerts"]
    assert alerts["alerts"] == len(states)
    in_report: Counter[str] = Counter()
    for key, n in alerts["by_state_and_severity"].items():
        in_report[key.partition(":")[0]] += n
    assert {state.value: in_report[state.value] for state in AlertState} == expected

    dashboard = _start_dashboard(tmp_path)
    try:
        with urllib.request.urlopen(dashboard.url + "api/alerts", timeout=60) as answer:
            shown = json.load(answer)
    finally:
        _stop(dashboard)
    assert shown["by_state"] == expected
    for state in (AlertState.FIRING, AlertState.PENDING, AlertState.SUPPRESSED):
        assert {a["alert_id"]: a["state"] for a in shown[state.value]} == {
            alert_id: s for alert_id, s in states.items() if s == state
        }
    resolved = {alert_id for alert_id, s in states.items() if s == AlertState.RESOLVED}
    assert {a["alert_id"] for a in shown["resolved"]} == resolved  # all within 24 h

    config = FFConfigurationManagerConfigDTO()
    config.storage.base_path = tmp_path
    active = await FFMetricsCollectionManager(config).get_active_alerts()
    assert {a.alert_id for a in active} == firing


def test_the_docs_document_every_state_with_its_meaning() -> None:
    repository = Path(__file__).resolve().parent.parent
    pages = [repository / "README.md", *sorted((repository / "docs").rglob("*.md"))]
    text = "\n".join(page.read_text() for page in pages)  # whichever page has the table
    start = re.search(r"^\*\*States\*\* \(as in Prometheus\)|^#+ States$", text, re.MULTILINE)
    assert start is not None, "no page of the README or docs/ has the alert states"
    section = text[start.start() :]
    section = section[: section.index("Noise control")]
    rows = re.findall(r"^\| `(\w+)` \| (.+) \|$", section, re.MULTILINE)
    assert [name for name, _ in rows] == [state.value for state in AlertState]
    for name, meaning in rows:
        assert AlertState(name).meaning == meaning.replace("`", "")
