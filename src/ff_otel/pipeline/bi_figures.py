"""What business intelligence needs, gathered in SQL over the views.

Four statements, one per stream group, each reading its files once
(:mod:`ff_otel.sql.engine`): user events (users by window, first seen,
features, events by hour of day, daily and weekly actives, retention
cohorts), sessions, resource readings, and spans (per component counts,
errors and latency-sketch bins). The user and span statements are written
against :class:`~ff_otel.sql.dialect.Dialect`, so the same definition runs
over the store (DuckDB) and over the fleet's ClickHouse; sessions and
resource readings are per host and exist only in the store. Windows are whole UTC hours, as the hour
buckets BI always used: every hour that overlaps ``[start, stop)``.
Latency percentiles keep the 1%-accurate sketch's definition
(:mod:`ff_otel.pipeline.sketch`): SQL counts values per sketch bin, Python
reads the quantile from those counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ff_otel.pipeline.sketch import LatencySketch, bin_sql
from ff_otel.sql.dialect import Dialect
from ff_otel.sql.engine import dialect_for, sql
from ff_otel.sql.schema import span_failed, span_is_request

_HOUR = timedelta(hours=1)


def _hours(start: datetime, stop: datetime) -> tuple[datetime, datetime]:
    """Naive UTC bounds of the whole hours overlapping ``[start, stop)``."""
    first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    last = (stop - timedelta(microseconds=1)).astimezone(UTC)
    return first, last.replace(minute=0, second=0, microsecond=0, tzinfo=None) + _HOUR


@dataclass
class Windows:
    """The hour-aligned ranges BI looks at, as naive UTC datetimes."""

    start: datetime
    stop: datetime
    days: int
    current: tuple[datetime, datetime] = field(init=False)
    previous: tuple[datetime, datetime] = field(init=False)
    daily: tuple[datetime, datetime] = field(init=False)
    recent: dict[int, tuple[datetime, datetime]] = field(init=False)

    def __post_init__(self) -> None:
        start, stop, days = self.start, self.stop, self.days
        self.current = _hours(start, stop)
        self.previous = _hours(start - timedelta(days=days), start)
        self.daily = _hours(stop - timedelta(days=max(days, 7)), stop)
        self.recent = {span: _hours(stop - timedelta(days=span), stop) for span in (1, 7, 30)}

    def params(self) -> dict[str, Any]:
        named: dict[str, Any] = {
            "cur_from": self.current[0],
            "cur_to": self.current[1],
            "prev_from": self.previous[0],
            "prev_to": self.previous[1],
            "daily_from": self.daily[0],
            "stop": self.stop.astimezone(UTC).replace(tzinfo=None),
            "window_start": self.start.astimezone(UTC).replace(tzinfo=None),
        }
        for span, (first, _) in self.recent.items():
            named[f"r{span}_from"] = first
        return named


_USER_NUMBERS = 10
"""Numbers per row of the user figures' rows (the widest section, ``users``, has ten)."""


def _row(section: str, numbers: list[str], a: str = "''", b: str = "''") -> str:
    """One row shape for every section: its name, two texts and the numbers, zero-padded."""
    padded = [f"CAST({n} AS BIGINT)" for n in numbers]
    padded += ["CAST(0 AS BIGINT)"] * (_USER_NUMBERS - len(numbers))
    columns = ", ".join(f"{n} AS n{i}" for i, n in enumerate(padded))
    return f"SELECT '{section}' AS section, {a} AS a, {b} AS b, {columns}"


