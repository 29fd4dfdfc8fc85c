"""What a backend's SQL must offer for the one set of definitions to render on it.

The views' derived columns and row filters (:mod:`ff_otel.sql.schema`), the BI
statements (:mod:`ff_otel.pipeline.bi_figures`) and :func:`ff_otel.query`'s
statements are written against :class:`Dialect` (and :class:`QueryDialect`);
:class:`ff_otel.sql.views.DuckDBDialect` renders them for the local store,
:class:`ff_otel.sql.clickhouse.ClickHouseDialect` for the fleet's ClickHouse.
"""

from __future__ import annotations

from typing import Protocol


class Dialect(Protocol):
    """What a derived column or a row filter needs from a backend's SQL."""

    def column(self, name: str) -> str:
        """A reference to a typed column of the view being defined."""
        ...

    def map_get(self, column: str, key: str) -> str:
        """The text value of ``key`` in a ``map`` column (NULL when absent)."""
        ...

    def try_cast(self, expression: str, logical_type: str) -> str:
        """``expression`` as ``logical_type``; NULL where it does not convert."""
        ...

    def literal(self, value: str) -> str:
        """A quoted string literal."""
        ...

    def count_if(self, condition: str) -> str:
        """How many rows of the group ``condition`` holds for."""
        ...

    def any_true(self, condition: str) -> str:
        """Whether ``condition`` holds for any row of the group."""
        ...

    def min_if(self, expression: str, condition: str) -> str:
        """The group's least ``expression`` over the rows ``condition`` holds for."""
        ...

    def distinct_list(self, expression: str) -> str:
        """The group's distinct values of ``expression`` as a list."""
        ...

    def distinct_list_if(self, expression: str, condition: str) -> str:
        """The group's distinct values of ``expression`` over the rows ``condition`` holds
        for, as a list (empty or NULL when it holds for none)."""
        ...

    def unnest_list(self, expression: str) -> str:
        """One row per element of the list ``expression`` (none when NULL or empty)."""
        ...

    def empty_text_list(self) -> str:
        """An empty list of text."""
        ...

    def unnest_text_list(self, json: str) -> str:
        """One row per element of the JSON list of text ``json`` (none when NULL or empty)."""
        ...

    def day(self, timestamp: str) -> str:
        """``YYYY-MM-DD`` of a UTC timestamp."""
        ...

    def week(self, timestamp: str) -> str:
        """``YYYY-MM-DD`` of the Monday starting the ISO week of a UTC timestamp."""
        ...

    def hour_of_day(self, timestamp: str) -> str:
        """The UTC hour (0-23) of a timestamp."""
        ...

    def weeks(self, timestamp: str) -> str:
        """The group's distinct :meth:`week` values as a list, each formatted once per week."""
        ...

    def arg_min(self, expression: str, by: str) -> str:
        """The group's ``expression`` at its least ``by``."""
        ...

    def arg_max(self, expression: str, by: str) -> str:
        """The group's ``expression`` at its greatest ``by``."""
        ...

    def collect_list(self, expression: str) -> str:
        """The group's non-NULL values of ``expression`` as a list."""
        ...

    def epoch_ms(self, timestamp: str) -> str:
        """A UTC timestamp as milliseconds since the epoch."""
        ...

    def contains_text(self, text: str, needle: str) -> str:
        """Whether ``text`` contains ``needle``, case-insensitively."""
        ...

    def materialized(self) -> str:
        """The keyword that makes a CTE computed once, where the dialect has one."""
        ...


class QueryDialect(Dialect, Protocol):
    """What :func:`ff_otel.query` needs beyond :class:`Dialect`: reaching into JSON values."""

    def json_get(self, document: str, key: str) -> str:
        """The JSON value under ``key`` (taken whole, dots included) of a JSON object;
        NULL when absent or JSON ``null``."""
        ...

    def json_number(self, expression: str) -> str:
        """A JSON value as a double when it is a JSON number, else NULL."""
        ...

    def json_text(self, expression: str) -> str:
        """A JSON value as text: a string unquoted, anything else its JSON text."""
        ...

    def json_is(self, expression: str, kind: str) -> str:
        """Whether a JSON value is a ``string``, ``number`` or ``boolean``."""
        ...

    def text_json(self, expression: str) -> str:
        """Text parsed as JSON; NULL when it is not JSON."""
        ...
