"""One query's SQL over a view: fields as expressions, filters, parameters.

:func:`ff_otel.query` builds its statements with a :class:`Statement`: a
dotted field path becomes the SQL the view answers it with (a column, a
key inside a JSON column or the whole record's JSON, or a key of a map
column), a ``where`` value becomes a typed comparison, and the values travel
as ``$p<n>`` parameters. The expressions are the dialect's, so the same
statement runs over the local store (DuckDB) and over ClickHouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from ff_otel.core import clock
from ff_otel.sql.dialect import QueryDialect
from ff_otel.sql.schema import VIEWS_BY_NAME, View, span_failed

_NUMERIC_TYPES = ("double", "bigint")
_SPAN_COLUMNS = {"status", "kind", "parent_span_id", "attributes"}


@dataclass(frozen=True)
class Field:
    """A field of the stream's records as SQL: its expression and logical type.

    ``json`` is a JSON value (reached inside a JSON column or the whole
    record); ``map_value`` is the text a ``map`` column holds for a key
    (numbers as their decimal text).
    """

    sql: str
    type: str


class Statement:
    """The view, the row filter and the parameters one query's statements share."""

    def __init__(self, view: View, dialect: QueryDialect) -> None:
        self.view = view
        self.dialect = dialect
        base = VIEWS_BY_NAME[view.source] if view.source else view
        self.columns = {column.name: column.type for column in base.columns}
        self.whole_record = not base.complete
        self.conditions: list[str] = []
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def keep_range(self, first: datetime | None, last: datetime | None) -> None:
        stamp = self.dialect.column("timestamp")
        if first is not None:
            self.conditions.append(f"{stamp} >= {self.param(_naive(first))}")
        if last is not None:
            self.conditions.append(f"{stamp} < {self.param(_naive(last))}")

    def keep_equal(self, path: str, value: Any) -> None:
        self.conditions.append(self.equal(self.field(path), value))

    def where(self, *more: str) -> str:
        conditions = [*self.conditions, *more]
        return f" WHERE {' AND '.join(conditions)}" if conditions else ""

    def key(self, group: str) -> Field:
        if group.startswith("time:"):
            unit = group[5:]
            return Field(f"date_trunc('{unit}', {self.dialect.column('timestamp')})", unit)
        return self.field(group)

    def field(self, path: str) -> Field:
        """``path`` as the raw reader's dotted lookup finds it: the whole key first, then
        the shortest leading key holding the rest."""
        d = self.dialect
        if path in self.columns:
            return Field(d.column(path), self.columns[path])
        segments = path.split(".")
        if self.whole_record:
            return Field(_json_path(d, d.column("record"), segments), "json")
        for cut in range(1, len(segments)):
            head = ".".join(segments[:cut])
            kind = self.columns.get(head)
            if kind == "json":
                return Field(_json_path(d, d.column(head), segments[cut:]), "json")
            if kind == "map":
                return Field(_map_path(d, d.column(head), segments[cut:]), "map_value")
        return Field("NULL", "text")  # not a field this stream's records have

    def number(self, field: Field) -> str:
        """The field's value where it is a number, else NULL."""
        if field.type in _NUMERIC_TYPES:
            return field.sql
        if field.type == "json":
            return self.dialect.json_number(field.sql)
        if field.type == "map_value":
            return self.dialect.try_cast(field.sql, "double")
        return self.dialect.try_cast("NULL", "double")

    def equal(self, field: Field, value: Any) -> str:
        d = self.dialect
        if value is None:
            return f"{field.sql} IS NULL"
        if field.type == "json":
            if isinstance(value, bool):
                kind = "boolean"
            elif isinstance(value, (int, float)):
                return f"{d.json_number(field.sql)} = {self.param(float(value))}"
            elif isinstance(value, str):
                kind = "string"
            else:
                return f"CAST({field.sql} AS VARCHAR) = {self.param(orjson.dumps(value).decode())}"
            text = self.param(_text(value))
            return f"({d.json_is(field.sql, kind)} AND {d.json_text(field.sql)} = {text})"
        if field.type == "timestamp":
            if not isinstance(value, str):
                return "false"
            try:
                return f"{field.sql} = {self.param(_naive(clock.parse_instant(value)))}"
            except ValueError:
                return "false"
        if field.type in _NUMERIC_TYPES:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return f"{field.sql} = {self.param(value)}"
            return "false"
        if field.type == "boolean":
            return f"{field.sql} = {self.param(value)}" if isinstance(value, bool) else "false"
        if field.type == "map_value" and not isinstance(value, (list, dict)):
            return f"{field.sql} = {self.param(_text(value))}"
        return f"{field.sql} = {self.param(value)}" if isinstance(value, str) else "false"

    def failed(self) -> str:
        """A failed record: :func:`ff_otel.sql.schema.span_failed` for span streams, status
        ``error`` for the others."""
        if self.columns.keys() >= _SPAN_COLUMNS:
            return span_failed(self.dialect)
        status = self.field("status")
        if status.type == "json":
            return f"coalesce({self.dialect.json_text(status.sql)} = 'error', false)"
        return f"coalesce({status.sql} = 'error', false)"


def _json_path(d: QueryDialect, document: str, segments: Sequence[str]) -> str:
    candidates = [d.json_get(document, ".".join(segments))]
    for cut in range(1, len(segments)):
        inner = d.json_get(document, ".".join(segments[:cut]))
        candidates.append(_json_path(d, inner, segments[cut:]))
    return candidates[0] if len(candidates) == 1 else f"coalesce({', '.join(candidates)})"


def _map_path(d: QueryDialect, column: str, segments: Sequence[str]) -> str:
    # A map holds flat keys; a nested object is its JSON text, reached into as JSON.
    candidates = [d.map_get(column, ".".join(segments))]
    for cut in range(1, len(segments)):
        inner = d.text_json(d.map_get(column, ".".join(segments[:cut])))
        candidates.append(d.json_text(_json_path(d, inner, segments[cut:])))
    return candidates[0] if len(candidates) == 1 else f"coalesce({', '.join(candidates)})"


def _naive(instant: datetime) -> datetime:
    return clock.parse_instant(instant).replace(tzinfo=None)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else orjson.dumps(value).decode()
