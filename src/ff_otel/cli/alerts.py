"""``ff-otel alerts``: list, acknowledge, resolve and silence alerts.

Every change is a line appended to ``system_metrics/alerts.jsonl`` through
:mod:`ff_otel.alerting.operations`, the same calls the facade makes, and is
audited there; a running service's collector reads it on its next interval.
"""

from __future__ import annotations

import getpass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from ff_otel.alerting import operations
from ff_otel.alerting.state import OPEN_STATES, AlertState, Silence, count_by_state
from ff_otel.cli._common import (
    base_path_option,
    console,
    duration_option,
    examples,
    fail,
    json_option,
    number,
    open_store,
    plain,
    print_json,
    query_url_option,
    styled,
    table,
    time_option,
)
from ff_otel.core import clock
from ff_otel.spec.enums import AlertSeverity
from ff_otel.store.layout import StoreLayout


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


_BY_HELP = "Who is acting (recorded in the alert and the audit trail). Default: your OS user."


@click.group(
    epilog=examples(
        "ff-otel alerts list",
        "ff-otel alerts ack alert_1795949245681_6e37e5 --by dana",
        "ff-otel alerts resolve alert_1795949245681_6e37e5 --notes 'rolled back 2.4.1'",
        "ff-otel alerts silence --match rule=high_disk_usage --duration 2h --comment resize",
    )
)
def alerts() -> None:
    """List, acknowledge, resolve and silence alerts (audited)."""


@alerts.command(
    "list",
    epilog=examples("ff-otel alerts list --severity critical", "ff-otel alerts list --all --json"),
)
@base_path_option
@query_url_option
@json_option
@click.option(
    "--all", "show_all", is_flag=True, help="Every alert's latest state, not only firing ones."
)
@click.option(
    "--severity",
    type=click.Choice([s.value for s in AlertSeverity]),
    help="Only alerts of this severity.",
)
def list_alerts(
    base_path: Path, query_url: str | None, as_json: bool, show_all: bool, severity: str | None
) -> None:
    """Firing alerts (acknowledged ones included), newest first.

    Alerts are kept in a store: with --query-url, the fleet's are those of the
    store at --base-path where `ff-otel monitor --query-url` evaluates them (the
    URL is not queried: the alerts' state is the monitor's store).
    """
    if query_url and not StoreLayout(base_path).analytics_path.is_dir():
        fail(
            f"no ff-otel store at {base_path}: the fleet's alerts are in the store of "
            "`ff-otel monitor --query-url ... --base-path DIR`; pass that DIR"
        )
    layout = open_store(base_path)
    current = operations.current_alerts(layout.alerts)
    records = operations.in_state(current, None if show_all else AlertState.FIRING, severity)
    if as_json:
        print_json([_public(record) for record in records])
        return
    if not records:
        what = "alerts" if show_all else "firing alerts"
        console.print(f"No {what}{f' of severity {severity}' if severity else ''}.")
        return
    if query_url:
        console.print(plain(f"The fleet's alerts, as the monitor keeps them in {layout.alerts}:"))
    rows = table("alert id", "severity", "state", "alert", "value", "since")
    for record in records:
        value = f"{number(record.get('current_value'))} / {number(record.get('threshold_value'))}"
        rows.add_row(
            plain(record.get("alert_id")),
            styled(record.get("severity")),
            _state(record),
            plain(record.get("title")),
            value,
            plain(record.get("fired_at") or record.get("timestamp")),
        )
    console.print(rows)
    if show_all:
        counts = count_by_state(records)
        by_state = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
        console.print(plain(f"{len(records)} alerts: {by_state}"))


@alerts.command("ack", epilog=examples("ff-otel alerts ack alert_1795949245681_6e37e5 --by dana"))
@click.argument("alert_id")
@base_path_option
@json_option
@click.option("--by", "actor", default=_operator, show_default="your OS user", help=_BY_HELP)
def ack(alert_id: str, base_path: Path, as_json: bool, actor: str) -> None:
    """Acknowledge a firing alert: someone is on it, so it stops escalating."""
    layout = open_store(base_path)
    _known(layout, alert_id, "; nothing to acknowledge")
    if not operations.acknowledge(layout.alerts, alert_id, actor):
        fail(f"alert {alert_id} is no longer open; nothing to acknowledge")
    _done(layout, alert_id, as_json, f"Acknowledged {alert_id} (assigned to {actor}).")


