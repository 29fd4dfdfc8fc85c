"""Parquet segments of the store: their names, their rows read back as records.

Compaction (:mod:`ff_otel.sql.compaction`) writes them; the store's reader
gives their rows back in the JSONL records' shape, so every reader sees a
compacted segment as the records it held.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import orjson

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
"""The store's fixed-width ISO form of a timestamp, as DuckDB's strftime writes it."""

EXTRA_COLUMN = "_extra"
"""Parquet column holding a record's fields outside the view's columns (NULL when none)."""


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def parquet_twin(segment: Path) -> Path:
    """The Parquet segment a rotated JSONL segment is compacted into."""
    return segment.with_name(segment.name.removesuffix(".gz").removesuffix(".jsonl") + ".parquet")


def parquet_records(path: Path) -> list[dict[str, Any]]:
    """The records of a Parquet segment in the store's JSON shape, in file order.

    Timestamps are the store's fixed-width ISO text, JSON columns their value;
    NULL fields are left out of the record.
    """
    connection = internal_connection(1)
    try:
        columns = connection.execute(
            f"DESCRIBE SELECT * FROM read_parquet({quote_literal(str(path))})"
        ).fetchall()
        fields = ", ".join(
            f"{quote_literal(name)}: "
            + (
                f"strftime({quote_identifier(name)}, '{TIMESTAMP_FORMAT}')"
                if str(kind).startswith("TIMESTAMP")
                else quote_identifier(name)
            )
            for name, kind, *_ in columns
        )
        rows = connection.execute(
            f"SELECT to_json({{{fields}}})::VARCHAR FROM read_parquet({quote_literal(str(path))})"
        ).fetchall()
    except duckdb.IOException as exc:
        if not path.exists():
            raise FileNotFoundError(str(path)) from exc
        raise
    finally:
        connection.close()
    records = []
    for (text,) in rows:
        record = orjson.loads(text)
        extra = record.pop(EXTRA_COLUMN, None)
        kept = {key: value for key, value in record.items() if value is not None}
        if isinstance(extra, dict):
            kept.update(extra)
        records.append(kept)
    return records


def internal_connection(threads: int) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for ff-otel's own statements over the store's files.

    Never for a user's SQL (that is :mod:`ff_otel.sql.engine`'s sandboxed
    engine): no sandbox, insertion order kept.
    """
    connection = duckdb.connect(
        ":memory:",
        config={
            "threads": threads,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )
    connection.execute("SET enable_progress_bar = false")  # it draws on stdout
    return connection