def users_sql(d: Dialect) -> str:
    """Users, features, events by hour, daily/weekly actives and cohorts: rows by ``section``.

    Sections: ``users`` (active, before, new, both, resurrecting, dormant, dau,
    wau, mau, and the total: users first seen before ``$stop``), ``feature`` (a:
    name; uses, users, before, lost), ``hour`` (hour, events), ``day`` (a: day,
    b: its week; users since ``$daily_from``, events in the window: a week with
    any is a week of activity), ``retained`` (a: cohort, b: week; users),
    ``cohort`` (a: cohort; users).

    The events are read once (``e``) and every figure about a user comes from one row
    per user (``per_user``: first seen, the windows they were active in, the weeks of
    this window they were active in), so users, cohorts and retention need no join;
    features are counted per (features list, user) before the lists are unnested, and
    days and weeks are formatted once each, not once per event.
    """
    m = d.materialized()
    new = "(seen >= $window_start AND seen < $stop)"
    parts = (
        _row(
            "users",
            [
                d.count_if("cur"),
                d.count_if("prev"),
                d.count_if(f"cur AND {new}"),
                d.count_if("cur AND prev"),
                d.count_if(f"cur AND NOT prev AND NOT {new}"),
                d.count_if("prev AND NOT cur"),
                d.count_if("r1"),
                d.count_if("r7"),
                d.count_if("r30"),
                d.count_if("seen < $stop"),
            ],
        )
        + " FROM per_user",
        _row(
            "feature",
            ["sum(uses)", d.count_if("cur"), d.count_if("prev"), d.count_if("prev AND NOT cur")],
            a="feature",
        )
        + " FROM features GROUP BY feature",
        _row("hour", [d.hour_of_day("ts"), "count(*)"])
        + f" FROM e WHERE is_cur GROUP BY {d.hour_of_day('ts')}",
        _row("day", ["users", "cur_events"], a=d.day("day_start"), b=d.week("day_start"))
        + " FROM (SELECT date_trunc('day', ts) AS day_start,"
        + " count(DISTINCT CASE WHEN u IS NOT NULL AND ts >= $daily_from THEN u END) AS users,"
        + f" {d.count_if('is_cur')} AS cur_events"
        + " FROM e WHERE ts < $cur_to AND ((u IS NOT NULL AND ts >= $daily_from) OR is_cur)"
        + " GROUP BY date_trunc('day', ts)) AS days",
        _row("retained", ["count(*)"], a=d.week("seen"), b=d.week("monday"))
        + f" FROM (SELECT seen, {d.unnest_list('weeks')} AS monday FROM per_user"
        + " WHERE seen < $stop) AS active_weeks"
        + f" GROUP BY {d.week('seen')}, {d.week('monday')}",
        _row("cohort", ["count(*)"], a=d.week("seen"))
        + f" FROM per_user WHERE seen < $stop GROUP BY {d.week('seen')}",
    )
    return f"""
WITH e AS {m}(
    SELECT user_hash AS u, "timestamp" AS ts, features_used AS f,
        ("timestamp" >= $cur_from AND "timestamp" < $cur_to) AS is_cur,
        ("timestamp" >= $prev_from AND "timestamp" < $prev_to) AS is_prev
    FROM events WHERE "timestamp" IS NOT NULL),
per_user AS {m}(
    SELECT u, min(ts) AS seen, {d.any_true("is_cur")} AS cur, {d.any_true("is_prev")} AS prev,
        {d.any_true("ts >= $r1_from AND ts < $cur_to")} AS r1,
        {d.any_true("ts >= $r7_from AND ts < $cur_to")} AS r7,
        {d.any_true("ts >= $r30_from AND ts < $cur_to")} AS r30,
        {d.distinct_list_if("date_trunc('week', ts)", "is_cur")} AS weeks
    FROM e WHERE u IS NOT NULL GROUP BY u),
features AS (
    SELECT feature, u, sum(uses) AS uses, {d.any_true("cur")} AS cur,
        {d.any_true("prev")} AS prev
    FROM (SELECT {d.unnest_text_list("f")} AS feature, u, uses, cur, prev FROM (
          SELECT f, u, {d.count_if("is_cur")} AS uses, {d.any_true("is_cur")} AS cur,
              {d.any_true("is_prev")} AS prev
          FROM e WHERE u IS NOT NULL AND f IS NOT NULL AND (is_cur OR is_prev)
          GROUP BY f, u) AS lists) AS used
    WHERE feature IS NOT NULL GROUP BY feature, u)
SELECT * FROM ({" UNION ALL ".join(parts)}) AS figures
"""


