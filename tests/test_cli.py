"""The installed ``ff-otel`` command, run as a subprocess against stores real services wrote.

One store is produced by ``examples/chat_service.py`` for the whole module and
shared by the commands that only read; commands that write (BI, reports,
exports, erasure, retention, alert changes) run on copies of it. The alert
workflow runs beside the example service while it is still serving.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import ff_otel
from ff_otel.alerting.operations import current_alerts
from ff_otel.cli import main as cli_main
from ff_otel.core import clock
from ff_otel.privacy.keys import load_hash_key
from ff_otel.privacy.pseudonym import Pseudonymizer
from ff_otel.query import streams

from .conftest import wait_until
from .test_dashboard import _start_dashboard
from .test_dashboard import _stop as _stop_dashboard

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("ff-otel")
EXAMPLE = ROOT / "examples" / "chat_service.py"
SIMULATED_USERS = 5  # examples/chat_service.py: SIMULATED_USERS
_TERMINAL_VARIABLES = ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TERM")


def _environment(**extra: str) -> dict[str, str]:
    """The caller's environment without ff-otel/OTel settings or forced terminal behaviour."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FF_OTEL_", "OTEL_")) and name not in _TERMINAL_VARIABLES
    }
    env.update(extra)
    return env


def ff_otel_cli(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``ff-otel`` (stdin empty, not a terminal); it never prints a traceback."""
    done = subprocess.run(
        [str(CLI), *map(str, args)],
        capture_output=True,
        text=True,
        input="",
        env=env or _environment(),
        cwd=cwd,
        timeout=300,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert "Traceback" not in done.stdout, done.stdout
    return done


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout)


def one_line_error(done: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The single stderr line of a failed command (nothing on stdout)."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("ff-otel: error: "), lines[0]
    assert done.stdout == ""
    return lines[0]


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store written by the example chat service (5 users for 4 s; alerts fire and resolve)."""
    assert CLI.exists(), f"ff-otel is not installed in the venv: {CLI}"
    base = tmp_path_factory.mktemp("cli") / "example_store"
    subprocess.run(
        [sys.executable, str(EXAMPLE), "--base-path", str(base), "--seconds", "4"],
        check=True,
        capture_output=True,
        env=_environment(),
        timeout=300,
    )
    return base


@pytest.fixture
def store_copy(example_store: Path, tmp_path: Path) -> Path:
    """A private copy of the example store, for commands that write."""
    copy = tmp_path / "store"
    shutil.copytree(example_store, copy)
    return copy


def _records(path: Path) -> list[dict[str, Any]]:
    return list(ff_otel.read_records(path))


# --- help, usage errors, missing stores ---------------------------------------------------


def test_every_command_has_help_with_an_example() -> None:
    commands: list[tuple[str, Any]] = []

    def walk(prefix: str, command: Any) -> None:
        commands.append((prefix, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk(f"{prefix} {name}", sub)

    walk("ff-otel", cli_main)
    mine = [
        "init",
        "status",
        "alerts",
        "alerts list",
        "alerts ack",
        "alerts resolve",
        "alerts silence",
        "alerts silences",
        "bi",
        "report",
        "query",
        "export",
        "audit",
        "audit verify",
        "retention",
        "retention run",
        "erase-user",
    ]
    paths = {path for path, _ in commands}
    assert {f"ff-otel {name}" for name in mine} <= paths
    for path, command in commands:
        if path.removeprefix("ff-otel ") in mine:
            epilog = command.epilog or ""
            assert "Examples:" in epilog and f"{path} " in epilog, f"{path} has no example"
    for args in (["--help"], ["status", "--help"], ["alerts", "ack", "-h"], ["query", "--help"]):
        done = ff_otel_cli(*args)
        assert done.returncode == 0
        assert "Usage: ff-otel" in done.stdout
        if args != ["--help"]:
            assert "Examples:" in done.stdout and "--base-path" in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["alerts", "list"],
        ["alerts", "ack", "alert_1"],
        ["bi"],
        ["report"],
        ["query", "spans"],
        ["export", "spans", "-o", "out"],
        ["audit", "verify"],
        ["retention", "run"],
        ["erase-user", "account-1", "--yes"],
    ],
)
def test_a_missing_store_is_one_line(args: list[str], tmp_path: Path) -> None:
    done = ff_otel_cli(*args, "--base-path", tmp_path / "nowhere", cwd=tmp_path)
    line = one_line_error(done)
    assert f"no ff-otel store at {tmp_path / 'nowhere'}" in line
    assert sorted(tmp_path.iterdir()) == []


def test_the_store_comes_from_ff_otel_base_path(example_store: Path) -> None:
    done = ff_otel_cli(
        "query", "spans", "--json", env=_environment(FF_OTEL_BASE_PATH=str(example_store))
    )
    assert done.returncode == 0
    assert as_json(done) == [
        {"count": len(_records(example_store / "analytics/system_metrics/spans.jsonl"))}
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["bi", "--period", "year"], "'year' is not one of 'day', 'week', 'month'"),
        (["report", "--period", "quarter"], "'quarter' is not one of"),
        (["query", "spans", "--since", "yesterday"], "'yesterday' is neither an ISO-8601 time"),
        (["query", "spans", "--since", "1h", "--until", "2h"], "bad time range: --since"),
        (
            ["export", "spans", "-o", "x", "--since", "2026-11-02", "--until", "2026-11-01"],
            "bad time range",
        ),
        (["query", "nosuch"], "unknown stream 'nosuch'"),
        (
            ["query", "spans", "--agg", "median:duration_ms"],
            "unknown aggregate 'median:duration_ms'",
        ),
        (["query", "spans", "--where", "component"], "'component' is not FIELD=VALUE"),
        (["alerts", "ack", "alert_0_nope"], "no alert 'alert_0_nope'"),
        (["alerts", "resolve", "alert_0_nope"], "no alert 'alert_0_nope'"),
        (["alerts", "list", "--severity", "fatal"], "'fatal' is not one of"),
        (["alerts", "silence", "--match", "rule=x"], "give exactly one of --duration or --until"),
        (["alerts", "silence", "--match", "rule", "--duration", "1h"], "use LABEL=VALUE"),
        (["erase-user", "account-1"], "pass --yes to confirm"),
        (["nosuch"], "No such command 'nosuch'"),
    ],
)
def test_bad_input_is_one_line_naming_it(
    example_store: Path, tmp_path: Path, args: list[str], says: str
) -> None:
    before = sorted(p.name for p in (example_store / "analytics").rglob("*"))
    done = ff_otel_cli(*args, "--base-path", example_store, cwd=tmp_path)
    assert says in one_line_error(done)
    assert sorted(p.name for p in (example_store / "analytics").rglob("*")) == before


