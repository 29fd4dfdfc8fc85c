"""The embedded DuckDB engine over one store, and ``ff_otel.sql``.

One in-memory DuckDB database per store and process, created on first use:
memory limit and threads from the settings (``sql_memory_limit_mb``,
``sql_threads``; ``FF_OTEL_SQL_MEMORY_LIMIT_MB``, ``FF_OTEL_SQL_THREADS``),
external access off except for the store's ``analytics/`` folder, extension
auto-loading off, then the configuration locked. Each query runs on its own
cursor (so threads may query at once) with the views it names created as
temporary views over the files that exist at that moment: a record is
visible to the next query after ``force_flush()``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb
import orjson

from ff_otel.settings.resolution import resolve_settings
from ff_otel.settings.running import active_settings, store_layout
from ff_otel.sql.dialect import QueryDialect
from ff_otel.sql.safety import QueryError, check_read_only, error_message
from ff_otel.sql.schema import VIEWS, VIEWS_BY_NAME
from ff_otel.sql.views import (
    DUCKDB,
    all_columns,
    duckdb_type,
    render_view,
    skipped_lines_sql,
    stream_files,
)
from ff_otel.store.layout import StoreError
from ff_otel.store.parquet import quote_identifier

if TYPE_CHECKING:
    import pyarrow  # type: ignore[import-untyped]

Params = Sequence[Any] | Mapping[str, Any] | None
T = TypeVar("T")
_Cursor = duckdb.DuckDBPyConnection

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RETRIES = 5
"""Times a query is retried when a file it listed was compacted or deleted before it was read."""


class Engine:
    """DuckDB over the store at ``analytics_path``; use :func:`engine_for`."""

    def __init__(self, analytics_path: Path, memory_limit_mb: int, threads: int) -> None:
        self.analytics_path = analytics_path
        database = duckdb.connect(
            ":memory:",
            config={
                "threads": threads,
                "memory_limit": f"{memory_limit_mb}MB",
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "preserve_insertion_order": False,
            },
        )
        database.execute("SET allowed_directories = [" + _literal(str(analytics_path) + "/") + "]")
        # DuckDB draws its progress bar on stdout, into `ff-otel sql --format json` output.
        database.execute("SET enable_progress_bar = false")
        database.execute("SET enable_external_access = false")
        database.execute("SET lock_configuration = true")
        self._database = database

    def cursor_with_views(self, query: str) -> duckdb.DuckDBPyConnection:
        """A new cursor with a temporary view for every view name ``query`` mentions."""
        cursor = self._database.cursor()
        mentioned = {word.lower() for word in _WORD.findall(query)}
        for name in mentioned & VIEWS_BY_NAME.keys():
            view = VIEWS_BY_NAME[name]
            files = stream_files(self.analytics_path, VIEWS_BY_NAME[view.source or name])
            cursor.execute(
                f"CREATE OR REPLACE TEMP VIEW {quote_identifier(name)} AS "
                + render_view(view, files)
            )
        return cursor

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor without views, for ff-otel's own statements over the store's files
        (opening a database costs about 50 ms; a cursor on this one, nothing)."""
        return self._database.cursor()

    def run(self, query: str, params: Params, fetch: Callable[[_Cursor, str, Params], T]) -> T:
        """Check ``query``, then ``fetch(cursor, statement, params)`` on a cursor with its views.

        Retried when a file the views named was compacted or deleted before
        DuckDB opened it (the next listing names its replacement).
        """
        parser = self._database.cursor()  # a connection is one thread's at a time
        try:
            statement = check_read_only(query, parser)
        finally:
            parser.close()
        for attempt in range(_RETRIES):
            cursor = self.cursor_with_views(statement)
            try:
                return fetch(cursor, statement, params)
            except duckdb.IOException as exc:
                if attempt + 1 == _RETRIES or not _vanished(exc):
                    raise QueryError(error_message(exc)) from None
            except duckdb.Error as exc:
                raise QueryError(error_message(exc)) from None
            finally:
                cursor.close()
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._database.close()

    def skipped_lines(self) -> dict[str, int]:
        """Per view, the JSONL lines that are no row (torn writes, lines that are not an object
        with a ``timestamp``)."""
        counts: dict[str, int] = {}
        cursor = self._database.cursor()
        try:
            for view in VIEWS:
                if view.source:
                    continue
                files = stream_files(self.analytics_path, view).jsonl
                row = cursor.execute(skipped_lines_sql(files)).fetchone() if files else None
                counts[view.name] = int(row[0]) if row else 0
        except duckdb.Error as exc:
            raise QueryError(error_message(exc)) from None
        finally:
            cursor.close()
        return counts


