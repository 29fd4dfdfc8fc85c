"""Queries over any stream: time range, filters, group-by, aggregates, answered in SQL.

``ff_otel.query("spans", start=..., end=..., where={"component": "llm"},
group_by=["time:hour"], aggregates=["count", "errors", "p95:duration_ms"])``
returns one row (a dict) per group. Aggregates: ``count``, ``errors`` (failed
records as :func:`ff_otel.pipeline.interval.failed` defines them), ``sum:F``,
``avg:F``, ``min:F``, ``max:F``, ``p50:F``/``p95:F``/``p99:F`` (from a 1%-accurate sketch) and
``distinct:F``. Group by fields or ``time:minute|hour|day|week|month``.
Fields are dotted paths into nested records; a key that itself holds dots
(``attributes.http.route``) is found too.

``requests`` is the spans that are requests (kind ``server``, or a root
span), as the interval snapshots count them.

Every query is one or two SQL statements over the stream's view
(:mod:`ff_otel.sql.schema`), run by :func:`ff_otel.sql.engine.sql`: the
aggregates per group, and per percentile field the values counted per sketch
bin, from which Python reads the quantile (the sketch's own definition, as
business intelligence does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ff_otel.core import clock
from ff_otel.pipeline.sketch import bin_sql, sketch_value
from ff_otel.settings.running import store_layout
from ff_otel.sql.clickhouse import VIEW_NAMES
from ff_otel.sql.engine import dialect_for, resolve_query_url, sql
from ff_otel.sql.schema import VIEWS_BY_NAME, View
from ff_otel.sql.statement import Field, Statement
from ff_otel.store.layout import STREAM_FILES, StoreLayout, stream_path

_FILTERED_STREAMS = ("requests",)
_TIME_GROUPS = {
    "minute": "%Y-%m-%dT%H:%M",
    "hour": "%Y-%m-%dT%H",
    "day": "%Y-%m-%d",
    "week": "%Y-%m-%d",
    "month": "%Y-%m",
}
_QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
_SUMMARY_KINDS = ("sum", "avg", "min", "max")
_FIELD_AGGREGATES = (*_SUMMARY_KINDS, "distinct", *_QUANTILES)


def streams() -> list[str]:
    """The stream names ``query`` knows (a stream's relative ``.jsonl`` path works too)."""
    return [*STREAM_FILES, *_FILTERED_STREAMS]


def query(
    stream: str,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    where: Mapping[str, Any] | None = None,
    group_by: Sequence[str] = (),
    aggregates: Sequence[str] = ("count",),
    base_path: str | Path | None = None,
    query_url: str | None = None,
) -> list[dict[str, Any]]:
    """Rows of ``aggregates`` per group of ``group_by`` over ``stream`` in ``[start, end)``.

    ``query_url`` chooses the backend as :func:`ff_otel.sql` does (else
    ``configure(query_url=...)``, else ``FF_OTEL_QUERY_URL``): over ClickHouse the
    same statements run over the same views, for the streams the fleet has
    (:data:`ff_otel.sql.clickhouse.VIEW_NAMES`); no local store is needed.

    Raises ``ValueError`` naming an unknown stream (or one kept per host, over
    ClickHouse), aggregate or time group, or a reversed range.
    """
    url = resolve_query_url(query_url)
    view = _fleet_view(stream) if url else _view_of(store_layout(base_path), stream)
    for group in group_by:
        if group.startswith("time:") and group[5:] not in _TIME_GROUPS:
            raise ValueError(f"unknown time group {group!r}; use time:{'|'.join(_TIME_GROUPS)}")
    for spec in aggregates:
        _check_aggregate(spec)
    first = clock.parse_instant(start) if start is not None else None
    last = clock.parse_instant(end) if end is not None else None
    if first is not None and last is not None and first > last:
        raise ValueError(
            f"time range is reversed: start {clock.format_iso(first)} is after end "
            f"{clock.format_iso(last)}"
        )
    statement = Statement(view, dialect_for(url))
    statement.keep_range(first, last)
    for field, value in (where or {}).items():
        statement.keep_equal(field, value)
    keys = [statement.key(group) for group in group_by]
    base = None if url else store_layout(base_path).base_path
    groups = _Runner(statement, keys, base, url).groups(aggregates)
    rows = []
    for key in sorted(groups, key=lambda k: tuple("" if v is None else str(v) for v in k)):
        row: dict[str, Any] = dict(zip(group_by, key, strict=True))
        row.update(groups[key])
        rows.append(row)
    return rows


def _view_of(layout: StoreLayout, stream: str) -> View:
    if stream in VIEWS_BY_NAME and stream in (*STREAM_FILES, *_FILTERED_STREAMS):
        return VIEWS_BY_NAME[stream]
    path = stream_path(layout, stream)
    for name, relative in STREAM_FILES.items():
        if (layout.analytics_path / relative).resolve() == path:
            return VIEWS_BY_NAME[name]
    raise ValueError(f"unknown stream {stream!r}; known: {', '.join(STREAM_FILES)}")


def _fleet_view(stream: str) -> View:
    if stream in VIEW_NAMES:
        return VIEWS_BY_NAME[stream]
    if stream in STREAM_FILES or stream.endswith(".jsonl"):
        raise ValueError(
            f"stream {stream!r} is kept per host, in each host's store, not in ClickHouse; "
            f"over a query URL: {', '.join(VIEW_NAMES)}"
        )
    raise ValueError(f"unknown stream {stream!r}; known over a query URL: {', '.join(VIEW_NAMES)}")


def _check_aggregate(spec: str) -> None:
    if spec in ("count", "errors"):
        return
    kind, _, field = spec.partition(":")
    if kind not in _FIELD_AGGREGATES or not field:
        raise ValueError(
            f"unknown aggregate {spec!r}; use count, errors or KIND:FIELD with KIND in "
            f"{list(_FIELD_AGGREGATES)}"
        )


class _Runner:
    """Runs a query's statements and turns their rows into groups of aggregate values."""

    def __init__(
        self,
        statement: Statement,
        keys: Sequence[Field],
        base_path: Path | None,
        query_url: str,
    ) -> None:
        self.base_path = base_path
        self.query_url = query_url
        self.statement = statement
        self.keys = keys
        self.key_columns = [f"{key.sql} AS k{index}" for index, key in enumerate(keys)]
        self.group = (
            " GROUP BY " + ", ".join(f"k{index}" for index in range(len(keys))) if keys else ""
        )

    def groups(self, specs: Sequence[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
        """Each group with the value of every aggregate in ``specs``.

        One statement answers all of them when at most one field has
        percentiles and none is counted distinct (distinct counts do not add
        up over sketch bins); otherwise one more statement per percentile
        field. Percentiles are read from the latency sketch's bins in SQL
        (:meth:`_ranked`), so each statement returns one row per group.
        """
        percentiles = [s for s in specs if s.partition(":")[0] in _QUANTILES]
        quantile_paths = list(dict.fromkeys(s.partition(":")[2] for s in percentiles))
        distinct = any(s.startswith("distinct:") for s in specs)
        binned = quantile_paths[0] if len(quantile_paths) == 1 and not distinct else None
        statement = self.statement
        summed = list(
            dict.fromkeys(
                s.partition(":")[2] for s in specs if s.partition(":")[0] in _SUMMARY_KINDS
            )
        )
        columns = [*self.key_columns, "count(*) AS n"]
        carried = [("n", "sum")]
        if "errors" in specs:
            columns.append(f"sum(CASE WHEN {statement.failed()} THEN 1 ELSE 0 END) AS e")
            carried.append(("e", "sum"))
        for index, path in enumerate(summed):
            number = statement.number(statement.field(path))
            columns += [
                f"sum({number}) AS s{index}",
                f"count({number}) AS c{index}",
                f"min({number}) AS lo{index}",
                f"max({number}) AS hi{index}",
            ]
            carried += [
                (f"s{index}", "sum"),
                (f"c{index}", "sum"),
                (f"lo{index}", "min"),
                (f"hi{index}", "max"),
            ]
        for index, spec in enumerate(specs):
            if spec.startswith("distinct:"):
                columns.append(f"count(DISTINCT {statement.field(spec[9:]).sql}) AS d{index}")
        ranked = [s for s in percentiles if s.partition(":")[2] == binned]
        if binned is None:
            having = "" if self.keys else " HAVING count(*) > 0"
            text = f"SELECT {', '.join(columns)} FROM {self._view()}{statement.where()}"
            rows = self._run(f"{text}{self.group}{having}")
        else:
            number = statement.number(statement.field(binned))
            columns += [f"{bin_sql(number)} AS b", f"{number} IS NOT NULL AS has"]
            group = f"{self.group}, b, has" if self.keys else " GROUP BY b, has"
            inner = f"SELECT {', '.join(columns)} FROM {self._view()}{statement.where()}{group}"
            rows = self._run(self._ranked(inner, carried, ranked))
        groups = {}
        for row in rows:
            values = _values(row, specs, summed)
            for index, spec in enumerate(ranked):
                values[spec] = _bin_value(row[f"z{index}"], row[f"q{index}"])
            groups[self._key(row)] = values
        for path in quantile_paths:
            if path != binned:
                same_field = [s for s in percentiles if s.partition(":")[2] == path]
                self.quantiles(path, same_field, groups)
        return groups

    def quantiles(
        self, path: str, specs: Sequence[str], groups: dict[tuple[Any, ...], dict[str, Any]]
    ) -> None:
        """Fill in ``specs`` (``pNN:path``) for every group from its values counted per bin."""
        statement = self.statement
        number = statement.number(statement.field(path))
        group = f"{self.group}, b" if self.keys else " GROUP BY b"
        columns = [*self.key_columns, f"{bin_sql(number)} AS b", "count(*) AS n", "true AS has"]
        inner = (
            f"SELECT {', '.join(columns)} "
            f"FROM {self._view()}{statement.where(f'{number} IS NOT NULL')}{group}"
        )
        found = {}
        for row in self._run(self._ranked(inner, [], specs)):
            found[self._key(row)] = [
                _bin_value(row[f"z{index}"], row[f"q{index}"]) for index in range(len(specs))
            ]
        for key, values in groups.items():
            quantiles = found.get(key)
            for index, spec in enumerate(specs):
                values[spec] = quantiles[index] if quantiles is not None else None

    def _ranked(self, inner: str, carried: Sequence[tuple[str, str]], specs: Sequence[str]) -> str:
        """One row per group from ``inner``'s rows per group and sketch bin ``b`` (``n``
        values, ``has``: of a known value): ``carried`` columns added up (``sum``,
        ``min`` or ``max``) and, for each ``pNN`` of ``specs``, the sketch bin holding that
        rank (``q{i}``) or whether the zero bin does (``z{i}``), as
        :meth:`LatencySketch.quantile` walks them."""
        d = self.statement.dialect
        keys = [f"k{index}" for index in range(len(self.keys))]
        partition = f"PARTITION BY {', '.join(keys)}" if keys else ""
        known = "CASE WHEN has THEN n ELSE 0 END"
        ranked = (
            f"SELECT *, sum({known}) OVER ({partition} ORDER BY b NULLS FIRST "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum, "
            f"sum({known}) OVER ({partition}) AS total FROM ({inner}) AS bins"
        )
        columns = [*keys, *(f"{how}({name}) AS {name}" for name, how in carried)]
        for index, spec in enumerate(specs):
            quantile = _QUANTILES[spec.partition(":")[0]]
            # As LatencySketch.quantile: rank max(1, ceil(q * count)) in doubles.
            rank = f"greatest(1, ceil(CAST({quantile!r} AS DOUBLE) * CAST(total AS DOUBLE)))"
            columns += [
                f"{d.any_true(f'has AND b IS NULL AND cum >= {rank}')} AS z{index}",
                f"{d.min_if('b', f'has AND b IS NOT NULL AND cum >= {rank}')} AS q{index}",
            ]
        group = f" GROUP BY {', '.join(keys)}" if keys else " HAVING count(*) > 0"
        return f"SELECT {', '.join(columns)} FROM ({ranked}) AS ranked{group}"

    def _view(self) -> str:
        return self.statement.dialect.column(self.statement.view.name)

    def _run(self, text: str) -> list[dict[str, Any]]:
        params = {
            name: value for name, value in self.statement.params.items() if f"${name}" in text
        }
        return sql(text, params or None, base_path=self.base_path, query_url=self.query_url)

    def _key(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(_key_value(key, row[f"k{index}"]) for index, key in enumerate(self.keys))


def _values(row: dict[str, Any], specs: Sequence[str], summed: Sequence[str]) -> dict[str, Any]:
    """A group's aggregate values from its row (percentiles None: filled in by the caller)."""
    values: dict[str, Any] = {}
    for index, spec in enumerate(specs):
        kind, _, path = spec.partition(":")
        if spec == "count":
            values[spec] = int(row["n"])
        elif spec == "errors":
            values[spec] = int(row["e"] or 0)
        elif kind == "distinct":
            values[spec] = row[f"d{index}"]
        elif kind in _SUMMARY_KINDS:
            at = summed.index(path)
            counted = row[f"c{at}"]
            if kind == "sum":
                values[spec] = float(row[f"s{at}"] or 0.0)
            elif kind == "avg":
                values[spec] = row[f"s{at}"] / counted if counted else None
            else:
                values[spec] = row[f"lo{at}"] if kind == "min" else row[f"hi{at}"]
        else:
            values[spec] = None
    return values


def _bin_value(zero: bool | None, index: int | None) -> float | None:
    """The value a sketch reports for its zero bin or bin ``index`` (None: no values)."""
    if zero:
        return 0.0
    return None if index is None else sketch_value(int(index))


def _key_value(key: Field, value: Any) -> Any:
    if value is None:
        return None
    if key.type in _TIME_GROUPS:
        return value.strftime(_TIME_GROUPS[key.type])
    if key.type == "timestamp":
        return clock.format_iso(value)
    return tuple(value) if isinstance(value, list) else value