# --- init and status ----------------------------------------------------------------------------


def test_init_creates_a_store_and_leaves_an_existing_one_alone(tmp_path: Path) -> None:
    base = tmp_path / "fresh"
    done = ff_otel_cli(
        "init", "--base-path", base, env=_environment(FF_OTEL_ANALYTICS_LEVEL="full")
    )
    assert done.returncode == 0, done.stderr
    assert f"Created the store: {base / 'analytics'}" in done.stdout
    layout = ff_otel.StoreLayout(base)
    assert all(path.exists() for path in layout.all_streams())
    metadata = json.loads(layout.metadata_path.read_text())
    assert metadata["analytics_level"] == "full"
    assert "full" in done.stdout and metadata["analytics_system_id"] in done.stdout

    again = as_json(ff_otel_cli("init", "--base-path", base, "--json"))
    assert again["created"] is False
    assert again["metadata"] == metadata
    assert json.loads(layout.metadata_path.read_text()) == metadata

    # Nothing has collected yet: health is unknown, which is not "healthy".
    status = ff_otel_cli("status", "--base-path", base, "--json")
    assert status.returncode == 1
    report = as_json(status)
    assert report["status"] == "unknown" and report["ok"] is False
    assert "no health recorded yet" in report["reasons"][0]


def test_status_shows_the_latest_health_of_the_example_store(example_store: Path) -> None:
    layout = ff_otel.StoreLayout(example_store)
    latest = _records(layout.health_checks)[-1]
    snapshot = _records(layout.performance)[-1]
    # The service has stopped. It wrote every second, so 3 s later its record is stale.
    age = (clock.now() - clock.parse_instant(latest["timestamp"])).total_seconds()
    time.sleep(max(0.0, 3.5 - age))
    done = ff_otel_cli("status", "--base-path", example_store, "--json")
    report = as_json(done)
    assert report["status"] == latest["status"]
    assert report["checked_at"] == latest["timestamp"]
    assert report["components"] == latest["checks"]
    assert report["metrics"] == snapshot
    assert report["stale"] is True and report["collection_interval_seconds"] == 1
    firing = [a for a in current_alerts(layout.alerts).values() if a["state"] == "firing"]
    assert report["alerts"]["firing"] == len(firing)
    bad = latest["status"] == "unhealthy" or any(a["severity"] == "critical" for a in firing)
    assert done.returncode == (1 if bad else 0)
    assert report["ok"] is not bad

    human = ff_otel_cli("status", "--base-path", example_store)
    assert human.returncode == done.returncode
    assert f"Health: {latest['status'].upper()}" in human.stdout
    for check in latest["checks"]:
        assert check["component"] in human.stdout and check["detail"] in human.stdout
    assert "stale: the collector writes every 1 s" in human.stdout
    assert "\x1b[" not in human.stdout  # piped: no colours


