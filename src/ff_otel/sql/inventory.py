"""What a stream's files hold, counted by DuckDB from each line's timestamp alone.

The regulatory report's inventory (records, oldest and newest timestamp,
unreadable lines of every stream) and the collector's "is there anything to
report for that period" need no record but its ``timestamp``: DuckDB's JSON
reader takes that one field from each line (0.22 s for the 380,000 lines of a
200,000-event burst) where the Python reader parsed every record whole
(1.1 s). Lines are read as the one reader reads them (:mod:`ff_otel.store.reader`,
a compacted JSONL segment left out for its Parquet twin), with the same answer:

- a record is a line holding a JSON object; one whose ``timestamp`` is no
  text counts, but sets no oldest or newest (the reader drops a wrong-typed
  timestamp);
- a torn line (a writer killed mid-line, anything that is not an object) is
  unreadable, and so is a last line without its newline (a write in progress).

DuckDB cannot tell a torn line from an object without a text timestamp, nor
see a missing last newline: a stream where it found either kind of line, or
with a JSONL file that does not end in a newline, is counted by the Python
reader instead, exactly. Where the two parsers disagree on a line itself (a line of
blanks, ``NaN`` as a number: orjson refuses them, DuckDB does not) the count is
DuckDB's; ff-otel writes neither.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from ff_otel.core import clock
from ff_otel.sql.engine import engine_for
from ff_otel.store.layout import StoreLayout
from ff_otel.store.parquet import TIMESTAMP_FORMAT, quote_literal
from ff_otel.store.reader import read_records, segment_paths

_RETRIES = 5
"""Times a count is taken again when a file listed was compacted or deleted before DuckDB
opened it (the next listing names what replaced it)."""


@dataclass(frozen=True)
class StreamCounts:
    """One stream's records over all its files, and its unreadable lines."""

    records: int = 0
    oldest: str | None = None
    newest: str | None = None
    unreadable: int = 0


def stream_counts(layout: StoreLayout, streams: Sequence[Path]) -> dict[Path, StreamCounts]:
    """Records, oldest and newest timestamp and unreadable lines of each of the store's
    ``streams``."""
    for attempt in range(_RETRIES):
        files = {stream: segment_paths(stream) for stream in streams}
        try:
            return _counts(layout, files)
        except duckdb.IOException:
            if attempt + 1 == _RETRIES:
                raise
    raise AssertionError("unreachable")


def has_records_between(
    layout: StoreLayout, streams: Sequence[Path], ranges: Sequence[tuple[datetime, datetime]]
) -> list[bool]:
    """For each ``(start, stop)`` of ``ranges``: does any of ``streams`` hold a record with
    ``start <= timestamp < stop``. One pass over the files for all the ranges."""
    if not ranges:
        return []
    for attempt in range(_RETRIES):
        files = [path for stream in streams for path in segment_paths(stream)]
        try:
            return _has_records(layout, files, ranges)
        except duckdb.IOException:
            if attempt + 1 == _RETRIES:
                raise
    raise AssertionError("unreachable")


def _counts(layout: StoreLayout, files: dict[Path, list[Path]]) -> dict[Path, StreamCounts]:
    jsonl = [p for paths in files.values() for p in paths if not p.name.endswith(".parquet")]
    parquet = [p for paths in files.values() for p in paths if p.name.endswith(".parquet")]
    by_file: dict[str, tuple[int, int, str | None, str | None]] = {}
    connection = engine_for(layout.base_path).cursor()
    try:
        if jsonl:
            by_file.update(_rows(connection, _JSONL_COUNTS.format(files=_list(jsonl))))
        if parquet:
            by_file.update(
                _rows(
                    connection,
                    _PARQUET_COUNTS.format(files=_list(parquet), format=TIMESTAMP_FORMAT),
                )
            )
    finally:
        connection.close()
    counts: dict[Path, StreamCounts] = {}
    for stream, paths in files.items():
        found = [by_file[str(p)] for p in paths if str(p) in by_file]
        lines = sum(row[0] for row in found)
        stamped = sum(row[1] for row in found)
        if lines != stamped or not all(_ends_in_newline(p) for p in paths):
            counts[stream] = _read_whole(stream)
            continue
        oldest = [row[2] for row in found if row[2] is not None]
        newest = [row[3] for row in found if row[3] is not None]
        counts[stream] = StreamCounts(
            stamped, min(oldest) if oldest else None, max(newest) if newest else None
        )
    return counts


