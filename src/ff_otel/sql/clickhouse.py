"""The logical views over ClickHouse, as the Collector's ``clickhouseexporter`` stores them.

``query_url`` chooses the backend: ``chdb:///absolute/path?database=otel``
(ClickHouse in-process, PyPI ``chdb``) or ``clickhouse://user:password@host:8123/db``
(``clickhouses://`` for TLS, through ``clickhouse-connect``). The views
``spans``, ``requests``, ``logs``, ``events`` and ``metrics`` have the local store's
columns (:mod:`ff_otel.sql.schema`), defined over ``otel_traces`` and
``otel_logs``; ``requests``' filter and derived columns are the schema's own
expressions rendered with :class:`ClickHouseDialect`. A user event is the
``otel_logs`` row of an ``ff.user_event`` log record as ff-otel sends it: its
attributes ``ff.event.type``, ``user.hash`` and ``session.id``, its body the
scrubbed event data (a map, which the exporter stores as JSON).

The connection, parameters, timeouts and errors are
:mod:`ff_otel.sql.clickhouse_client`'s.
"""

from __future__ import annotations

import re

from ff_otel.sql.schema import VIEWS_BY_NAME, View, json_twin, map_columns

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TYPES = {
    "timestamp": "Nullable(DateTime64(6, 'UTC'))",
    "text": "Nullable(String)",
    "double": "Nullable(Float64)",
    "bigint": "Nullable(Int64)",
    "boolean": "Nullable(Bool)",
}


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


_JSON_TYPES = {"string": ("String",), "number": ("Int64", "UInt64", "Double"), "boolean": ("Bool",)}


class ClickHouseDialect:
    """:class:`ff_otel.sql.dialect.QueryDialect` (a :class:`~ff_otel.sql.dialect.Dialect`) for
    ClickHouse, where a ``json`` column is its JSON text.

    ClickHouse inlines a CTE wherever it is used, reading its tables again each time;
    ``materialized_ctes`` asks for the ones :meth:`materialized` marks to be computed once
    (``MATERIALIZED``, ClickHouse 26 with ``enable_materialized_cte``: chdb's engine, which
    ff-otel's chdb sessions enable; a server may be older, so its dialect does not ask).
    """

    def __init__(self, *, materialized_ctes: bool = False) -> None:
        self.materialized_ctes = materialized_ctes

    def column(self, name: str) -> str:
        return f"`{name}`"

    def map_get(self, column: str, key: str) -> str:
        return f"nullIf({column}[{_quote(key)}], '')"

    def try_cast(self, expression: str, logical_type: str) -> str:
        return f"accurateCastOrNull({expression}, {_quote(_TYPES[logical_type])})"

    def literal(self, value: str) -> str:
        return _quote(value)

    def json_get(self, document: str, key: str) -> str:
        # JSONExtractRaw is '' for a missing key or text that is not JSON.
        return f"nullIf(nullIf(JSONExtractRaw({document}, {_quote(key)}), ''), 'null')"

    def json_number(self, expression: str) -> str:
        return f"if({self.json_is(expression, 'number')}, JSONExtractFloat({expression}), NULL)"

    def json_text(self, expression: str) -> str:
        return (
            f"if({self.json_is(expression, 'string')}, JSONExtractString({expression}), "
            f"{expression})"
        )

    def json_is(self, expression: str, kind: str) -> str:
        types = ", ".join(map(_quote, _JSON_TYPES[kind]))
        return f"coalesce(JSONType({expression}) IN ({types}), false)"

    def text_json(self, expression: str) -> str:
        return f"if(isValidJSON({expression}), {expression}, NULL)"

    def count_if(self, condition: str) -> str:
        return f"countIf({condition})"

    def any_true(self, condition: str) -> str:
        return f"CAST(max({condition}) AS Bool)"

    def min_if(self, expression: str, condition: str) -> str:
        return f"minIf({expression}, {condition})"

    def distinct_list(self, expression: str) -> str:
        return f"groupUniqArray({expression})"

    def distinct_list_if(self, expression: str, condition: str) -> str:
        return f"groupUniqArrayIf({expression}, {condition})"

    def unnest_list(self, expression: str) -> str:
        return f"arrayJoin({expression})"

    def empty_text_list(self) -> str:
        return "CAST([] AS Array(String))"

    def arg_min(self, expression: str, by: str) -> str:
        return f"argMin({expression}, {by})"

    def arg_max(self, expression: str, by: str) -> str:
        return f"argMax({expression}, {by})"

    def collect_list(self, expression: str) -> str:
        return f"groupArray({expression})"

    def epoch_ms(self, timestamp: str) -> str:
        return f"toUnixTimestamp64Milli({timestamp})"

    def contains_text(self, text: str, needle: str) -> str:
        return f"positionCaseInsensitiveUTF8({text}, {needle}) > 0"

    def unnest_text_list(self, json: str) -> str:
        return f"arrayJoin(JSONExtract(coalesce({json}, '[]'), 'Array(String)'))"

    def day(self, timestamp: str) -> str:
        return f"formatDateTime({timestamp}, '%Y-%m-%d')"

    def week(self, timestamp: str) -> str:
        return f"formatDateTime(toMonday({timestamp}), '%Y-%m-%d')"

    def hour_of_day(self, timestamp: str) -> str:
        return f"toHour({timestamp})"

    def weeks(self, timestamp: str) -> str:
        return (
            f"arrayMap(m -> formatDateTime(m, '%Y-%m-%d'), groupUniqArray(toMonday({timestamp})))"
        )

    def materialized(self) -> str:
        return "MATERIALIZED " if self.materialized_ctes else ""