def test_the_demos_5xx_answers_are_failed_requests_in_every_figure(store_copy: Path) -> None:
    # One definition (a request: a server or root span; failed: status error or
    # HTTP >= 500), worked out here from the stored spans, and the same counts
    # in the interval figures behind `status` and the dashboard's cards, in
    # `bi`, in `report`, and in the dashboard's 24 h chart.
    layout = ff_otel.StoreLayout(store_copy)
    spans = _records(layout.spans)
    requests = [s for s in spans if s["kind"] == "server" or not s.get("parent_span_id")]

    def code(span: dict[str, Any]) -> int:
        return int(span["attributes"].get("http.response.status_code") or 0)

    failed = [s for s in requests if s["status"] == "error" or code(s) >= 500]
    answered_5xx = [s for s in requests if code(s) >= 500]
    assert answered_5xx and all(s in failed for s in answered_5xx)  # the demo's 504s
    assert any(400 <= code(s) < 500 for s in requests)  # its 415s, which do not fail

    summaries = [r for r in _records(layout.error_rates) if r["record_type"] == "interval_summary"]
    assert sum(r["requests"] for r in summaries) == len(requests)
    assert sum(r["failed_requests"] for r in summaries) == len(failed)
    status = as_json(ff_otel_cli("status", "--json", "--base-path", store_copy))
    last = summaries[-1]
    assert status["interval"] == {
        key: last[key]
        for key in ("interval_seconds", "requests", "failed_requests", "error_rate_percent")
    }

    printed = ff_otel_cli("status", "--base-path", store_copy).stdout
    footer = next(line for line in printed.splitlines() if line.startswith("Last interval ("))
    if last["requests"]:
        assert f"{last['requests']:,} requests" in footer
        assert f"{last['failed_requests']:,} failed" in footer
    else:
        assert "no requests" in footer and "error rate" not in footer

    bi = as_json(ff_otel_cli("bi", "--json", "--base-path", store_copy))
    assert (bi["requests"]["count"], bi["requests"]["errors"]) == (len(requests), len(failed))
    end = clock.epoch_to_iso(
        max(clock.parse_instant(s["timestamp"]) for s in spans).timestamp() + 1
    )
    report = as_json(ff_otel_cli("report", "--json", "--end", end, "--base-path", store_copy))
    performance = report["report"]["performance"]
    assert (performance["requests"], performance["failed_requests"]) == (len(requests), len(failed))
    human = ff_otel_cli("report", "--end", end, "--base-path", store_copy).stdout
    assert f"{len(requests):,}, {len(failed):,} failed" in human

    by_hour: dict[str, list[int]] = {}
    for span in requests:
        counts = by_hour.setdefault(span["timestamp"][:13], [0, 0])
        counts[0] += 1
        counts[1] += span in failed
    dashboard = _start_dashboard(store_copy)
    try:
        with urllib.request.urlopen(dashboard.url + "api/series?range=24h", timeout=60) as answer:
            chart = json.load(answer)["requests"]["error_rate"]
    finally:
        _stop_dashboard(dashboard)
    assert [value for _, value in chart] == [
        pytest.approx(100 * bad / total, abs=0.001) for total, bad in by_hour.values()
    ]


QUIET_SERVICE = """
import sys, time
import ff_otel
ff_otel.configure(base_path=sys.argv[1], service_name="quiet-worker", system_metrics=False,
                  analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=1))
deadline = time.monotonic() + 1.5
while time.monotonic() < deadline:
    with ff_otel.span("job", component="worker"):
        time.sleep(0.01)
ff_otel.shutdown()
"""


