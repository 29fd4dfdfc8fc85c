"""``ff-otel query`` and ``ff-otel export``: read any stream, summarised or whole."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click
import orjson

from ff_otel.cli._common import (
    base_path_option,
    check_range,
    console,
    examples,
    json_option,
    number,
    open_store,
    plain,
    print_json,
    progress_bar,
    query_url_option,
    table,
    time_option,
)
from ff_otel.query import query as run_query
from ff_otel.query import streams
from ff_otel.sdk.compliance import export_data

_FORMATS = {"json": "jsonl", "jsonl": "jsonl", "csv": "csv", "parquet": "parquet"}


def _where(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``field=value`` filters; the value is JSON when it parses (5, true, null, "5"), else text."""
    where: dict[str, Any] = {}
    for pair in pairs:
        field, sep, text = pair.partition("=")
        if not sep or not field.strip():
            raise click.BadParameter(
                f"{pair!r} is not FIELD=VALUE (e.g. component=llm)", param_hint="'--where'"
            )
        try:
            value: Any = orjson.loads(text)
        except orjson.JSONDecodeError:
            value = text
        where[field.strip()] = value
    return where


@click.command(
    "query",
    epilog=examples(
        "ff-otel query                                   # the streams there are",
        "ff-otel query spans --since 1h --group-by component --agg count --agg errors "
        "--agg p95:duration_ms",
        "ff-otel query spans --where status=error --group-by name --group-by time:hour",
        "ff-otel query events --since 7d --group-by event_type --agg distinct:user_hash --json",
    ),
)
@click.argument("stream", required=False)
@base_path_option
@query_url_option
@json_option
@time_option("--since", help="Records at or after TIME (ISO-8601, now, or 15m/2h/7d ago).")
@time_option("--until", help="Records before TIME (default: now and everything after it).")
@click.option(
    "--where",
    "where_pairs",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Keep records whose FIELD (dotted path) equals VALUE (JSON if it parses); repeatable.",
)
@click.option(
    "--group-by",
    "group_by",
    multiple=True,
    metavar="FIELD",
    help="Group by a field or time:minute|hour|day|week|month; repeatable.",
)
@click.option(
    "--agg",
    "aggregates",
    multiple=True,
    metavar="AGG",
    help="count, errors, or sum|avg|min|max|p50|p95|p99|distinct:FIELD; repeatable "
    "(default count).",
)
def query(
    stream: str | None,
    base_path: Path,
    query_url: str | None,
    as_json: bool,
    since: datetime | None,
    until: datetime | None,
    where_pairs: tuple[str, ...],
    group_by: tuple[str, ...],
    aggregates: tuple[str, ...],
) -> None:
    """Aggregate a stream (spans, events, alerts, ... or a relative .jsonl path).

    Without STREAM, lists the stream names. Computed in SQL over the stream's
    view (what ff-otel sql queries), whatever the range. With --query-url, over
    the fleet's ClickHouse: spans, requests, logs, events and metrics.
    """
    if stream is None:
        names = streams()
        if as_json:
            print_json(names)
        else:
            console.print(plain("Streams: " + ", ".join(names)), soft_wrap=True)
            console.print(
                plain("(or a path relative to analytics/, e.g. system_metrics/spans.jsonl)")
            )
        return
    check_range(since, until)
    where = _where(where_pairs)
    if not query_url:
        open_store(base_path)
    rows = run_query(
        stream,
        start=since,
        end=until,
        where=where,
        group_by=list(group_by),
        aggregates=list(aggregates) or ["count"],
        base_path=base_path,
        query_url=query_url or "",
    )
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No records matched.")
        return
    columns = list(rows[0])
    result = table(*columns)
    for column in result.columns[len(group_by) :]:
        column.justify = "right"
    for row in rows:
        result.add_row(*(_cell(row[c]) for c in columns))
    console.print(result)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return number(value, 3 if abs(value) < 1 else 2)
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    return number(value)


@click.command(
    "export",
    epilog=examples(
        "ff-otel export spans --output ./export",
        "ff-otel export user_analytics compliance --output ./audit-2026-11 --format json "
        "--format csv --since 2026-11-01 --until 2026-12-01",
        "ff-otel export system_metrics/alerts.jsonl -o ./alerts --json",
    ),
)
@click.argument("stream_names", metavar="STREAM...", nargs=-1, required=True)
@base_path_option
@json_option
@click.option(
    "--output",
    "-o",
    "destination",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder to write the files and manifest.json into (created if missing).",
)
@click.option(
    "--format",
    "formats",
    type=click.Choice(sorted(_FORMATS)),
    multiple=True,
    help="json (JSON Lines) and/or csv; repeatable (default json).",
)
@time_option("--since", help="Records at or after TIME (ISO-8601, now, or 15m/2h/7d ago).")
@time_option("--until", help="Records before TIME.")
@click.option("--by", "actor", help="Who asked for the export (audited; default your OS user).")
def export(
    stream_names: tuple[str, ...],
    base_path: Path,
    as_json: bool,
    destination: Path,
    formats: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    actor: str | None,
) -> None:
    """Copy streams or whole categories to JSON Lines / CSV files with a manifest.

    STREAM is a stream name (spans, events, audit_logs, ...), a path relative
    to analytics/, or a category (system_metrics, user_analytics,
    business_intelligence, compliance). manifest.json lists every file with its
    records, bytes and SHA-256. The export is audited.
    """
    check_range(since, until)
    open_store(base_path)
    chosen = list(dict.fromkeys(_FORMATS[f] for f in formats or ("json",)))
    with progress_bar("Exporting", "records") as advance:
        manifest = export_data(
            list(stream_names),
            destination,
            formats=chosen,
            start=since,
            end=until,
            actor=actor,
            base_path=base_path,
            progress=lambda name, count: advance(count, name),
        )
    if as_json:
        print_json(manifest)
        return
    files = table("file", "format", "records", "bytes", "sha256")
    for entry in manifest["files"]:
        files.add_row(
            plain(entry["file"]),
            plain(entry["format"]),
            number(entry["records"]),
            number(entry["bytes"]),
            plain(entry["sha256"][:16] + "…"),
        )
    console.print(files)
    total = sum(entry["records"] for entry in manifest["files"])
    console.print(plain(f"{total:,} records written to {destination} (see manifest.json)"))