@alerts.command(
    "resolve",
    epilog=examples("ff-otel alerts resolve alert_1795949245681_6e37e5 --notes 'disk resized'"),
)
@click.argument("alert_id")
@base_path_option
@json_option
@click.option("--notes", default="", help="What was done (kept with the alert and audited).")
@click.option("--by", "actor", default=_operator, show_default="your OS user", help=_BY_HELP)
def resolve(alert_id: str, base_path: Path, as_json: bool, notes: str, actor: str) -> None:
    """Resolve an alert by hand; it stays resolved through the rule's cooldown."""
    layout = open_store(base_path)
    _known(layout, alert_id)
    if not operations.resolve(layout.alerts, alert_id, notes, resolved_by=actor):
        fail(f"alert {alert_id} is no longer open; nothing to resolve")
    _done(layout, alert_id, as_json, f"Resolved {alert_id}.")


@alerts.command(
    "silence",
    epilog=examples(
        "ff-otel alerts silence --match rule=high_disk_usage --duration 2h --comment 'resize'",
        "ff-otel alerts silence --match component=llm --match severity=warning "
        "--until 2026-12-01T08:00",
    ),
)
@base_path_option
@json_option
@click.option(
    "--match",
    "matchers",
    multiple=True,
    required=True,
    metavar="LABEL=VALUE",
    help="A label the alerts must have (rule, component, severity, alert_type, a rule's own); "
    "repeat to require several.",
)
@duration_option("--duration", help="How long the silence lasts, e.g. 30m, 2h, 1d.")
@time_option("--until", help="When the silence ends (instead of --duration).")
@click.option("--comment", default="", help="Why (kept with the silence and audited).")
@click.option("--by", "actor", default=_operator, show_default="your OS user", help=_BY_HELP)
def silence(
    base_path: Path,
    as_json: bool,
    matchers: tuple[str, ...],
    duration: timedelta | None,
    until: datetime | None,
    comment: str,
    actor: str,
) -> None:
    """Keep matching alerts from notifying for a while (they are still recorded)."""
    if (duration is None) == (until is None):
        fail("give exactly one of --duration or --until")
    labels = {}
    for matcher in matchers:
        label, sep, value = matcher.partition("=")
        if not sep or not label.strip():
            fail(f"bad --match {matcher!r}: use LABEL=VALUE, e.g. rule=high_disk_usage")
        labels[label.strip()] = value.strip()
    layout = open_store(base_path)
    silence_id = operations.silence(
        layout.alerts,
        labels,
        ends_at=until,
        duration_minutes=None if duration is None else duration.total_seconds() / 60,
        created_by=actor,
        comment=comment,
    )
    created = next(
        s for s in operations.active_silences(layout.alerts) if s.silence_id == silence_id
    )
    if as_json:
        print_json(_silence_dict(created))
        return
    console.print(
        plain(
            f"Silenced alerts matching {_matchers(labels)} until "
            f"{clock.epoch_to_iso(created.ends_at)} ({silence_id})."
        )
    )


@alerts.command("silences", epilog=examples("ff-otel alerts silences --json"))
@base_path_option
@json_option
def silences(base_path: Path, as_json: bool) -> None:
    """Silences in force now."""
    layout = open_store(base_path)
    active = operations.active_silences(layout.alerts)
    if as_json:
        print_json([_silence_dict(s) for s in active])
        return
    if not active:
        console.print("No silences in force.")
        return
    rows = table("silence id", "matches", "until", "by", "comment")
    for s in active:
        rows.add_row(
            plain(s.silence_id),
            plain(_matchers(s.matchers)),
            plain(clock.epoch_to_iso(s.ends_at)),
            plain(s.created_by),
            plain(s.comment),
        )
    console.print(rows)


def _known(layout: StoreLayout, alert_id: str, wanted: str = "") -> None:
    record = operations.current_alerts(layout.alerts).get(alert_id)
    if record is None:
        fail(f"no alert {alert_id!r} in {layout.alerts} (see `ff-otel alerts list --all`)")
    if record.get("state") not in OPEN_STATES:
        fail(f"alert {alert_id} is already {record.get('state')}{wanted}")


def _done(layout: StoreLayout, alert_id: str, as_json: bool, message: str) -> None:
    record = operations.current_alerts(layout.alerts)[alert_id]
    if as_json:
        print_json(_public(record))
    else:
        console.print(plain(message))


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """The alert as stored (the DTO's fields, state, rule, labels), minus internal clocks."""
    return {key: value for key, value in record.items() if not key.endswith("_epoch")}


def _state(record: dict[str, Any]) -> Any:
    state = styled(record.get("state"))
    if record.get("acknowledged") and record.get("state") == AlertState.FIRING:
        state.append(f", acked by {record.get('assigned_to') or '?'}", style="cyan")
    if record.get("silenced"):
        state.append(", silenced", style="dim")
    return state


def _matchers(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items())


def _silence_dict(s: Silence) -> dict[str, Any]:
    return {
        "silence_id": s.silence_id,
        "matchers": s.matchers,
        "starts_at": clock.epoch_to_iso(s.starts_at),
        "ends_at": clock.epoch_to_iso(s.ends_at),
        "created_by": s.created_by,
        "comment": s.comment,
    }
