"""``ff-otel status``: is it healthy? One glance, from what the store's collector wrote.

The running service's collector writes a health record (``health_checks.jsonl``)
and a performance snapshot (``performance.jsonl``) every interval; ``status``
shows the latest of each, with the alerts now firing. It changes nothing, so it
is safe beside a running service. Exit 1 when the system is unhealthy, a
critical alert is firing, no health was ever recorded, or (with ``--max-age``)
the latest record is too old to trust.

With ``--query-url`` it shows the fleet instead: requests, failures, error rate
and latency percentiles per component over the last collection interval, from
the spans in ClickHouse (health records are each host's, so none is shown),
with the alerts of the store at ``--base-path``, which are the fleet's when
``ff-otel monitor --query-url`` keeps its state there.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from ff_otel.alerting import operations
from ff_otel.alerting.state import AlertState, count_by_state
from ff_otel.cli._common import (
    EXIT_BAD_NEWS,
    base_path_option,
    console,
    examples,
    json_option,
    load_settings,
    number,
    open_store,
    plain,
    print_json,
    query_url_option,
    styled,
    table,
)
from ff_otel.core import clock
from ff_otel.pipeline.bi_figures import span_activity
from ff_otel.pipeline.reports import performance_figures
from ff_otel.sql.engine import sql
from ff_otel.store.documents import read_json
from ff_otel.store.layout import StoreLayout
from ff_otel.store.reader import read_recent

_NEWEST_BYTES = 256 * 1024  # several health records, each a few KiB
_STALE_INTERVALS = 3


@click.command(
    epilog=examples(
        "ff-otel status",
        "ff-otel status --json | jq .status",
        "ff-otel status --max-age 300 || page-the-on-call   # also fail when nothing collects",
    )
)
@base_path_option
@query_url_option
@json_option
@click.option(
    "--max-age",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Also exit 1 when the latest health record is older than this (no collector running); "
    "with --query-url, when no span reached ClickHouse in that time.",
)
@click.pass_context
def status(
    ctx: click.Context,
    base_path: Path,
    query_url: str | None,
    as_json: bool,
    max_age: float | None,
) -> None:
    """Overall health, each component's status and why, the last interval, firing alerts.

    Exit 0 when healthy or degraded; 1 when unhealthy, when a critical alert is
    firing, when no health has been recorded yet, or when --max-age is exceeded.
    With --query-url: the fleet's requests, error rate and p95 per component over
    the last collection interval, from ClickHouse, and the alerts of the store at
    --base-path (the fleet's when `ff-otel monitor --query-url` keeps them there);
    exit 1 when a critical alert is firing or --max-age passed without a span.
    """
    if query_url:
        fleet = _fleet_report(base_path, query_url, max_age)
        if as_json:
            print_json(fleet)
        else:
            _print_fleet(fleet)
        if not fleet["ok"]:
            ctx.exit(EXIT_BAD_NEWS)
        return
    layout = open_store(base_path)
    health = _latest(layout.health_checks)
    snapshot = _latest(layout.performance)
    current = operations.current_alerts(layout.alerts)
    report = _report(layout, health, snapshot, current, max_age)
    if as_json:
        print_json(report)
    else:
        _print(report)
    if not report["ok"]:
        ctx.exit(EXIT_BAD_NEWS)


def _latest(path: Path) -> dict[str, Any] | None:
    """The stream's newest record, read backwards from the end (rotated segments too)."""
    newest = read_recent(path, max_bytes=_NEWEST_BYTES)
    return newest[-1] if newest else None


def _interval_seconds(layout: StoreLayout) -> float | None:
    try:
        metadata = read_json(layout.metadata_path)
        return float(metadata["collection_config"]["interval_seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _report(
    layout: StoreLayout,
    health: dict[str, Any] | None,
    snapshot: dict[str, Any] | None,
    current: dict[str, dict[str, Any]],
    max_age: float | None,
) -> dict[str, Any]:
    firing = operations.in_state(current, AlertState.FIRING)
    interval = _interval_seconds(layout)
    checked_at = health.get("timestamp") if health else None
    age = (
        (clock.now() - clock.parse_instant(checked_at)).total_seconds()
        if isinstance(checked_at, str)
        else None
    )
    stale = age is not None and interval is not None and age > _STALE_INTERVALS * interval
    overall = str(health.get("status", "unknown")) if health else "unknown"
    severities = Counter(str(a.get("severity")) for a in firing)
    reasons = []
    if health is None:
        reasons.append("no health recorded yet (no collector has completed an interval)")
    elif overall == "unhealthy":
        bad = [c["component"] for c in health.get("checks", []) if c.get("status") == "unhealthy"]
        reasons.append(f"unhealthy: {', '.join(bad) or 'see components'}")
    if severities["critical"]:
        reasons.append(f"{severities['critical']} critical alert(s) firing")
    if max_age is not None and age is not None and age > max_age:
        reasons.append(f"latest health record is {age:.0f} s old (> --max-age {max_age:g} s)")
    return {
        "ok": not reasons,
        "status": overall,
        "reasons": reasons,
        "checked_at": checked_at,
        "age_seconds": None if age is None else round(age, 1),
        "collection_interval_seconds": interval,
        "stale": stale,
        "host": health.get("host") if health else None,
        "components": health.get("checks", []) if health else [],
        "metrics": snapshot,
        "interval": _interval_of(layout, snapshot),
        "alerts": _alert_figures(current),
    }


def _alert_figures(current: dict[str, dict[str, Any]]) -> dict[str, Any]:
    firing = operations.in_state(current, AlertState.FIRING)
    return {
        "firing": len(firing),
        "acknowledged": sum(1 for a in firing if a.get("acknowledged")),
        "by_severity": dict(Counter(str(a.get("severity")) for a in firing)),
        "by_state": count_by_state(current.values()),
        "newest": [_alert_summary(a) for a in firing[:5]],
    }


def _fleet_report(base_path: Path, query_url: str, max_age: float | None) -> dict[str, Any]:
    """The fleet over the last collection interval, and the store's (the monitor's) alerts."""
    seconds = load_settings(base_path).analytics.collection_interval_seconds
    stop = clock.now().astimezone(UTC).replace(tzinfo=None)
    start = stop - timedelta(seconds=seconds)
    figures = performance_figures(span_activity(base_path, start, stop, query_url))
    for component in figures["components"].values():
        spans, errors = component["spans"], component["errors"]
        component["error_rate_percent"] = round(100 * errors / spans, 3) if spans else None
    layout = StoreLayout(base_path)
    alerts = None
    if layout.analytics_path.is_dir():
        alerts = _alert_figures(operations.current_alerts(layout.alerts))
    reasons = []
    if alerts is not None and alerts["by_severity"].get("critical"):
        reasons.append(f"{alerts['by_severity']['critical']} critical alert(s) firing")
    if max_age is not None:
        since = {"since": stop - timedelta(seconds=max_age)}
        (row,) = sql(
            'SELECT count(*) AS n FROM spans WHERE "timestamp" >= $since',
            since,
            base_path=base_path,
            query_url=query_url,
        )
        if not row["n"]:
            reasons.append(f"no span reached ClickHouse in the last {max_age:g} s (--max-age)")
    return {
        "ok": not reasons,
        "scope": "fleet",
        "reasons": reasons,
        "interval": {
            "start": clock.format_iso(start),
            "end": clock.format_iso(stop),
            "seconds": seconds,
        },
        **figures,
        "alerts": alerts,
        "alerts_store": str(layout.alerts) if alerts is not None else None,
    }


def _print_fleet(report: dict[str, Any]) -> None:
    interval = report["interval"]
    head = f"Fleet, last interval ({interval['seconds']:g} s to {interval['end']}): "
    if report["requests"]:
        head += (
            f"{number(report['requests'])} requests, {number(report['failed_requests'])} failed "
            f"({number(report['error_rate_percent'])}%), p95 {number(report['p95_ms'])} ms"
        )
    else:
        head += "no requests"
    console.print(plain(head))
    if report["components"]:
        rows = table("component", "spans", "errors", "error %", "p95 ms")
        for name, c in report["components"].items():
            rows.add_row(
                plain(name),
                number(c["spans"]),
                number(c["errors"]),
                number(c["error_rate_percent"]),
                number(c["p95_ms"]),
            )
        console.print(rows)
    if report["alerts"] is None:
        console.print(
            "Alerts: no store at --base-path (the fleet's alerts are in the store of "
            "`ff-otel monitor --query-url`)"
        )
    else:
        _print_alerts(report["alerts"])
    for reason in report["reasons"]:
        console.print(Text("✗ ", style="bold red"), plain(reason), sep="")


def _alert_summary(alert: dict[str, Any]) -> dict[str, Any]:
    keys = ("alert_id", "severity", "title", "fired_at", "acknowledged", "assigned_to")
    return {key: alert.get(key) for key in keys}


def _print(report: dict[str, Any]) -> None:
    headline = styled(report["status"].upper())
    when = ""
    if report["checked_at"]:
        when = f"  checked {report['checked_at']} ({_ago(report['age_seconds'])})"
        if report["host"]:
            when += f" on {report['host']}"
    console.print("Health: ", headline, plain(when), sep="")
    if report["stale"]:
        console.print(
            f"[yellow]stale:[/yellow] the collector writes every "
            f"{number(report['collection_interval_seconds'], 0)} s; is the service running?"
        )
    if report["components"]:
        checks = table("component", "status", "source", "detail")
        for check in report["components"]:
            checks.add_row(
                plain(check.get("component")),
                styled(check.get("status")),
                plain(check.get("source", "")),
                plain(check.get("detail", "")),
            )
        console.print(checks)
    _print_metrics(report["metrics"], report["interval"])
    _print_alerts(report["alerts"])
    for reason in report["reasons"]:
        console.print(Text("✗ ", style="bold red"), plain(reason), sep="")


def _interval_of(layout: StoreLayout, snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
    """The population and exact length of the snapshot's interval, from its summary line.

    ``error_rates.jsonl`` holds one ``interval_summary`` per snapshot, with the
    same timestamp; None when there is none (error summaries off by level).
    """
    if not snapshot:
        return None
    for record in reversed(read_recent(layout.error_rates, max_bytes=_NEWEST_BYTES)):
        if record.get("record_type") == "interval_summary" and record.get(
            "timestamp"
        ) == snapshot.get("timestamp"):
            keys = ("interval_seconds", "requests", "failed_requests", "error_rate_percent")
            return {key: record.get(key) for key in keys}
    return None


def _request_figures(snapshot: dict[str, Any], interval: dict[str, Any] | None) -> list[str]:
    # The interval's requests and how many failed (failed requests ÷ requests,
    # see ff_otel.pipeline.interval), each figure naming what it counts.
    rate = f"{number(snapshot.get('throughput_requests_per_second'))} req/s"
    p95 = f"p95 {number(snapshot.get('response_time_ms'))} ms"
    if interval is None:
        success = snapshot.get("success_rate_percent")
        error_rate = 100.0 - success if isinstance(success, (int, float)) else None
        return [rate, p95, f"request error rate {number(error_rate)}%"]
    if not interval["requests"]:
        return ["no requests"]
    return [
        f"{number(interval['requests'])} requests ({rate})",
        f"{number(interval['failed_requests'])} failed "
        f"({number(interval['error_rate_percent'])}% of requests)",
        p95,
    ]


def _print_metrics(snapshot: dict[str, Any] | None, interval: dict[str, Any] | None) -> None:
    if not snapshot:
        console.print("Last interval: no performance snapshot yet")
        return
    parts = [
        *_request_figures(snapshot, interval),
        f"failed spans + error logs {number(snapshot.get('error_count'))}",
        f"CPU {number(snapshot.get('cpu_usage_percent'), 0)}%",
        f"memory {number(snapshot.get('memory_usage_mb'), 0)} MB",
        f"disk {number(snapshot.get('disk_usage_percent'), 0)}%",
        f"reliability {number(snapshot.get('system_reliability_score'), 2)}",
        f"data quality {number(snapshot.get('data_quality_score'), 2)}",
    ]
    seconds = interval.get("interval_seconds") if interval else None
    period = (
        f"{seconds:g}"
        if isinstance(seconds, (int, float))
        else number(snapshot.get("collection_period_seconds"), 0)
    )
    console.print(
        plain(f"Last interval ({period} s, {snapshot.get('timestamp')}): " + " · ".join(parts))
    )


def _print_alerts(alerts: dict[str, Any]) -> None:
    # Those an operator may still need to act on; `alerts list --all` has the rest.
    waiting = ", ".join(
        f"{alerts['by_state'][state]} {state}"
        for state in (AlertState.PENDING, AlertState.SUPPRESSED)
        if alerts["by_state"][state]
    )
    waiting = f" · {waiting}" if waiting else ""
    if not alerts["firing"]:
        console.print(plain(f"Alerts: none firing{waiting}"))
        return
    by = ", ".join(f"{n} {severity}" for severity, n in sorted(alerts["by_severity"].items()))
    console.print(
        f"Alerts: [red]{alerts['firing']} firing[/red] ({by}; "
        f"{alerts['acknowledged']} acknowledged){waiting} — see `ff-otel alerts list`"
    )
    for alert in alerts["newest"]:
        line = plain(f" {alert['title']}  {alert['alert_id']}")
        console.print("  ", styled(alert["severity"]), line, sep="")


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "unknown age"
    delta = timedelta(seconds=max(0.0, seconds))
    if delta < timedelta(minutes=2):
        return f"{delta.total_seconds():.0f} s ago"
    if delta < timedelta(hours=2):
        return f"{delta.total_seconds() / 60:.0f} min ago"
    if delta < timedelta(days=2):
        return f"{delta.total_seconds() / 3600:.0f} h ago"
    return f"{delta.days} days ago"
