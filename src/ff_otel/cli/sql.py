"""``ff-otel sql``: one read-only SQL query over the store; ``ff-otel compact``."""

from __future__ import annotations

import csv
import io
import re
import sys
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import orjson

from ff_otel.cli._common import (
    base_path_option,
    console,
    examples,
    json_option,
    open_store,
    plain,
    print_json,
    progress_bar,
    query_url_option,
    table,
)
from ff_otel.sql.compaction import compact as compact_store
from ff_otel.sql.engine import sql as run_sql
from ff_otel.sql.engine import sql_arrow, tables

_NAMED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)


@click.command(
    "sql",
    epilog=examples(
        'ff-otel sql "SELECT component, count(*) AS n FROM spans GROUP BY ALL ORDER BY n DESC"',
        'ff-otel sql "SELECT * FROM requests WHERE duration_ms > ?" --param 500 --format json',
        'ff-otel sql "SELECT * FROM events WHERE event_type = $t" --param t=session_start',
        'ff-otel sql "SELECT * FROM spans" --format parquet --output spans.parquet',
        "ff-otel sql --tables",
    ),
)
@click.argument("query", required=False)
@base_path_option
@query_url_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "csv", "parquet"]),
    default="table",
    show_default=True,
    help="table for people; json (a list of row objects), csv (a header line, then rows), "
    "parquet (needs --output).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the result to FILE instead of stdout.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="VALUE|NAME=VALUE",
    help="A parameter, repeatable: VALUE binds the next ?, NAME=VALUE binds $NAME. "
    "Integers and decimals are passed as numbers, everything else as text.",
)
@click.option("--tables", "list_tables", is_flag=True, help="List the views and their columns.")
def sql(
    query: str | None,
    base_path: Path,
    query_url: str | None,
    output_format: str,
    output: Path | None,
    params: tuple[str, ...],
    list_tables: bool,
) -> None:
    """Run one read-only SQL query (DuckDB) over the store's views.

    One view per stream (spans, requests, logs, metrics, events, sessions, ...;
    see --tables), timestamps in UTC. Anything but a query (DDL, DML, COPY,
    ATTACH, INSTALL, SET, several statements) and files outside the store are
    refused with one line on stderr and exit code 2.
    """
    if list_tables:
        _print_tables(output_format)
        return
    if not query:
        raise click.UsageError("give a query, or --tables")
    if not query_url:
        open_store(base_path)
    bound = _parameters(params)
    if output_format == "parquet":
        if output is None:
            raise click.UsageError("--format parquet needs --output FILE")
        import pyarrow.parquet  # type: ignore[import-untyped]

        result = sql_arrow(query, bound, base_path=base_path, query_url=query_url)
        pyarrow.parquet.write_table(result, output, compression="zstd")
        click.echo(f"{_rows(result.num_rows)} written to {output}", err=True)
        return
    rows = run_sql(query, bound, base_path=base_path, query_url=query_url)
    if output_format == "json":
        text = orjson.dumps(rows, default=_text, option=_JSON_OPTIONS).decode() + "\n"
    elif output_format == "csv":
        text = _csv(rows)
    elif output is not None:
        text = _plain_table(rows)
    else:
        _print_rows(rows)
        return
    if output is not None:
        output.write_text(text)
    else:
        sys.stdout.write(text)


_JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def _parameters(params: tuple[str, ...]) -> list[Any] | dict[str, Any] | None:
    if not params:
        return None
    named = [_NAMED.match(p) for p in params]
    if all(named):
        return {m.group(1): _value(m.group(2)) for m in named if m is not None}
    if any(named):
        raise click.UsageError(
            "--param: use either VALUE (for ?) or NAME=VALUE (for $NAME), not both"
        )
    return [_value(p) for p in params]


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return orjson.dumps(
            value, default=_text, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
        ).decode()
    if isinstance(value, datetime):
        return (
            orjson.dumps(value, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z).decode().strip('"')
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _text(value: Any) -> Any:
    if isinstance(value, (Decimal, date, time)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot print {type(value).__name__} as JSON")


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = list(rows[0]) if rows else []
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in columns])
    return buffer.getvalue()


def _print_rows(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print(plain("(no rows)"))
        return
    shown = table(*rows[0])
    for row in rows:
        shown.add_row(*(plain(_cell(value) or None) for value in row.values()))
    console.print(shown)
    console.print(plain(_rows(len(rows))))


def _plain_table(rows: list[dict[str, Any]]) -> str:
    columns = list(rows[0]) if rows else []
    cells = [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.extend("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells)
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _print_tables(output_format: str) -> None:
    views = tables()
    if output_format == "json":
        print_json(views)
        return
    shown = table("view", "columns", "what")
    for view in views:
        columns = ", ".join(f"{c['name']} {c['type']}" for c in view["columns"])
        shown.add_row(plain(view["name"]), plain(columns), plain(view["description"]))
    console.print(shown)


@click.command(
    epilog=examples("ff-otel compact", "ff-otel compact --base-path /srv/ff_data --json")
)
@base_path_option
@json_option
def compact(base_path: Path, as_json: bool) -> None:
    """Turn sealed (rotated) segments of the analytics streams into Parquet (zstd).

    Spans, logs, metrics, user events, feature usage, sessions and engagement;
    the audit trail stays JSONL. Idempotent and crash-safe: a query or a
    reader sees every record exactly once at any moment, and an interrupted
    run is finished by the next. The collector does the same on its hourly
    retention pass, for segments rotated at least ten minutes earlier.
    """
    layout = open_store(base_path)
    with progress_bar("Compacting", "segments") as advance:
        seen: list[str] = []

        def started(path: str) -> None:
            seen.append(path)
            advance(len(seen), path)

        summary = compact_store(layout, progress=started)
    if as_json:
        print_json(summary)
        return
    for path in summary["compacted"]:
        console.print(plain(f"compacted {path}"))
    before, after = summary["bytes_before"], summary["bytes_after"]
    ratio = f" ({before / after:.1f}x smaller)" if after else ""
    console.print(
        plain(
            f"{len(summary['compacted'])} segments, {summary['records']:,} records: "
            f"{before:,} bytes of JSONL became {after:,} bytes of Parquet{ratio}."
        )
    )


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"
