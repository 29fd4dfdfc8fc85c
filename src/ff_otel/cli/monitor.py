"""``ff-otel monitor``: the alert rules evaluated fleet-wide against ClickHouse."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click

from ff_otel.cli._common import (
    EXIT_BAD_NEWS,
    base_path_option,
    console,
    examples,
    fail,
    json_option,
    load_settings,
    plain,
    print_json,
    query_url_option,
    styled,
    table,
)
from ff_otel.core import clock
from ff_otel.pipeline.fleet import FleetMonitor
from ff_otel.sdk.assembly import alert_engine
from ff_otel.sql.safety import QueryError
from ff_otel.store.layout import StoreLayout


@click.command(
    epilog=examples(
        "ff-otel monitor --query-url clickhouse://ro:pw@clickhouse:8123/otel "
        "--base-path /var/lib/ff-monitor",
        "FF_OTEL_QUERY_URL=clickhouse://... ff-otel monitor --once --json   # one evaluation",
    )
)
@base_path_option
@query_url_option
@json_option
@click.option(
    "--once",
    is_flag=True,
    help="Evaluate the interval just ended once, print the alert changes and exit.",
)
def monitor(base_path: Path, query_url: str | None, as_json: bool, once: bool) -> None:
    """Evaluate the alert rules against the whole fleet every collection interval.

    The rules (built-in thresholds, configured rules, per-component error rate
    and latency, anomalies) watch the fleet's spans, logs and metrics in
    ClickHouse, notify as configured (FF_OTEL_* variables, FF_OTEL_CONFIG), and
    keep their state in the store at --base-path (created when missing), where
    `ff-otel alerts` lists, acknowledges and silences them. One monitor per
    store evaluates; another on the same store stands by.
    """
    if not query_url:
        fail(
            "give --query-url (or FF_OTEL_QUERY_URL): the fleet's ClickHouse; "
            "a store's own alerts are evaluated by its service's collector"
        )
    settings = load_settings(base_path)
    layout = StoreLayout(base_path)
    if not layout.metadata_path.exists():
        layout.initialize(settings.analytics)
    fleet = FleetMonitor(layout, settings, alert_engine(settings, layout), query_url)
    try:
        if once:
            changes = fleet.tick(clock.now())
            if changes is None:
                fail(
                    f"another process evaluates the alerts of {layout.analytics_path} "
                    "(it holds the store's collector lease)",
                    EXIT_BAD_NEWS,
                )
            _print(changes, as_json)
            return
        _run(fleet, layout)
    finally:
        fleet.close()


def _run(fleet: FleetMonitor, layout: StoreLayout) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    seconds = fleet.interval.total_seconds()
    click.echo(
        f"ff-otel monitor: evaluating alerts every {seconds:g} s; state in {layout.alerts}",
        err=True,
    )

    def on_error(exc: QueryError) -> None:
        click.echo(f"ff-otel: error: {exc} (trying again in {seconds:g} s)", err=True)

    fleet.run(stop, on_error)


def _print(changes: list[dict[str, object]], as_json: bool) -> None:
    if as_json:
        print_json(changes)
        return
    if not changes:
        console.print("No alert changed.")
        return
    listing = table("event", "state", "rule", "component", "value", "title")
    for record in changes:
        labels = record.get("labels")
        component = labels.get("component") if isinstance(labels, dict) else None
        listing.add_row(
            plain(record.get("event")),
            styled(record.get("state")),
            plain(record.get("rule")),
            plain(component),
            plain(record.get("current_value")),
            plain(record.get("title")),
        )
    console.print(listing)
