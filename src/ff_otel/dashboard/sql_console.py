"""The ``/sql`` page's query: one read-only statement through the store's SQL engine,
with a row limit and a time limit.

The statement goes through the engine's read-only check (:mod:`ff_otel.sql.safety`)
like every other query; a refusal comes back as its message, for the page to show.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime
from datetime import time as time_of_day
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import orjson

from ff_otel.core import clock
from ff_otel.sql.clickhouse import json_columns
from ff_otel.sql.engine import clickhouse_statement, engine_for, sql_arrow
from ff_otel.sql.safety import QueryError

MAX_ROWS = 10_000
"""The most rows one query returns (the answer says when there were more)."""
TIME_LIMIT_SECONDS = 10.0
"""A query still running after this long is interrupted."""
_MAX_QUERY = 20_000


def run(base: Path, body: dict[str, Any], query_url: str = "") -> dict[str, Any]:
    """``{"q": "SELECT ..."}`` -> columns, rows (as lists), whether more rows were left
    out, the time column (the first TIMESTAMP or DATE one) and the time it took.
    Over a ``query_url`` (the fleet's ClickHouse) the statement runs there, within
    ``query_timeout_seconds``. Raises :class:`QueryError` (a ``ValueError``) for a
    refused or failed query."""
    query = body.get("q")
    if not isinstance(query, str) or not query.strip():
        raise QueryError("the query is empty: write one SELECT statement")
    if len(query) > _MAX_QUERY:
        raise QueryError(f"the query is longer than {_MAX_QUERY:,} characters")
    started = time.perf_counter()
    if query_url:
        columns, rows, truncated = _fleet(query, query_url)
    else:
        columns, rows, truncated = engine_for(base).run(query, None, _limited)
    time_column = next(
        (c["name"] for c in columns if c["type"].startswith(("TIMESTAMP", "DATE"))), None
    )
    return {
        "columns": columns,
        "rows": rows,
        "truncated": truncated,
        "max_rows": MAX_ROWS,
        "time_column": time_column,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def _limited(
    cursor: duckdb.DuckDBPyConnection, statement: str, params: Any
) -> tuple[list[dict[str, str]], list[list[Any]], bool]:
    timed_out = threading.Event()

    def interrupt() -> None:
        timed_out.set()
        cursor.interrupt()

    timer = threading.Timer(TIME_LIMIT_SECONDS, interrupt)
    timer.start()
    try:
        cursor.execute(statement, params)
        description = cursor.description or []
        fetched = cursor.fetchmany(MAX_ROWS + 1)
    except duckdb.Error:
        if timed_out.is_set():
            raise QueryError(
                f"the query ran longer than {TIME_LIMIT_SECONDS:g} s and was stopped"
            ) from None
        raise
    finally:
        timer.cancel()
    columns = [{"name": str(column[0]), "type": str(column[1])} for column in description]
    json_columns = {index for index, column in enumerate(columns) if column["type"] == "JSON"}
    rows = [
        [_plain(value, index in json_columns) for index, value in enumerate(row)]
        for row in fetched[:MAX_ROWS]
    ]
    return columns, rows, len(fetched) > MAX_ROWS


def _fleet(query: str, query_url: str) -> tuple[list[dict[str, str]], list[list[Any]], bool]:
    # The limit applies in ClickHouse: at most one row more than shown is sent.
    statement = clickhouse_statement(query)
    limited = f"SELECT * FROM ({statement}) AS console LIMIT {MAX_ROWS + 1}"
    table = sql_arrow(limited, query_url=query_url)
    json = json_columns(statement)
    columns = [{"name": column.name, "type": _arrow_type(column.type)} for column in table.schema]
    rows = [
        [_plain(row[column["name"]], column["name"] in json) for column in columns]
        for row in table.slice(0, MAX_ROWS).to_pylist()
    ]
    return columns, rows, table.num_rows > MAX_ROWS


def _arrow_type(kind: Any) -> str:
    """An Arrow type named as the console names DuckDB's (what finds the time column)."""
    text = str(kind)
    if text.startswith("timestamp"):
        return "TIMESTAMP"
    if text.startswith("date"):
        return "DATE"
    return text


def _plain(value: Any, is_json: bool = False) -> Any:
    """A value as JSON can carry it: instants in the store's ISO form, decimals as numbers."""
    if is_json and isinstance(value, str):
        return orjson.loads(value)
    if isinstance(value, datetime):
        return clock.format_iso(value)
    if isinstance(value, (date, time_of_day, UUID)):
        return value.isoformat() if not isinstance(value, UUID) else str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, float) and value != value:
        return None
    return value
