"""What business intelligence needs from the store, gathered in SQL over the views.

Three statements, one per stream group, each reading its files once
(:mod:`ff_otel.sql.engine`): user events (users by window, first seen,
features, events by hour of day, daily and weekly actives, retention
cohorts), sessions and resource readings, and spans (per component counts,
errors and latency-sketch bins). Windows are whole UTC hours, as the hour
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
from ff_otel.sql.engine import engine_for, rows
from ff_otel.sql.schema import http_status_code, span_is_request
from ff_otel.sql.views import DUCKDB

_HOUR = timedelta(hours=1)
_BIN = bin_sql("duration_ms")


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


_USERS_SQL = """
WITH e AS MATERIALIZED (
    SELECT user_hash AS u, "timestamp" AS ts, features_used AS f FROM events
    WHERE "timestamp" IS NOT NULL),
first AS MATERIALIZED (SELECT u, min(ts) AS seen FROM e WHERE u IS NOT NULL GROUP BY u),
w AS NOT MATERIALIZED (
    SELECT u, ts, f,
        ts >= $cur_from AND ts < $cur_to AS cur,
        ts >= $prev_from AND ts < $prev_to AS prev
    FROM e WHERE ts >= least($prev_from, $r30_from, $daily_from) AND ts < $cur_to),
per_user AS MATERIALIZED (
    SELECT u, bool_or(cur) AS cur, bool_or(prev) AS prev,
        bool_or(ts >= $r1_from) AS r1, bool_or(ts >= $r7_from) AS r7,
        bool_or(ts >= $r30_from) AS r30
    FROM w WHERE u IS NOT NULL GROUP BY u),
features AS (
    SELECT feature, u, count(*) FILTER (WHERE cur) AS uses, bool_or(cur) AS cur,
        bool_or(prev) AS prev
    FROM (SELECT u, cur, prev, unnest(TRY_CAST(f AS VARCHAR[])) AS feature FROM w
          WHERE u IS NOT NULL AND (cur OR prev))
    WHERE feature IS NOT NULL GROUP BY feature, u),
weekly AS (
    SELECT DISTINCT strftime(date_trunc('week', ts), '%Y-%m-%d') AS week, u FROM w WHERE cur)
SELECT
    (SELECT count(*) FROM first WHERE seen < $stop) AS total_users,
    (SELECT {
        'active': count(*) FILTER (WHERE cur),
        'before': count(*) FILTER (WHERE prev),
        'new': count(*) FILTER (WHERE cur AND seen >= $window_start AND seen < $stop),
        'both': count(*) FILTER (WHERE cur AND prev),
        'resurrecting': count(*) FILTER (
            WHERE cur AND NOT prev AND NOT (seen >= $window_start AND seen < $stop)),
        'dormant': count(*) FILTER (WHERE prev AND NOT cur),
        'dau': count(*) FILTER (WHERE r1), 'wau': count(*) FILTER (WHERE r7),
        'mau': count(*) FILTER (WHERE r30)}
     FROM per_user LEFT JOIN first USING (u)) AS users,
    (SELECT list({'feature': feature, 'uses': uses, 'users': users, 'before': before,
                  'lost': lost})
     FROM (SELECT feature, sum(uses)::BIGINT AS uses, count(*) FILTER (WHERE cur) AS users,
                  count(*) FILTER (WHERE prev) AS before,
                  count(*) FILTER (WHERE prev AND NOT cur) AS lost
           FROM features GROUP BY feature)) AS features,
    (SELECT list({'hour': hour, 'events': events})
     FROM (SELECT hour(ts) AS hour, count(*) AS events FROM w WHERE cur GROUP BY hour))
        AS by_hour,
    (SELECT list({'day': day, 'users': users})
     FROM (SELECT strftime(ts, '%Y-%m-%d') AS day, count(DISTINCT u) AS users FROM w
           WHERE u IS NOT NULL AND ts >= $daily_from GROUP BY day)) AS daily,
    (SELECT list_transform(list(DISTINCT date_trunc('week', ts)),
                           lambda monday: strftime(monday, '%Y-%m-%d')) FROM w WHERE cur)
        AS weeks,
    (SELECT list({'cohort': cohort, 'week': week, 'users': users})
     FROM (SELECT strftime(date_trunc('week', first.seen), '%Y-%m-%d') AS cohort,
                  weekly.week, count(*) AS users
           FROM first JOIN weekly USING (u) WHERE first.seen < $stop GROUP BY ALL)) AS retained,
    (SELECT list({'cohort': cohort, 'users': users})
     FROM (SELECT strftime(date_trunc('week', seen), '%Y-%m-%d') AS cohort, count(*) AS users
           FROM first WHERE seen < $stop GROUP BY cohort)) AS cohorts
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
# Failed spans in two parts (status error; requests answered with HTTP >= 500),
# so the attributes are read only for the requests that did not fail otherwise:
# reading every span's attributes map costs about 1 s per million spans.
_SPANS_SQL = f"""
SELECT coalesce(nullif(component, ''), 'unknown') AS component,
    {span_is_request(DUCKDB)} AS request, coalesce(status = 'error', false) AS failed,
    false AS http_failed, {_BIN} AS bin, count(*) AS n,
    -- the week of each span, formatted once per week rather than once per span
    list_transform(list(DISTINCT date_trunc('week', "timestamp")),
                   lambda monday: strftime(monday, '%Y-%m-%d')) AS weeks
FROM spans WHERE {_SPAN_RANGE}
GROUP BY ALL
UNION ALL
SELECT component, true, false, true, bin, count(*), []
FROM (SELECT coalesce(nullif(component, ''), 'unknown') AS component, {_BIN} AS bin,
             attributes
      FROM spans
      WHERE {_SPAN_RANGE} AND {span_is_request(DUCKDB)} AND status IS DISTINCT FROM 'error')
WHERE {http_status_code(DUCKDB)} >= 500
GROUP BY ALL
"""