_engines: dict[Path, Engine] = {}
_engines_lock = threading.Lock()


def _close_engines_before_fork() -> None:
    # DuckDB is not fork-safe: a child forked while a database is open crashes
    # or hangs when it exits, whether it uses DuckDB or not (its worker threads
    # did not survive the fork). So the engines close before any fork, and
    # the parent (and the child) open them again on their next query.
    _engines_lock.acquire()
    for engine in _engines.values():
        engine.close()
    _engines.clear()


os.register_at_fork(
    before=_close_engines_before_fork,
    after_in_parent=_engines_lock.release,
    after_in_child=_engines_lock.release,
)


def engine_for(base_path: str | Path | None = None) -> Engine:
    """The engine of the store at ``base_path`` (the configured store when None)."""
    try:
        layout = store_layout(base_path)
    except (StoreError, RuntimeError) as exc:
        raise QueryError(str(exc)) from None
    analytics = layout.analytics_path.resolve()
    with _engines_lock:
        engine = _engines.get(analytics)
        if engine is None:
            settings = active_settings() or resolve_settings({})
            engine = _engines[analytics] = Engine(
                analytics, settings.sql_memory_limit_mb, settings.sql_threads
            )
        return engine


def sql(
    query: str,
    params: Params = None,
    *,
    base_path: str | Path | None = None,
    query_url: str | None = None,
) -> list[dict[str, Any]]:
    """Run one read-only SQL statement over the store's views; one dict per row.

    ``params`` binds positional ``?`` (a sequence) or named ``$name`` (a
    mapping) parameters. Views: ``spans``, ``requests``, ``logs``,
    ``metrics``, ``events``, ``sessions``, ... (:func:`tables` lists them with
    their columns). ``TIMESTAMP`` columns come back as naive ``datetime`` in
    UTC, ``MAP`` columns as dicts, ``JSON`` columns parsed (lists, dicts,
    numbers). ``query_url`` (else ``configure(query_url=...)``, else
    ``FF_OTEL_QUERY_URL``): None, "" or
    ``"local"`` for the local store; ``chdb:///path?database=otel``,
    ``clickhouse://`` or ``clickhouses://`` for ClickHouse as the Collector's
    clickhouseexporter writes it (:mod:`ff_otel.sql.clickhouse`).

    Raises :class:`QueryError` for a refused statement (anything but a
    query, or several statements), a syntax or binder error (DuckDB's
    message), or no store at ``base_path``.
    """
    url = resolve_query_url(query_url)
    if url:
        from ff_otel.sql.clickhouse import json_columns

        table = _utc_naive(_clickhouse_arrow(url, query, params))
        zoned = {f.name for f in table.schema if str(f.type).startswith("timestamp[") and f.type.tz}
        maps = {field.name for field in table.schema if str(field.type).startswith("map<")}
        texts = {field.name for field in table.schema if str(field.type) == "string"}
        parsed = json_columns(query) & texts  # once, not once per row
        found: list[dict[str, Any]] = table.to_pylist()
        if zoned or maps or parsed:
            return [_naive(row, zoned, maps, parsed) for row in found]
        return found
    return engine_for(base_path).run(query, params, rows)


def rows(cursor: _Cursor, statement: str, params: Params) -> list[dict[str, Any]]:
    """The fetch of :func:`sql` for :meth:`Engine.run`: one dict per row, JSON parsed."""
    cursor.execute(statement, params)
    description = cursor.description or []
    names = [column[0] for column in description]
    json_columns = [index for index, column in enumerate(description) if str(column[1]) == "JSON"]
    result = []
    for row in cursor.fetchall():
        values = list(row)
        for index in json_columns:
            if isinstance(values[index], str):
                values[index] = orjson.loads(values[index])
        result.append(dict(zip(names, values, strict=True)))
    return result


def sql_arrow(
    query: str,
    params: Params = None,
    *,
    base_path: str | Path | None = None,
    query_url: str | None = None,
) -> pyarrow.Table:
    """:func:`sql` as a ``pyarrow.Table``: for large results (no Python object per value)."""
    url = resolve_query_url(query_url)
    if url:
        return _clickhouse_arrow(url, query, params)
    return engine_for(base_path).run(query, params, _arrow)