_SESSIONS_SQL = """
WITH s AS MATERIALIZED (
    SELECT "timestamp" AS ts, session_duration_seconds AS duration, satisfaction_rating AS rating
    FROM sessions WHERE "timestamp" >= $cur_from AND "timestamp" < $cur_to)
SELECT
    (SELECT {'count': count(*), 'duration': coalesce(sum(coalesce(duration, 0)), 0)} FROM s)
        AS totals,
    (SELECT list({'day': day, 'sum': total, 'count': n})
     FROM (SELECT strftime(ts, '%Y-%m-%d') AS day, sum(rating) AS total, count(rating) AS n
           FROM s WHERE rating IS NOT NULL GROUP BY day)) AS ratings,
    (SELECT list_transform(list(DISTINCT date_trunc('week', ts)),
                           lambda monday: strftime(monday, '%Y-%m-%d')) FROM s) AS weeks
"""

_RESOURCES_SQL = """
WITH r AS MATERIALIZED (
    SELECT "timestamp" AS ts, cpu_usage_percent, memory_usage_percent, disk_usage_percent
    FROM resource_usage WHERE "timestamp" >= $cur_from AND "timestamp" < $cur_to),
readings AS (
    SELECT ts, name, value FROM r
    UNPIVOT (value FOR name IN (cpu_usage_percent, memory_usage_percent, disk_usage_percent)))
SELECT
    (SELECT list({'name': name, 'point': point, 'sum': total, 'count': n})
     FROM (SELECT name, strftime(ts, $point_format) AS point, sum(value) AS total,
                  count(*) AS n
           FROM readings GROUP BY ALL)) AS points,
    (SELECT {'count': count(cpu_usage_percent), 'sum': sum(cpu_usage_percent),
             'max': max(cpu_usage_percent)} FROM r) AS cpu,
    (SELECT list_transform(list(DISTINCT date_trunc('week', ts)),
                           lambda monday: strftime(monday, '%Y-%m-%d')) FROM r) AS weeks
"""

_SPAN_RANGE = '"timestamp" >= $cur_from AND "timestamp" < $cur_to'


def spans_sql(d: Dialect) -> str:
    """Per component, request or not, failed or not and latency-sketch bin: the span count.

    One pass over the spans: failed is :func:`~ff_otel.sql.schema.span_failed`, a CASE
    that reads the attributes only for the requests that did not fail by status (reading
    every span's attributes map costs about 1 s per million spans). Each row also carries
    the weeks it covers.
    """
    component = "coalesce(nullif(component, ''), 'unknown')"
    bin_ = bin_sql("duration_ms")
    request = f"CAST({span_is_request(d)} AS BOOLEAN)"
    failed = f"CAST({span_failed(d)} AS BOOLEAN)"
    return f"""
SELECT {component} AS component_key, {request} AS request, {failed} AS failed, {bin_} AS bin,
    CAST(count(*) AS BIGINT) AS n, {d.weeks('"timestamp"')} AS weeks
FROM spans WHERE {_SPAN_RANGE}
GROUP BY {component}, {request}, {failed}, {bin_}
"""


@dataclass
class SpanFigures:
    components: dict[str, dict[str, Any]]
    requests: dict[str, Any]
    weeks: set[str]


def _one(base_path: Path, query: str, params: dict[str, Any]) -> dict[str, Any]:
    found = sql(query, params, base_path=base_path, query_url="")
    return found[0] if found else {}


