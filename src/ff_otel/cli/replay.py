"""``ff-otel replay``: send stored spans to an OpenTelemetry Collector afterwards.

The store is a local-first buffer: spans a collector missed while it was down,
or that were recorded before there was one, are in ``spans.jsonl`` and go to
the collector with their original ids, times, attributes and service name.
Headers, TLS, compression and the timeout come from the standard
``OTEL_EXPORTER_OTLP_*`` variables, as for live export. Only spans are
replayed (see :mod:`ff_otel.exporters.replay` for why, and for what a replayed
span keeps). Spans the delivery ledger says the collector already accepted are
not sent again unless ``--force``; ``--gaps`` sends exactly those it never
accepted. Exit 1 when the collector refused a batch or could not be
reached; the replay stops there and says how many spans were not sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ff_otel.cli._common import (
    EXIT_BAD_NEWS,
    base_path_option,
    check_range,
    console,
    examples,
    fail,
    json_option,
    number,
    open_store,
    print_json,
    progress_bar,
    time_option,
)
from ff_otel.exporters.replay import DEFAULT_BATCH_SIZE, ReplayReport, replay_spans
from ff_otel.settings.model import otlp_endpoint_problem


@click.command(
    epilog=examples(
        "ff-otel replay --to http://collector:4317 --gaps   # what it never accepted",
        "ff-otel replay --to http://collector:4317 --since 2h",
        "ff-otel replay --to http://collector:4318 --protocol http/protobuf \\",
        "    --since 2026-11-29T08:00Z --until 2026-11-29T09:30Z",
        "OTEL_EXPORTER_OTLP_HEADERS='x-api-key=...' \\",
        "    ff-otel replay --to https://otlp.example.com:4317 --since 1d --json",
    )
)
@base_path_option
@json_option
@click.option(
    "--to",
    "endpoint",
    required=True,
    metavar="URL",
    help="The collector's OTLP endpoint, a base URL as for OTEL_EXPORTER_OTLP_ENDPOINT.",
)
@click.option(
    "--gaps",
    is_flag=True,
    help="Send the stored spans this collector never accepted (from the delivery ledger); "
    "--since defaults to the first batch it did not accept.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Also send spans the delivery ledger says the collector already accepted.",
)
@time_option(
    "--since",
    help="Send spans that started at or after this (required without --gaps): ISO-8601, "
    "UTC when naive, or a time ago like 30m, 2h, 1d.",
)
@time_option("--until", help="...and before this (default: no end).")
@click.option(
    "--protocol",
    type=click.Choice(["grpc", "http/protobuf"]),
    help="OTLP protocol (default: OTEL_EXPORTER_OTLP_PROTOCOL, else grpc).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Spans per request.",
)
def replay(
    base_path: Path,
    as_json: bool,
    endpoint: str,
    since: datetime | None,
    until: datetime | None,
    protocol: str | None,
    batch_size: int,
    gaps: bool,
    force: bool,
) -> None:
    """Send stored spans that started in a time range to an OTLP collector.

    Exit 0 when the collector accepted every span in the range (or there were
    none), 1 when it refused a batch or could not be reached, 2 for bad input.
    """
    if since is None and not gaps:
        fail("--since is required: a time like 2026-11-29T08:00Z or an age like 2h (or --gaps)")
    if since is not None:
        check_range(since, until)
    _check_endpoint(endpoint)
    layout = open_store(base_path)
    if as_json:
        report = _replay(
            layout.base_path, endpoint, since, until, protocol, batch_size, gaps, force
        )
        print_json(_as_dict(report))
    else:
        with progress_bar("replaying spans", "spans sent") as advance:
            sent = 0

            def progress(count: int) -> None:
                nonlocal sent
                sent += count
                advance(sent, endpoint)

            report = _replay(
                layout.base_path,
                endpoint,
                since,
                until,
                protocol,
                batch_size,
                gaps,
                force,
                progress,
            )
        _print(report)
    if not report.ok:
        fail(
            f"the collector at {endpoint} did not accept the spans ({report.error}); "
            f"{report.sent:,} sent, {report.unsent:,} not sent",
            EXIT_BAD_NEWS,
        )


def _replay(
    base_path: Path,
    endpoint: str,
    since: datetime | None,
    until: datetime | None,
    protocol: str | None,
    batch_size: int,
    gaps: bool,
    force: bool,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    return replay_spans(
        endpoint,
        since=since,
        until=until,
        base_path=base_path,
        protocol=protocol,
        batch_size=batch_size,
        progress=progress,
        gaps=gaps,
        force=force,
    )


def _check_endpoint(endpoint: str) -> None:
    if otlp_endpoint_problem(endpoint, scheme_required=True) is not None:
        fail(f"--to {endpoint!r} is not a collector URL like http://collector:4317")


def _as_dict(report: ReplayReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "endpoint": report.endpoint,
        "protocol": report.protocol,
        "since": report.since,
        "until": report.until,
        "sent": report.sent,
        "unsent": report.unsent,
        "already_accepted": report.already_accepted,
        "batches": report.batches,
        "malformed": report.malformed,
        "torn_lines": report.torn_lines,
        "segments": report.segments,
        "error": report.error,
    }


def _print(report: ReplayReport) -> None:
    span_range = f"started from {report.since}" + (f" to {report.until}" if report.until else "")
    total = report.sent + report.unsent
    if report.since is None:
        console.print(f"{report.endpoint} accepted every batch it was sent; nothing to replay")
    elif total == 0:
        console.print(f"no stored spans {span_range} to send; nothing sent")
    elif report.ok:
        console.print(
            f"sent {number(report.sent)} span(s) {span_range} in {number(report.batches)} "
            f"batch(es) to {report.endpoint} ({report.protocol})"
        )
    else:
        console.print(
            f"sent {number(report.sent)} of {number(total)} span(s) {span_range} to "
            f"{report.endpoint} ({report.protocol}) before it stopped accepting them"
        )
    if report.already_accepted:
        console.print(
            f"{number(report.already_accepted)} span(s) in the range were already accepted by "
            f"{report.endpoint} (delivery ledger); not sent again (--force sends them)"
        )
    skipped = report.malformed + report.torn_lines
    if skipped:
        console.print(
            f"skipped {number(skipped)} stored line(s) that are not complete spans "
            f"({number(report.torn_lines)} torn, {number(report.malformed)} malformed)"
        )