# Per file: lines (a torn one is a row of NULLs), lines with a text timestamp,
# the oldest and newest of those. Fixed-width ISO text orders as the instants.
_JSONL_COUNTS = """
SELECT filename, count(*), count(stamp), min(stamp), max(stamp)
FROM (SELECT filename,
             CASE WHEN json_type(timestamp) = 'VARCHAR' THEN timestamp->>'$' END AS stamp
      FROM read_json({files}, format='newline_delimited', records=true, ignore_errors=true,
                     filename=true, columns={{timestamp: 'JSON'}}))
GROUP BY filename
"""
_PARQUET_COUNTS = """
SELECT filename, count(*), count(timestamp),
       strftime(min(timestamp), '{format}'), strftime(max(timestamp), '{format}')
FROM read_parquet({files}, union_by_name=true, filename=true)
GROUP BY filename
"""


def _rows(
    connection: duckdb.DuckDBPyConnection, statement: str
) -> Iterable[tuple[str, tuple[int, int, str | None, str | None]]]:
    for name, lines, stamped, oldest, newest in connection.execute(statement).fetchall():
        yield str(name), (int(lines), int(stamped), oldest, newest)


def _has_records(
    layout: StoreLayout, files: Sequence[Path], ranges: Sequence[tuple[datetime, datetime]]
) -> list[bool]:
    jsonl = [p for p in files if not p.name.endswith(".parquet")]
    parquet = [p for p in files if p.name.endswith(".parquet")]
    bounds = [(clock.format_iso(start), clock.format_iso(stop)) for start, stop in ranges]
    text_tests = [f"{quote_literal(a)} <= stamp AND stamp < {quote_literal(b)}" for a, b in bounds]
    instant_tests = [
        f"TIMESTAMP {quote_literal(a[:-1])} <= stamp AND stamp < TIMESTAMP {quote_literal(b[:-1])}"
        for a, b in bounds
    ]
    scans = []
    if jsonl:
        scans.append((_JSONL_STAMPS.format(files=_list(jsonl)), text_tests))
    if parquet:
        scans.append((_PARQUET_STAMPS.format(files=_list(parquet)), instant_tests))
    found = [False] * len(ranges)
    connection = engine_for(layout.base_path).cursor()
    try:
        for source, tests in scans:
            checks = ", ".join(f"coalesce(bool_or({test}), false)" for test in tests)
            row = connection.execute(f"SELECT {checks} FROM ({source})").fetchone()
            if row is not None:
                found = [seen or bool(here) for seen, here in zip(found, row, strict=True)]
    finally:
        connection.close()
    return found


_JSONL_STAMPS = """
SELECT CASE WHEN json_type(timestamp) = 'VARCHAR' THEN timestamp->>'$' END AS stamp
FROM read_json({files}, format='newline_delimited', records=true, ignore_errors=true,
               columns={{timestamp: 'JSON'}})
"""
_PARQUET_STAMPS = "SELECT timestamp AS stamp FROM read_parquet({files}, union_by_name=true)"


def _read_whole(stream: Path) -> StreamCounts:
    records, oldest, newest = 0, None, None
    reading = read_records(stream)
    for record in reading:
        records += 1
        stamp = record.get("timestamp")
        if isinstance(stamp, str):
            oldest = stamp if oldest is None or stamp < oldest else oldest
            newest = stamp if newest is None or stamp > newest else newest
    return StreamCounts(records, oldest, newest, reading.stats.torn_lines)


def _ends_in_newline(path: Path) -> bool:
    # A compressed or compacted segment cannot hold a write in progress.
    if path.name.endswith((".gz", ".parquet")):
        return True
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return True
            handle.seek(size - 1)
            return handle.read(1) == b"\n"
    except FileNotFoundError:
        return True


def _list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join(quote_literal(str(p)) for p in paths) + "]"