CLICKHOUSE = ClickHouseDialect()
"""The dialect of a ClickHouse server (``clickhouse://``, ``clickhouses://``)."""
CHDB = ClickHouseDialect(materialized_ctes=True)
"""The dialect of chdb (``chdb://``): ClickHouse 26 in-process, CTEs computed once."""

# As the store's span records: ``component`` the ff.component attribute, else the last part of
# the instrumentation scope's name; ``attributes`` every attribute, ff.component included.
_SPANS = """SELECT
  CAST(Timestamp AS DateTime64(6, 'UTC')) AS timestamp,
  CAST(addNanoseconds(Timestamp, Duration) AS DateTime64(6, 'UTC')) AS end_timestamp,
  TraceId AS trace_id, SpanId AS span_id, nullIf(ParentSpanId, '') AS parent_span_id,
  SpanName AS name, lower(replaceOne(SpanKind, 'SPAN_KIND_', '')) AS kind,
  if(SpanAttributes['ff.component'] != '', SpanAttributes['ff.component'],
     if(ScopeName != '', splitByChar('.', ScopeName)[-1], 'unknown')) AS component,
  Duration / 1e6 AS duration_ms,
  if(StatusCode IN ('Error', 'STATUS_CODE_ERROR'), 'error', 'ok') AS status,
  nullIf(StatusMessage, '') AS status_message,
  SpanAttributes AS attributes,
  toJSONString(arrayMap(n -> map('name', n), Events.Name)) AS events,
  ServiceName AS service, ScopeName AS scope
FROM {db}.otel_traces"""

_USER_EVENT = "LogAttributes['ff.event.type'] != ''"
_LOGS = f"""SELECT
  CAST(Timestamp AS DateTime64(6, 'UTC')) AS timestamp, 'log' AS record_type,
  SeverityText AS severity, toInt64(SeverityNumber) AS severity_number,
  nullIf(LogAttributes['event.name'], '') AS event_name, Body AS body,
  LogAttributes AS attributes, nullIf(TraceId, '') AS trace_id, nullIf(SpanId, '') AS span_id,
  ServiceName AS service, ScopeName AS scope
FROM {{db}}.otel_logs WHERE NOT ({_USER_EVENT})"""