def test_status_of_a_healthy_store_exits_0_and_max_age_fails_it(tmp_path: Path) -> None:
    base = tmp_path / "quiet"
    subprocess.run(
        [sys.executable, "-c", QUIET_SERVICE, str(base)],
        check=True,
        env=_environment(),
        timeout=120,
    )
    done = ff_otel_cli("status", "--base-path", base)
    assert done.returncode == 0, done.stdout
    assert "Health: HEALTHY" in done.stdout
    assert "worker" in done.stdout
    assert "Alerts: none firing" in done.stdout

    time.sleep(0.05)
    old = ff_otel_cli("status", "--base-path", base, "--max-age", "0.01", "--json")
    assert old.returncode == 1
    assert any("> --max-age 0.01 s" in reason for reason in as_json(old)["reasons"])


def _run_on_terminal(args: list[str]) -> tuple[int, bytes]:
    """Run ``ff-otel`` with stdout and stderr on a pseudo-terminal; returns its code and bytes."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(CLI), *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=_environment(TERM="xterm-256color"),
    )
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the command has exited
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    os.close(controller)
    return process.wait(timeout=60), output


def test_colours_and_progress_bars_only_on_a_terminal(example_store: Path) -> None:
    code, output = _run_on_terminal(["status", "--base-path", str(example_store)])
    assert code in (0, 1)
    assert b"\x1b[" in output and b"Health:" in output
    code, output = _run_on_terminal(["audit", "verify", "--base-path", str(example_store)])
    assert code == 0
    assert b"Verifying the audit trail" in output  # the (transient) progress bar
    piped = ff_otel_cli("audit", "verify", "--base-path", example_store)
    assert "Verifying" not in piped.stdout + piped.stderr
    assert "\x1b[" not in piped.stdout + piped.stderr


# --- alerts ------------------------------------------------------------------------------------


def test_alerts_list_shows_what_alerts_jsonl_holds(example_store: Path) -> None:
    alerts = current_alerts(ff_otel.StoreLayout(example_store).alerts)
    assert alerts, "the example service raises alerts (component error rates)"
    everything = as_json(
        ff_otel_cli("alerts", "list", "--all", "--json", "--base-path", example_store)
    )
    assert {a["alert_id"] for a in everything} == set(alerts)
    for alert in everything:
        assert alert["state"] == alerts[alert["alert_id"]]["state"]
        assert not any(key.endswith("_epoch") for key in alert)
    firing = as_json(ff_otel_cli("alerts", "list", "--json", "--base-path", example_store))
    assert [a["alert_id"] for a in firing] == [
        a["alert_id"] for a in everything if a["state"] == "firing"
    ]
    human = ff_otel_cli("alerts", "list", "--all", "--base-path", example_store)
    assert human.returncode == 0
    for alert_id, alert in alerts.items():
        assert alert_id in human.stdout and alert["title"] in human.stdout
    errors_only = as_json(
        ff_otel_cli(
            "alerts",
            "list",
            "--all",
            "--severity",
            "critical",
            "--json",
            "--base-path",
            example_store,
        )
    )
    assert errors_only == [a for a in everything if a["severity"] == "critical"]


@pytest.fixture
def running_service(tmp_path: Path) -> Iterator[Path]:
    """The example chat service, serving into a fresh store until the test ends."""
    base = tmp_path / "live"
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--base-path", str(base), "--seconds", "240"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_environment(),
    )
    try:
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _acknowledge_a_firing_alert(base: Path, by: str) -> dict[str, Any]:
    """Wait for a firing alert and acknowledge it (retrying if it resolves in between)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        listed = ff_otel_cli("alerts", "list", "--json", "--base-path", base)
        if listed.returncode == 0:  # the store may not exist yet
            for alert in as_json(listed):
                done = ff_otel_cli(
                    "alerts", "ack", alert["alert_id"], "--by", by, "--json", "--base-path", base
                )
                if done.returncode == 0:
                    return dict(as_json(done))
                assert "already resolved" in done.stderr or "no longer open" in done.stderr
        time.sleep(0.5)
    raise AssertionError("the example service raised no alert that stayed firing")