def _used(query: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the named parameters ``query`` mentions (DuckDB refuses unused ones)."""
    return {name: value for name, value in params.items() if f"${name}" in query}


def user_figures(base_path: Path, windows: Windows, query_url: str = "") -> dict[str, Any]:
    """Users, features, events by hour, daily/weekly actives and cohorts (:func:`users_sql`),
    from the store or from the ClickHouse at ``query_url``."""
    query = users_sql(dialect_for(query_url))
    found = sql(query, _used(query, windows.params()), base_path=base_path, query_url=query_url)
    users: dict[str, int] = dict.fromkeys(_USER_FIELDS, 0)
    figures: dict[str, Any] = {
        "total_users": 0,
        "users": users,
        "features": [],
        "by_hour": [],
        "daily": [],
        "weeks": [],
        "retained": [],
        "cohorts": [],
    }
    for row in found:
        section, a, n = row["section"], row["a"], row["n0"]
        if section == "users":
            users.update({name: row[f"n{i}"] for i, name in enumerate(_USER_FIELDS)})
            figures["total_users"] = row[f"n{len(_USER_FIELDS)}"]
        elif section == "feature":
            figures["features"].append(
                {
                    "feature": a,
                    "uses": n,
                    "users": row["n1"],
                    "before": row["n2"],
                    "lost": row["n3"],
                }
            )
        elif section == "hour":
            figures["by_hour"].append({"hour": n, "events": row["n1"]})
        elif section == "day":
            if n:
                figures["daily"].append({"day": a, "users": n})
            if row["n1"]:
                figures["weeks"].append(row["b"])
        elif section == "retained":
            figures["retained"].append({"cohort": a, "week": row["b"], "users": n})
        elif section == "cohort":
            figures["cohorts"].append({"cohort": a, "users": n})
    return figures


_USER_FIELDS = ("active", "before", "new", "both", "resurrecting", "dormant", "dau", "wau", "mau")


def session_figures(base_path: Path, windows: Windows) -> dict[str, Any]:
    """Sessions and ratings (the store only: sessions are closed per host)."""
    return _one(base_path, _SESSIONS_SQL, _used(_SESSIONS_SQL, windows.params()))


def resource_figures(base_path: Path, windows: Windows, *, hourly: bool) -> dict[str, Any]:
    """Resource readings (the store only: each host reads its own)."""
    params = {**windows.params(), "point_format": "%Y-%m-%dT%H" if hourly else "%Y-%m-%d"}
    return _one(base_path, _RESOURCES_SQL, _used(_RESOURCES_SQL, params))


def span_figures(base_path: Path, windows: Windows, query_url: str = "") -> SpanFigures:
    """Per component and for requests: counts, errors and latency sketches (:func:`spans_sql`)."""
    return span_activity(base_path, *windows.current, query_url)


def spans_between(
    base_path: Path, start: datetime, stop: datetime, query_url: str = ""
) -> SpanFigures:
    """:func:`span_activity` for the whole UTC hours overlapping ``[start, stop)``, as BI's
    windows (the reports' performance)."""
    return span_activity(base_path, *_hours(start, stop), query_url)


def span_activity(
    base_path: Path, start: datetime, stop: datetime, query_url: str = ""
) -> SpanFigures:
    """:func:`span_figures` for the spans that started in ``[start, stop)`` (naive UTC)."""
    query = spans_sql(dialect_for(query_url))
    params = {"cur_from": start, "cur_to": stop}
    components: dict[str, dict[str, Any]] = {}
    requests: dict[str, Any] = {"count": 0, "errors": 0, "latency": LatencySketch()}
    weeks: set[str] = set()
    for row in sql(query, params, base_path=base_path, query_url=query_url):
        n = row["n"]
        entry = components.get(row["component_key"])
        if entry is None:
            entry = components[row["component_key"]] = {
                "count": 0,
                "errors": 0,
                "latency": LatencySketch(),
            }
        targets = (entry, requests) if row["request"] else (entry,)
        for target in targets:
            target["count"] += n
            target["errors"] += n if row["failed"] else 0
            target["latency"].add_count(row["bin"], n)
        weeks.update(row["weeks"])
    return SpanFigures(components, requests, weeks)