# The body's top-level fields as text: strings unquoted, other values their JSON, nulls left out.
_DATA = """mapFromArrays(arrayMap(p -> p.1, pairs),
    arrayMap(p -> if(startsWith(p.2, '"'), JSONExtractString(p.2), p.2), pairs))"""
# features_of() in ff_otel.analytics.mapping: data.features, data.feature, and a
# feature_usage event's data.name when it names no other. The three are read from the body in
# one parse, not from ``data`` (which parses the whole body into a map: several times dearer);
# a body that is a JSON array names no field (JSONExtract would read a tuple from it by position).
_NAMED = """JSONExtract(if(startsWith(Body, '['), '{{}}', Body),
    'Tuple(features Array(String), feature String, name String)')"""
_FEATURES = "arrayConcat(named.features, if(named.feature = '', [], [named.feature]))"
_EVENTS = f"""SELECT
  CAST(Timestamp AS DateTime64(6, 'UTC')) AS timestamp, 'event' AS record_type,
  LogAttributes['ff.event.type'] AS event_type, nullIf(LogAttributes['user.hash'], '') AS user_hash,
  nullIf(LogAttributes['session.id'], '') AS session_id,
  arrayFilter(p -> p.2 != 'null', JSONExtractKeysAndValuesRaw(Body)) AS pairs,
  {_DATA} AS data, {_NAMED} AS named,
  if(empty({_FEATURES}) AND event_type = 'feature_usage' AND named.name != '',
     [named.name], {_FEATURES}) AS features,
  if(empty(features), NULL, toJSONString(features)) AS features_used,
  ServiceName AS service
FROM {{db}}.otel_logs WHERE {_USER_EVENT}"""

_TEMPORALITY = (
    "multiIf(AggregationTemporality = 1, 'delta', AggregationTemporality = 2, 'cumulative', NULL)"
)
_BUCKETS = (
    "toJSONString(CAST(({0}Offset, {0}BucketCounts), "
    "'Tuple(offset Int32, bucket_counts Array(UInt64))'))"
)
_HISTOGRAM = {
    "sum": "Sum",
    "count": "toInt64(Count)",
    "min": "Min",
    "max": "Max",
    "temporality": _TEMPORALITY,
}
# The exporter's table for each metric type, and the metrics view's columns it fills.
_METRIC_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "sum": (
        "otel_metrics_sum",
        {"value": "Value", "temporality": _TEMPORALITY, "monotonic": "IsMonotonic"},
    ),
    "gauge": ("otel_metrics_gauge", {"value": "Value"}),
    "histogram": (
        "otel_metrics_histogram",
        {
            **_HISTOGRAM,
            "bucket_counts": "toJSONString(BucketCounts)",
            "explicit_bounds": "toJSONString(ExplicitBounds)",
        },
    ),
    "exponential_histogram": (
        "otel_metrics_exponential_histogram",
        {
            **_HISTOGRAM,
            "scale": "toInt64(Scale)",
            "zero_count": "toInt64(ZeroCount)",
            "positive": _BUCKETS.format("Positive"),
            "negative": _BUCKETS.format("Negative"),
        },
    ),
    "summary": ("otel_metrics_summary", {"sum": "Sum", "count": "toInt64(Count)"}),
}
_METRIC_COMMON = {
    "timestamp": "CAST(TimeUnix AS DateTime64(6, 'UTC'))",
    "start_timestamp": (
        "if(toUnixTimestamp64Nano(StartTimeUnix) = 0, NULL, "
        "CAST(StartTimeUnix AS DateTime64(6, 'UTC')))"
    ),
    "name": "MetricName",
    "description": "MetricDescription",
    "unit": "MetricUnit",
    "attributes": "Attributes",
    "service": "ServiceName",
    "scope": "ScopeName",
}