def _arrow(cursor: _Cursor, statement: str, params: Params) -> pyarrow.Table:
    return cursor.sql(statement, params=params).to_arrow_table()


def tables() -> list[dict[str, Any]]:
    """Every view: ``name``, ``description``, ``columns`` (``[{"name", "type"}]``, DuckDB types)."""
    return [
        {
            "name": view.name,
            "description": view.description,
            "columns": [
                {"name": name, "type": duckdb_type(logical)} for name, logical in all_columns(view)
            ],
        }
        for view in VIEWS
    ]


def skipped_lines(base_path: str | Path | None = None) -> dict[str, int]:
    """Per view, how many JSONL lines are skipped as torn or malformed."""
    return engine_for(base_path).skipped_lines()


def resolve_query_url(query_url: str | None) -> str:
    """The backend URL: ``query_url``, else the configured one (``configure(query_url=...)``),
    else ``FF_OTEL_QUERY_URL``; "" for the local store."""
    settings = active_settings()
    if query_url is None and settings is not None:
        return settings.query_url
    url = query_url if query_url is not None else os.environ.get("FF_OTEL_QUERY_URL", "")
    return "" if url in ("", "local") else url


def dialect_for(query_url: str) -> QueryDialect:
    """The SQL dialect of the backend ``query_url`` names ("" for the local store)."""
    if query_url:
        from ff_otel.sql.clickhouse import CHDB, CLICKHOUSE

        return CHDB if query_url.startswith("chdb:") else CLICKHOUSE
    return DUCKDB


def _clickhouse_arrow(url: str, query: str, params: Params) -> pyarrow.Table:
    from ff_otel.sql.clickhouse_client import backend_for

    backend = backend_for(url)
    return backend.arrow(clickhouse_statement(query), params)


def clickhouse_statement(query: str) -> str:
    """The one read-only statement in ``query``, for ClickHouse; raises :class:`QueryError`."""
    parser = duckdb.connect(":memory:")
    try:
        statement = check_read_only(query, parser)
    except QueryError:
        # ClickHouse SQL DuckDB cannot parse (lambdas, SETTINGS, ...): a query
        # that starts as one is sent, and ClickHouse's readonly setting refuses
        # any write in it; anything else is refused here by its first word.
        statement = query.strip().rstrip(";")
        first = (_WORD.findall(statement) or [""])[0].upper()
        if first not in ("SELECT", "WITH") or ";" in statement:
            raise QueryError(
                f"refused: {first or 'an empty query'} is not allowed; "
                "queries are read-only (one SELECT)"
            ) from None
    finally:
        parser.close()
    return statement


def _utc_naive(table: pyarrow.Table) -> pyarrow.Table:
    """``table`` with its UTC timestamp columns naive, as over the local store: in Arrow,
    not once per value in Python (rows with a zone cost several times more to make). A
    view of the same values, not a cast: a cast loads ``pyarrow.compute`` (36 ms, the
    first call of every process, as the fleet monitor's first tick)."""
    import pyarrow

    for index, field in enumerate(table.schema):
        if pyarrow.types.is_timestamp(field.type) and field.type.tz in _UTC_ZONES:
            naive = pyarrow.timestamp(field.type.unit)
            chunks = [chunk.view(naive) for chunk in table.column(index).chunks]
            table = table.set_column(index, field.name, pyarrow.chunked_array(chunks, naive))
    return table


_UTC_ZONES = frozenset({"UTC", "Etc/UTC", "+00:00"})


def _naive(row: dict[str, Any], zoned: set[str], maps: set[str], json: set[str]) -> dict[str, Any]:
    # As over the local store: TIMESTAMP columns naive datetimes (in their zone's time),
    # MAP columns dicts, JSON columns parsed.
    for name in zoned:
        value = row[name]
        if isinstance(value, datetime):
            row[name] = value.replace(tzinfo=None)
    for name in maps:
        if row[name] is not None:
            row[name] = dict(row[name])
    for name in json:
        if isinstance(row[name], str):
            row[name] = orjson.loads(row[name])
    return row


def _vanished(exc: duckdb.Error) -> bool:
    text = str(exc)
    return "No such file" in text or "No files found" in text or "Cannot open file" in text


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