def test_alert_workflow_beside_a_running_service(running_service: Path) -> None:
    base = running_service
    layout = ff_otel.StoreLayout(base)
    acked = _acknowledge_a_firing_alert(base, "dana")
    alert_id = acked["alert_id"]
    assert acked["acknowledged"] is True and acked["assigned_to"] == "dana"

    # The service keeps evaluating (two more intervals); the acknowledgement sticks.
    wait_until(
        lambda: (
            sum(1 for r in _records(layout.performance) if r["timestamp"] > acked["timestamp"]) >= 2
        ),
        timeout=120,
    )
    listed = {
        a["alert_id"]: a
        for a in as_json(ff_otel_cli("alerts", "list", "--all", "--json", "--base-path", base))
    }
    assert listed[alert_id]["acknowledged"] is True
    human = ff_otel_cli("alerts", "list", "--all", "--base-path", base)
    assert "acked by dana" in human.stdout or listed[alert_id]["state"] != "firing"

    resolved = ff_otel_cli(
        "alerts",
        "resolve",
        alert_id,
        "--notes",
        "rejected upload types documented",
        "--by",
        "dana",
        "--base-path",
        base,
    )
    assert resolved.returncode == 0, resolved.stderr
    assert f"Resolved {alert_id}." in resolved.stdout
    state = current_alerts(layout.alerts)[alert_id]
    assert state["state"] == "resolved" and state["manually_resolved"] is True
    assert state["resolution_notes"] == "rejected upload types documented"
    again = ff_otel_cli("alerts", "ack", alert_id, "--base-path", base)
    assert "is already resolved" in one_line_error(again)
    assert "is already resolved" in one_line_error(
        ff_otel_cli("alerts", "resolve", alert_id, "--base-path", base)
    )

    silenced = as_json(
        ff_otel_cli(
            "alerts",
            "silence",
            "--match",
            "component=llm",
            "--match",
            "severity=error",
            "--duration",
            "30m",
            "--comment",
            "model upgrade",
            "--by",
            "sam",
            "--json",
            "--base-path",
            base,
        )
    )
    assert silenced["matchers"] == {"component": "llm", "severity": "error"}
    ends = clock.parse_instant(silenced["ends_at"]) - clock.parse_instant(silenced["starts_at"])
    assert abs(ends - timedelta(minutes=30)) < timedelta(milliseconds=1)
    active = as_json(ff_otel_cli("alerts", "silences", "--json", "--base-path", base))
    assert silenced["silence_id"] in [s["silence_id"] for s in active]

    events = [r for r in _records(layout.alerts) if r.get("alert_id") == alert_id]
    assert "acknowledged" in [e["event"] for e in events]
    trail = {(r["action"], r["resource"]): r for r in _records(layout.audit_logs)}
    assert trail[("alert_acknowledge", alert_id)]["actor"] == "dana"
    assert trail[("alert_resolve", alert_id)]["actor"] == "dana"
    assert trail[("alert_silence", silenced["silence_id"])]["actor"] == "sam"
    # The service and the CLI appended to one chain.
    verify = ff_otel_cli("audit", "verify", "--json", "--base-path", base)
    assert verify.returncode == 0 and as_json(verify)["ok"] is True


# --- BI, reports, queries, exports ----------------------------------------------------------


def test_bi_reports_the_example_users_and_records_them(store_copy: Path) -> None:
    layout = ff_otel.StoreLayout(store_copy)
    checkpoint = layout.analytics_path / ".pipeline_checkpoint.json"
    saved = {"sessions": {"open": {"u": {"started": "2026-11-29T00:00:00.000000Z"}}}}
    checkpoint.write_text(json.dumps(saved))
    trends_before = len(_records(layout.business_intelligence_path / "usage_trends.jsonl"))

    done = ff_otel_cli("bi", "--json", "--base-path", store_copy)
    assert done.returncode == 0, done.stderr
    bi = as_json(done)
    assert bi["analysis_period"] == "day"
    assert bi["active_users"] == SIMULATED_USERS and bi["new_users"] == SIMULATED_USERS
    assert {f["feature"] for f in bi["most_used_features"]} == {"upload", "history"}
    assert bi["lifecycle"]["new"] == SIMULATED_USERS
    assert "cost_per_user" in bi["absent"] and "cost_per_user" not in bi
    trends = _records(layout.business_intelligence_path / "usage_trends.jsonl")
    assert len(trends) == trends_before + 1 and trends[-1]["insight_id"] == bi["insight_id"]
    # A process of its own (the CLI) keeps the service's open sessions.
    assert json.loads(checkpoint.read_text())["sessions"] == saved["sessions"]

    week = as_json(ff_otel_cli("bi", "--period", "week", "--json", "--base-path", store_copy))
    assert week["analysis_period"] == "week" and week["active_users"] == SIMULATED_USERS
    human = ff_otel_cli("bi", "--base-path", store_copy)
    assert human.returncode == 0
    assert f"{SIMULATED_USERS} active, {SIMULATED_USERS} new" in human.stdout
    assert "upload" in human.stdout and "history" in human.stdout