@dataclass
class SpanFigures:
    components: dict[str, dict[str, Any]]
    requests: dict[str, Any]
    weeks: set[str]


def _one(base_path: Path, query: str, params: dict[str, Any]) -> dict[str, Any]:
    found = engine_for(base_path).run(query, params, rows)
    return found[0] if found else {}


def _used(query: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the named parameters ``query`` mentions (DuckDB refuses unused ones)."""
    return {name: value for name, value in params.items() if f"${name}" in query}


def user_figures(base_path: Path, windows: Windows) -> dict[str, Any]:
    """Users, features, events by hour, daily/weekly actives and cohorts (see ``_USERS_SQL``)."""
    return _one(base_path, _USERS_SQL, _used(_USERS_SQL, windows.params()))


def session_figures(base_path: Path, windows: Windows) -> dict[str, Any]:
    return _one(base_path, _SESSIONS_SQL, _used(_SESSIONS_SQL, windows.params()))


def resource_figures(base_path: Path, windows: Windows, *, hourly: bool) -> dict[str, Any]:
    params = {**windows.params(), "point_format": "%Y-%m-%dT%H" if hourly else "%Y-%m-%d"}
    return _one(base_path, _RESOURCES_SQL, _used(_RESOURCES_SQL, params))


def span_figures(base_path: Path, windows: Windows) -> SpanFigures:
    return _span_figures(base_path, _used(_SPANS_SQL, windows.params()))


def spans_between(base_path: Path, start: datetime, stop: datetime) -> SpanFigures:
    """Per component and for the requests: spans, errors and latency sketch in ``[start, stop)``
    (the whole hours overlapping it, as BI's windows)."""
    first, last = _hours(start, stop)
    return _span_figures(base_path, {"cur_from": first, "cur_to": last})


def _span_figures(base_path: Path, params: dict[str, Any]) -> SpanFigures:
    components: dict[str, dict[str, Any]] = {}
    requests: dict[str, Any] = {"count": 0, "errors": 0, "latency": LatencySketch()}
    weeks: set[str] = set()
    for row in engine_for(base_path).run(_SPANS_SQL, params, rows):
        n = row["n"]
        entry = components.get(row["component"])
        if entry is None:
            entry = components[row["component"]] = {
                "count": 0,
                "errors": 0,
                "latency": LatencySketch(),
            }
        targets = (entry, requests) if row["request"] else (entry,)
        for target in targets:
            if row["http_failed"]:
                # Already counted among the spans that did not fail by status.
                target["errors"] += n
                continue
            target["count"] += n
            target["errors"] += n if row["failed"] else 0
            target["latency"].add_count(row["bin"], n)
        weeks.update(row["weeks"])
    return SpanFigures(components, requests, weeks)