def _metrics(view: View, database: str) -> str:
    """One SELECT per exporter metrics table, each with every column of the metrics view."""
    parts = []
    for kind, (table, filled) in _METRIC_TABLES.items():
        columns = {**_METRIC_COMMON, **filled, "type": _quote(kind)}
        projection = ", ".join(
            f"CAST({columns[c.name]} AS {_column_type(c.type)}) AS `{c.name}`"
            if c.name in columns
            else f"CAST(NULL AS {_column_type(c.type)}) AS `{c.name}`"
            for c in view.columns
        )
        parts.append(f"SELECT {projection} FROM {database}.{table}")
    return " UNION ALL ".join(parts)


def _column_type(logical_type: str) -> str:
    if logical_type == "map":
        return "Map(String, String)"
    return _TYPES.get(logical_type, "Nullable(String)")


_BASES = {"spans": _SPANS, "logs": _LOGS, "events": _EVENTS}
VIEW_NAMES = ("spans", "requests", "logs", "events", "metrics")
"""The views a ClickHouse backend has (the others are per host: see the README)."""


def render_view(view: View, database: str) -> str:
    """The SELECT that defines ``view`` over the exporter's tables in ``database``."""
    base = view.source or view.name
    if base == "metrics":
        return _with_twins(view, _metrics(view, f"`{database}`"))
    body = _BASES[base].format(db=f"`{database}`")
    if base == "events":
        present = {"timestamp", "record_type", "event_type", "user_hash", "session_id", "data"}
        present |= {"service", "features_used"}
        body = (
            "SELECT "
            + ", ".join(
                f"`{column.name}`"
                if column.name in present
                else f"CAST(NULL AS {_column_type(column.type)}) AS `{column.name}`"
                for column in view.columns
            )
            + f" FROM ({body})"
        )
    body = _with_twins(view, body)
    if not view.derived and view.where is None:
        return body
    derived = "".join(
        f", {derived.expression(CLICKHOUSE)} AS `{derived.name}`" for derived in view.derived
    )
    where = f" WHERE {view.where(CLICKHOUSE)}" if view.where is not None else ""
    return f"SELECT *{derived} FROM ({body}){where}"


def _with_twins(view: View, body: str) -> str:
    """``body`` with each map column's JSON twin after the view's own columns, as locally
    (over ClickHouse the map is native, so :class:`ClickHouseDialect` reads the map)."""
    twins = ", ".join(f"toJSONString(`{c.name}`) AS `{json_twin(c)}`" for c in map_columns(view))
    return f"SELECT *, {twins} FROM ({body})" if twins else body


def json_columns(statement: str) -> set[str]:
    """The ``json`` columns of the views ``statement`` mentions, which ClickHouse returns as
    JSON text (``body`` excepted: the exporter keeps a log body as its text)."""
    mentioned = {word.lower() for word in _WORD.findall(statement)}
    return {
        column.name
        for name in VIEW_NAMES
        if name in mentioned
        for column in VIEWS_BY_NAME[VIEWS_BY_NAME[name].source or name].columns
        if column.type == "json" and column.name != "body"
    } | {
        json_twin(column)
        for name in VIEW_NAMES
        if name in mentioned
        for column in map_columns(VIEWS_BY_NAME[name])
    }


def with_views(statement: str, database: str) -> str:
    """``statement`` with a ``WITH`` clause defining every view it mentions."""
    mentioned = {word.lower() for word in _WORD.findall(statement)}
    names = [name for name in VIEW_NAMES if name in mentioned]
    if not names:
        return statement
    clauses = ", ".join(
        f"`{name}` AS ({render_view(VIEWS_BY_NAME[name], database)})" for name in names
    )
    head = statement.lstrip()
    if head[:4].upper() == "WITH" and not head[4:5].isalnum():
        return f"WITH {clauses}, {head[4:].lstrip()}"
    return f"WITH {clauses} {head}"
