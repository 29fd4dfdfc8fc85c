"""The logical views rendered as DuckDB SQL over the store's files.

Each view is the union of the files the one reader reads for its stream
(``ff_otel.store.reader.segment_paths``): compacted Parquet segments
(``<name>.<stamp>.parquet``), rotated ``.jsonl`` and ``.jsonl.gz`` segments
and the live file; a JSONL segment whose Parquet twin exists is left out, so
each record is read exactly once (see :mod:`ff_otel.sql.compaction`).

JSONL is read with DuckDB's ``read_json`` (newline-delimited, explicit
columns, ``ignore_errors``) for views whose columns are complete, and with
``read_ndjson_objects`` (one JSON value per line, kept whole as ``record``)
for the others. Every field is read as text or JSON and cast with
``TRY_CAST``, so a wrong-typed value is NULL, never an error. A line that is
not a JSON object with a ``timestamp`` (a torn write, garbage) is no row;
:func:`skipped_lines_sql` counts them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ff_otel.sql.schema import VIEWS_BY_NAME, Column, View, json_twin, map_columns
from ff_otel.store.parquet import quote_identifier, quote_literal
from ff_otel.store.reader import segment_paths

_DUCKDB_TYPES = {
    "timestamp": "TIMESTAMP",
    "text": "VARCHAR",
    "double": "DOUBLE",
    "bigint": "BIGINT",
    "boolean": "BOOLEAN",
    "map": "MAP(VARCHAR, VARCHAR)",
    "json": "JSON",
}


def duckdb_type(logical_type: str) -> str:
    """The DuckDB type a logical column type is rendered as."""
    return _DUCKDB_TYPES[logical_type]


_IDENTIFIER = re.compile(r'"(?:[^"]|"")+"')


class DuckDBDialect:
    """:class:`ff_otel.sql.dialect.QueryDialect` (a :class:`~ff_otel.sql.dialect.Dialect`) for
    DuckDB."""

    def column(self, name: str) -> str:
        return quote_identifier(name)

    def map_get(self, column: str, key: str) -> str:
        # A view's map column is read through its JSON twin: casting the whole
        # object to a MAP for one key costs several times the key itself.
        if _IDENTIFIER.fullmatch(column):
            twin = quote_identifier(column[1:-1].replace('""', '"') + "_json")
            return f"json_extract_string({twin}, {_json_key(key)})"
        return f"{column}[{quote_literal(key)}]"

    def try_cast(self, expression: str, logical_type: str) -> str:
        return f"TRY_CAST({expression} AS {duckdb_type(logical_type)})"

    def literal(self, value: str) -> str:
        return quote_literal(value)

    def json_get(self, document: str, key: str) -> str:
        return f"nullif(({document})->{_json_key(key)}, 'null'::JSON)"

    def json_number(self, expression: str) -> str:
        return (
            f"CASE WHEN {self.json_is(expression, 'number')} THEN CAST({expression} AS DOUBLE) END"
        )

    def json_text(self, expression: str) -> str:
        return f"(({expression})->>'$')"

    def json_is(self, expression: str, kind: str) -> str:
        types = _JSON_TYPES[kind]
        return (
            f"coalesce(json_type({expression}) IN ({', '.join(map(quote_literal, types))}), false)"
        )

    def text_json(self, expression: str) -> str:
        return f"TRY_CAST({expression} AS JSON)"

    def count_if(self, condition: str) -> str:
        return f"count(*) FILTER (WHERE {condition})"

    def any_true(self, condition: str) -> str:
        return f"bool_or({condition})"

    def min_if(self, expression: str, condition: str) -> str:
        return f"min({expression}) FILTER (WHERE {condition})"

    def distinct_list(self, expression: str) -> str:
        return f"list(DISTINCT {expression})"

    def distinct_list_if(self, expression: str, condition: str) -> str:
        return f"list(DISTINCT {expression}) FILTER (WHERE {condition})"

    def unnest_list(self, expression: str) -> str:
        return f"unnest({expression})"

    def empty_text_list(self) -> str:
        return "CAST([] AS VARCHAR[])"

    def arg_min(self, expression: str, by: str) -> str:
        return f"arg_min({expression}, {by})"

    def arg_max(self, expression: str, by: str) -> str:
        return f"arg_max({expression}, {by})"

    def collect_list(self, expression: str) -> str:
        return f"list({expression}) FILTER (WHERE {expression} IS NOT NULL)"

    def epoch_ms(self, timestamp: str) -> str:
        return f"epoch_ms({timestamp})"

    def contains_text(self, text: str, needle: str) -> str:
        return f"contains(lower({text}), lower({needle}))"

    def unnest_text_list(self, json: str) -> str:
        return f"unnest(TRY_CAST({json} AS VARCHAR[]))"

    def day(self, timestamp: str) -> str:
        return f"strftime({timestamp}, '%Y-%m-%d')"

    def week(self, timestamp: str) -> str:
        return f"strftime(date_trunc('week', {timestamp}), '%Y-%m-%d')"

    def hour_of_day(self, timestamp: str) -> str:
        return f"hour({timestamp})"

    def weeks(self, timestamp: str) -> str:
        return (
            f"list_transform(list(DISTINCT date_trunc('week', {timestamp})), "
            "lambda monday: strftime(monday, '%Y-%m-%d'))"
        )

    def materialized(self) -> str:
        return "MATERIALIZED "


_JSON_TYPES = {
    "string": ("VARCHAR",),
    "number": ("BIGINT", "UBIGINT", "DOUBLE", "HUGEINT"),
    "boolean": ("BOOLEAN",),
}


DUCKDB = DuckDBDialect()


@dataclass(frozen=True)
class StreamFiles:
    """The files a view reads right now: Parquet segments and JSONL files, oldest first."""

    parquet: tuple[Path, ...]
    jsonl: tuple[Path, ...]


def stream_files(analytics_path: Path, view: View) -> StreamFiles:
    """The stream's files now, as the one reader lists them (a compacted JSONL left out)."""
    segments = segment_paths(analytics_path / view.stream)
    return StreamFiles(
        tuple(p for p in segments if p.name.endswith(".parquet")),
        tuple(p for p in segments if not p.name.endswith(".parquet")),
    )