def test_bi_uses_the_services_business_inputs(store_copy: Path) -> None:
    env = _environment(FF_OTEL_CONFIG=str(store_copy / "ff_otel.toml"))
    (store_copy / "ff_otel.toml").write_text(
        "[ff_otel.business]\nmonthly_cost = 3000.0\nmonthly_revenue = 9000.0\n"
    )
    bi = as_json(
        ff_otel_cli("bi", "--period", "month", "--json", "--base-path", store_copy, env=env)
    )
    assert bi["cost_per_user"] == pytest.approx(3000.0 / SIMULATED_USERS)
    assert bi["revenue_per_user"] == pytest.approx(9000.0 / SIMULATED_USERS)


def test_report_writes_the_files_and_prints_the_period(store_copy: Path) -> None:
    layout = ff_otel.StoreLayout(store_copy)
    spans = _records(layout.spans)
    day = clock.parse_instant(spans[0]["timestamp"]).replace(hour=23, minute=59, second=59)
    end = clock.format_iso(day)
    done = ff_otel_cli(
        "report", "--period", "day", "--end", end, "--json", "--base-path", store_copy
    )
    assert done.returncode == 0, done.stderr
    result = as_json(done)
    files = [Path(f) for f in result["files"]]
    assert {f.suffix for f in files} == {".json", ".csv"}
    assert all(f.parent == layout.analytics_path / "reports" / "day" for f in files)
    assert json.loads(files[0].with_suffix(".json").read_text()) == result["report"]
    report = result["report"]
    assert report["users"]["active"] == SIMULATED_USERS
    by_component = Counter(span["component"] for span in spans)
    assert {c: v["spans"] for c, v in report["performance"]["components"].items()} == by_component
    assert ("report_generated", f"day:{report['start'][:10]}") in {
        (r["action"], r["resource"]) for r in _records(layout.audit_logs)
    }
    human = ff_otel_cli("report", "--end", end, "--base-path", store_copy)
    assert f"Wrote {files[0]}" in human.stdout
    for component in by_component:
        assert component in human.stdout


def test_query_counts_what_the_spans_file_holds(example_store: Path) -> None:
    spans = _records(ff_otel.StoreLayout(example_store).spans)
    names = as_json(ff_otel_cli("query", "--json"))
    assert names == streams()
    done = ff_otel_cli(
        "query",
        "spans",
        "--group-by",
        "component",
        "--agg",
        "count",
        "--agg",
        "errors",
        "--json",
        "--base-path",
        example_store,
    )
    rows = {row["component"]: (row["count"], row["errors"]) for row in as_json(done)}
    expected: Counter[str] = Counter(span["component"] for span in spans)
    failed: Counter[str] = Counter(s["component"] for s in spans if s["status"] == "error")
    assert rows == {c: (n, failed[c]) for c, n in expected.items()}

    errors = as_json(
        ff_otel_cli(
            "query",
            "spans",
            "--where",
            "status=error",
            "--group-by",
            "name",
            "--since",
            "1d",
            "--json",
            "--base-path",
            example_store,
        )
    )
    assert {r["name"]: r["count"] for r in errors} == Counter(
        s["name"] for s in spans if s["status"] == "error"
    )
    numeric = as_json(
        ff_otel_cli(
            "query",
            "spans",
            "--where",
            "attributes.http.response.status_code=504",
            "--json",
            "--base-path",
            example_store,
        )
    )
    assert numeric == [
        {"count": sum(1 for s in spans if s["attributes"].get("http.response.status_code") == 504)}
    ]
    before = min(span["timestamp"] for span in spans)
    assert (
        as_json(
            ff_otel_cli("query", "spans", "--until", before, "--json", "--base-path", example_store)
        )
        == []
    )
    empty = ff_otel_cli("query", "spans", "--until", before, "--base-path", example_store)
    assert empty.returncode == 0 and "No records matched." in empty.stdout

    human = ff_otel_cli("query", "spans", "--group-by", "component", "--base-path", example_store)
    for component, count in expected.items():
        line = next(line for line in human.stdout.splitlines() if line.startswith(component))
        assert f"{count:,}" in line