def all_columns(view: View) -> list[tuple[str, str]]:
    """The view's columns in order with their logical types (``record``, the maps' JSON twins
    and the derived columns included)."""
    base = VIEWS_BY_NAME[view.source] if view.source else view
    columns = [(column.name, column.type) for column in base.columns]
    if not base.complete:
        columns.append(("record", "json"))
    columns.extend((json_twin(column), "json") for column in map_columns(base))
    columns.extend((derived.name, derived.type) for derived in view.derived)
    return columns


def render_view(view: View, files: StreamFiles) -> str:
    """The SELECT that defines ``view`` over ``files``."""
    base = VIEWS_BY_NAME[view.source] if view.source else view
    body = _union(base, files)
    if not view.derived and view.where is None:
        return body
    derived = "".join(
        f", {derived.expression(DUCKDB)} AS {quote_identifier(derived.name)}"
        for derived in view.derived
    )
    where = f" WHERE {view.where(DUCKDB)}" if view.where is not None else ""
    return f"SELECT *{derived} FROM ({body}) AS {quote_identifier(base.name)}{where}"


def skipped_lines_sql(files: Sequence[Path]) -> str:
    """Counts the lines of ``files`` that are no row: not a JSON object with a ``timestamp``."""
    return (
        "SELECT count(*) FROM read_json("
        f"{_file_list(files)}, format='newline_delimited', records=true, ignore_errors=true, "
        "columns={timestamp: 'VARCHAR'}) WHERE timestamp IS NULL"
    )


def _union(view: View, files: StreamFiles) -> str:
    parts = []
    if files.parquet:
        # Parquet keeps maps as their JSON text (lossless); the view casts them like JSONL.
        names = ", ".join(
            [
                f"{_typed(quote_identifier(column.name), column)} AS "
                f"{quote_identifier(column.name)}"
                if column.type == "map"
                else quote_identifier(column.name)
                for column in view.columns
            ]
            + [
                f"{quote_identifier(column.name)} AS {quote_identifier(json_twin(column))}"
                for column in map_columns(view)
            ]
        )
        parts.append(
            f"SELECT {names} FROM read_parquet({_file_list(files.parquet)}, union_by_name=true)"
        )
    if files.jsonl:
        parts.append(jsonl_select(view, files.jsonl))
    if not parts:
        return _empty(view)
    return " UNION ALL ".join(parts)


def jsonl_select(view: View, files: Sequence[Path], *, for_storage: bool = False) -> str:
    """The typed rows of JSONL ``files``; ``for_storage`` keeps maps as JSON (for Parquet)."""
    if view.complete:
        raw = ", ".join(
            f"{quote_literal(column.source_key)}: '{_raw_type(column)}'" for column in view.columns
        )
        projection = ", ".join(
            [
                f"{_typed(quote_identifier(column.source_key), column, for_storage)} AS "
                f"{quote_identifier(column.name)}"
                for column in view.columns
            ]
            + [
                f"{quote_identifier(column.source_key)} AS {quote_identifier(json_twin(column))}"
                for column in ([] if for_storage else map_columns(view))
            ]
        )
        return (
            f"SELECT {projection} FROM read_json({_file_list(files)}, "
            "format='newline_delimited', records=true, ignore_errors=true, "
            f"columns={{{raw}}}) WHERE {quote_identifier('timestamp')} IS NOT NULL"
        )
    projection = ", ".join(
        f"{_typed(_extract('json', column), column, for_storage)} AS "
        f"{quote_identifier(column.name)}"
        for column in view.columns
    )
    twins = "".join(
        f", {_extract('json', column)} AS {quote_identifier(json_twin(column))}"
        for column in ([] if for_storage else map_columns(view))
    )
    return (
        f"SELECT {projection}, json AS record{twins} FROM read_ndjson_objects({_file_list(files)}, "
        "ignore_errors=true) "
        "WHERE json_type(json) = 'OBJECT' AND json->>'$.timestamp' IS NOT NULL"
    )


def _empty(view: View) -> str:
    columns = [(column.name, column.type) for column in view.columns]
    if not view.complete:
        columns.append(("record", "json"))
    columns.extend((json_twin(column), "json") for column in map_columns(view))
    projection = ", ".join(
        f"CAST(NULL AS {duckdb_type(logical)}) AS {quote_identifier(name)}"
        for name, logical in columns
    )
    return f"SELECT {projection} WHERE false"


def _raw_type(column: Column) -> str:
    return "JSON" if column.type in ("map", "json") else "VARCHAR"


def _typed(expression: str, column: Column, for_storage: bool = False) -> str:
    if column.type in ("text", "json") or (for_storage and column.type == "map"):
        return expression
    return DUCKDB.try_cast(expression, column.type)


def _extract(document: str, column: Column) -> str:
    path = quote_literal('$."' + column.source_key.replace('"', '\\"') + '"')
    operator = "->" if column.type in ("map", "json") else "->>"
    return f"{document}{operator}{path}"


def _json_key(key: str) -> str:
    return quote_literal('$."' + key.replace('"', '\\"') + '"')


def _file_list(files: Sequence[Path]) -> str:
    return "[" + ", ".join(quote_literal(str(path)) for path in files) + "]"