def test_export_writes_files_a_manifest_and_an_audit_record(
    store_copy: Path, tmp_path: Path
) -> None:
    layout = ff_otel.StoreLayout(store_copy)
    spans = _records(layout.spans)
    out = tmp_path / "export"
    done = ff_otel_cli(
        "export",
        "spans",
        "compliance",
        "-o",
        out,
        "--format",
        "json",
        "--format",
        "csv",
        "--by",
        "auditor",
        "--json",
        "--base-path",
        store_copy,
    )
    assert done.returncode == 0, done.stderr
    manifest = as_json(done)
    assert manifest == json.loads((out / "manifest.json").read_text())
    assert "system_metrics/spans.jsonl" in manifest["streams"]
    assert "compliance/audit_logs.jsonl" in manifest["streams"]
    for entry in manifest["files"]:
        data = (out / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
    lines = (out / "system_metrics__spans.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == spans
    with (out / "system_metrics__spans.csv").open(newline="") as handle:
        assert [row["span_id"] for row in csv.DictReader(handle)] == [s["span_id"] for s in spans]
    exports = [r for r in _records(layout.audit_logs) if r["action"] == "export"]
    assert exports[-1]["actor"] == "auditor"

    human = ff_otel_cli(
        "export", "events", "-o", tmp_path / "events", "--since", "1d", "--base-path", store_copy
    )
    assert human.returncode == 0
    events = len(_records(layout.behavior_patterns))
    assert "user_analytics__behavior_patterns.jsonl" in human.stdout
    assert f"{events:,} records written to {tmp_path / 'events'}" in human.stdout


@pytest.mark.parametrize("given", ["default", "relative", "dot-relative", "absolute", "env"])
def test_export_takes_the_store_path_in_every_form(
    store_copy: Path, tmp_path: Path, given: str
) -> None:
    # The demo's folder holds ff_data/: run from there, as a newcomer would.
    folder = tmp_path / "demo"
    folder.mkdir()
    shutil.copytree(store_copy, folder / "ff_data")
    env = _environment(FF_OTEL_BASE_PATH="ff_data") if given == "env" else None
    where = {
        "default": [],
        "env": [],
        "relative": ["--base-path", "ff_data"],
        "dot-relative": ["--base-path", "./ff_data"],
        "absolute": ["--base-path", str(folder / "ff_data")],
    }[given]
    done = ff_otel_cli("export", "spans", "-o", "exp1", "--json", *where, env=env, cwd=folder)
    assert done.returncode == 0, done.stderr
    manifest = as_json(done)
    assert manifest["streams"] == ["system_metrics/spans.jsonl"]
    assert manifest["store"] == str((folder / "ff_data" / "analytics").resolve())
    exported = (folder / "exp1" / "system_metrics__spans.jsonl").read_text().splitlines()
    assert len(exported) == len(_records(ff_otel.StoreLayout(store_copy).spans))


def test_export_names_the_folder_it_cannot_write(store_copy: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the export folder should go")
    done = ff_otel_cli("export", "spans", "-o", blocker / "out", "--base-path", store_copy)
    assert done.returncode != 0
    assert f"cannot write the export folder {blocker / 'out'}" in done.stderr


# --- compliance -------------------------------------------------------------------------------


def test_audit_verify_passes_and_names_the_first_altered_record(store_copy: Path) -> None:
    trail = ff_otel.StoreLayout(store_copy).audit_logs
    lines = trail.read_text().splitlines()
    assert len(lines) >= 2
    done = ff_otel_cli("audit", "verify", "--base-path", store_copy)
    assert done.returncode == 0
    assert f"audit trail intact: {len(lines):,} records" in done.stdout

    record = json.loads(lines[1])
    lines[1] = lines[1].replace(f'"actor":"{record["actor"]}"', '"actor":"someone-else"')
    trail.write_text("\n".join(lines) + "\n")
    broken = ff_otel_cli("audit", "verify", "--json", "--base-path", store_copy)
    assert broken.returncode == 1
    result = as_json(broken)
    assert result["ok"] is False and result["first_bad_index"] == 1
    assert result["reason"] == "record altered"
    human = ff_otel_cli("audit", "verify", "--base-path", store_copy)
    assert human.returncode == 1
    assert "audit trail broken at record index 1" in human.stdout
    assert "record altered" in human.stdout


def test_retention_rotates_compresses_and_deletes_by_the_services_policy(store_copy: Path) -> None:
    layout = ff_otel.StoreLayout(store_copy)
    spans = len(_records(layout.spans))
    first_day = clock.parse_instant(_records(layout.spans)[0]["timestamp"]).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    tomorrow = clock.format_iso(first_day + timedelta(days=1, hours=1))
    done = ff_otel_cli("retention", "run", "--now", tomorrow, "--json", "--base-path", store_copy)
    assert done.returncode == 0, done.stderr
    rotated = as_json(done)
    assert "system_metrics/spans.jsonl" in rotated["rotated"]
    assert "compliance/audit_logs.jsonl" in rotated["rotated"]
    assert rotated["deleted"] == [] and rotated["files_examined"] >= len(rotated["rotated"])
    assert len(_records(layout.spans)) == spans  # a rotated segment reads as before

    later = clock.format_iso(first_day + timedelta(days=41))
    env = _environment(FF_OTEL_PRIVACY_RAW_DATA_RETENTION_DAYS="60")
    kept = as_json(
        ff_otel_cli(
            "retention", "run", "--now", later, "--json", "--base-path", store_copy, env=env
        )
    )
    assert kept["deleted"] == []
    assert any(  # a span segment becomes Parquet; other streams' segments are gzipped
        p.startswith("system_metrics/spans.") and p.endswith(".parquet") for p in kept["compacted"]
    )
    assert any(p.endswith(".jsonl.gz") for p in kept["compressed"])
    assert len(_records(layout.spans)) == spans

    human = ff_otel_cli("retention", "run", "--now", later, "--base-path", store_copy)
    assert human.returncode == 0
    assert "deleted" in human.stdout and "system_metrics/spans." in human.stdout
    assert _records(layout.spans) == []
    assert [p.name for p in layout.compliance_path.glob("audit_logs.*.jsonl*")]  # compliance kept
    actions = Counter(r["action"] for r in _records(layout.audit_logs))
    assert actions["retention_delete"] >= 1 and actions["retention_run"] >= 3
    assert ff_otel_cli("audit", "verify", "--base-path", store_copy).returncode == 0


def test_erase_user_removes_their_records_and_is_audited(store_copy: Path) -> None:
    layout = ff_otel.StoreLayout(store_copy)
    pseudonym = Pseudonymizer(load_hash_key(layout.analytics_path)).user("account-1").encode()
    holding = sum(
        sum(1 for line in path.read_bytes().splitlines() if pseudonym in line)
        for path in layout.analytics_path.rglob("*.jsonl")
        if not path.is_relative_to(layout.compliance_path)
    )
    assert holding > 0

    done = ff_otel_cli("erase-user", "account-1", "--yes", "--json", "--base-path", store_copy)
    assert done.returncode == 0, done.stderr
    assert as_json(done) == {"records_removed": holding}
    assert not any(pseudonym in p.read_bytes() for p in layout.analytics_path.rglob("*.json*"))
    assert "account-1" not in done.stdout
    privacy = _records(layout.privacy_events)
    assert privacy[-1]["event_type"] == "erasure" and privacy[-1]["records_removed"] == holding
    assert "erasure" in [r["action"] for r in _records(layout.audit_logs)]

    again = ff_otel_cli("erase-user", "account-1", "-y", "--base-path", store_copy)
    assert again.returncode == 0 and "Erased 0 records" in again.stdout
    assert (
        as_json(ff_otel_cli("bi", "--json", "--base-path", store_copy))["active_users"]
        == SIMULATED_USERS - 1
    )


def test_the_example_service_logs_through_logging_into_the_store(example_store: Path) -> None:
    logs = _records(ff_otel.StoreLayout(example_store).logs)
    by_severity = {record["severity"] for record in logs if record["scope"] == "chat.api"}
    assert {"INFO", "WARN", "ERROR"} <= by_severity
    # Every request logs inside its span, so each record carries the request's trace.
    assert all(record["trace_id"] for record in logs if record["scope"] == "chat.api")
    [failure, *_] = [r for r in logs if r["severity"] == "ERROR"]
    assert failure["attributes"]["exception.type"] == "TimeoutError"
