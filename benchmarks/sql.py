"""SQL over a month of data: raw JSONL, DuckDB's own reading of it, compaction, Parquet.

The store is the BI benchmark's month (``bi.build_store``: 1,000,000 user
events and 1,000,000 spans over 30 days, with their sessions and feature
uses). Each measurement runs in a fresh child process (cold: nothing cached,
its own peak RSS), with the engine's default settings (2 threads, 256 MB):

1. the month's aggregates (active users, events by type and day, sessions,
   top features, usage by hour, span p50/p95 and error rate per component,
   requests per day) through ``ff_otel.sql`` over the raw JSONL;
   baseline: DuckDB reading the very same JSONL files itself
   (``read_json_auto``, types detected) with the same queries, same threads:
   target <= 5 s, aim <= 1.5x the baseline;
2. one aggregate over the 1,000,000 spans (count, p95, errors per component);
3. compaction of the rotated segments on one thread (target >= 500,000
   records/s) and the size of the Parquet against the JSONL (target <= 1/10);
4. 1 and 2 again over the compacted store (targets <= 1 s and <= 0.5 s),
   peak RSS of each query process (target <= 300 MB);
5. ``generate_business_intelligence("month")`` (``bi.measure_bi``: a cold
   call in a fresh process, which computes in SQL over the views) over the raw
   JSONL (target <= 5 s) and over the compacted store (target <= 1 s);
6. what the hourly rollups used to answer, now SQL over the views, each call
   timed in one fresh process, over the raw JSONL (each <= 5 s) and the
   compacted store (each <= 1 s): ``ff_otel.query`` (the month's spans per day
   and component with count, errors and p95; the month's events per day with
   distinct users), the month's report (``build_report``) and the dashboard's
   24 h and 7 d charts (``dashboard.data.series``).
7. with ``--busy-spans N`` (10,000,000 for the issue's busy month; about 4 min),
   a second store with N spans and the same events, built as a collector
   leaves it (each stream rotated at its first record of a new UTC day, the
   sealed day compacted then, so at most one day of JSONL is ever on disk):
   the span aggregate, the month's aggregates and the month BI after
   compaction (target <= 5 s each), against DuckDB's own ``read_parquet`` of
   the same Parquet files; compacted size against the JSONL it replaced
   (target <= 1/10).

Run: ``.venv/bin/python benchmarks/sql.py [--events N] [--spans N] [--busy-spans N]
[--json PATH]``.
Always exits 0: a benchmark on a shared machine is evidence, not a gate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import bi
import ff_otel
from _common import environment, isolate_from_environment, write_results
from ff_otel.core import clock
from ff_otel.spec.config import FFAnalyticsConfigDTO
from ff_otel.sql.compaction import compact
from ff_otel.store.layout import StoreLayout

MONTH_JSONL_TARGET_S = 5.0
MONTH_RATIO_TARGET = 1.5
MONTH_PARQUET_TARGET_S = 1.0
SPAN_AGGREGATE_TARGET_S = 0.5
COMPACTION_TARGET_RECORDS_S = 500_000.0
SIZE_RATIO_TARGET = 10.0
RSS_TARGET_MB = 300.0
ANSWERS_JSONL_TARGET_S = 5.0
ANSWERS_PARQUET_TARGET_S = 1.0
ANSWER_NAMES = {
    "query_spans": "query: month of spans by day, component",
    "query_events": "query: month of events by day, users",
    "report_month": "month report (build_report)",
    "series_24h": "dashboard 24 h charts",
    "series_7d": "dashboard 7 d charts",
}
BUSY_TARGET_S = 5.0

# The month's aggregates, over the views; {t:NAME} is a view (or, for the
# baseline, DuckDB's own read of the same files).
MONTH_QUERIES = {
    "active_users": "SELECT count(DISTINCT user_hash) FROM {t:events}",
    "events_by_type_and_day": (
        "SELECT event_type, date_trunc('day', timestamp) AS day, count(*) "
        "FROM {t:events} GROUP BY ALL"
    ),
    "sessions": (
        "SELECT count(*), avg(session_duration_seconds), count(DISTINCT user_hash) "
        "FROM {t:sessions}"
    ),
    "top_features": (
        "SELECT feature, count(*) AS n, count(DISTINCT user_hash) FROM {t:feature_usage} "
        "GROUP BY ALL ORDER BY n DESC LIMIT 10"
    ),
    "usage_by_hour": "SELECT hour(timestamp) AS h, count(*) FROM {t:events} GROUP BY ALL",
    # Both quantiles in one call: one state holding the durations, not two
    # (two exact quantiles over 10,000,000 spans need more than 256 MB).
    "spans_by_component": (
        "SELECT component, count(*), quantile_cont(duration_ms, [0.5, 0.95]), "
        "avg((status = 'error')::INT) * 100 FROM {t:spans} GROUP BY ALL"
    ),
    "requests_per_day": (
        "SELECT date_trunc('day', timestamp) AS day, count(*) FROM {t:spans} "
        "WHERE kind = 'server' OR coalesce(parent_span_id, '') = '' GROUP BY ALL"
    ),
}
SPAN_AGGREGATE = (
    "SELECT component, count(*), quantile_cont(duration_ms, 0.95), "
    "count(*) FILTER (status = 'error') FROM {t:spans} GROUP BY ALL"
)
STREAMS = {
    "events": "user_analytics/behavior_patterns",
    "sessions": "user_analytics/session_analytics",
    "feature_usage": "user_analytics/feature_usage",
    "spans": "system_metrics/spans",
}


_CHILD_VIEWS = (
    bi._PEAK_RSS
    + """
import json, re, sys, time
import ff_otel
base, queries = sys.argv[1], json.loads(sys.argv[2])
began = time.perf_counter()
rows = 0
for query in queries:
    rows += len(ff_otel.sql(re.sub(r"\\{t:(\\w+)\\}", r"\\1", query), base_path=base))
print(json.dumps({"seconds": time.perf_counter() - began, "rows": rows,
                  "max_rss_kb": peak_rss_kb()}))
"""
)

_CHILD_REFERENCE = (
    bi._PEAK_RSS
    + """
import glob, json, re, sys, time
import duckdb
base, queries, streams = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
parquet = sys.argv[4] == "parquet"
began = time.perf_counter()
connection = duckdb.connect(config={"threads": 2, "memory_limit": "256MB"})
connection.execute("SET TimeZone = 'UTC'")
def source(match):
    stem = base + "/analytics/" + streams[match.group(1)]
    if parquet:
        listed = ", ".join("'" + f + "'" for f in sorted(glob.glob(stem + ".*.parquet")))
        return f"read_parquet([{listed}], union_by_name=true)"
    files = sorted(glob.glob(stem + ".jsonl") + glob.glob(stem + ".*.jsonl"))
    listed = ", ".join("'" + f + "'" for f in files)
    return f"read_json_auto([{listed}], format='newline_delimited', ignore_errors=true)"
rows = 0
for query in queries:
    rows += len(connection.execute(re.sub(r"\\{t:(\\w+)\\}", source, query)).fetchall())
print(json.dumps({"seconds": time.perf_counter() - began, "rows": rows,
                  "max_rss_kb": peak_rss_kb()}))
"""
)

_CHILD_COMPACT = (
    bi._PEAK_RSS
    + """
import json, sys, time
from ff_otel.sql.compaction import compact
from ff_otel.store.layout import StoreLayout
began = time.perf_counter()
cpu = time.process_time()
summary = compact(StoreLayout(sys.argv[1]), threads=1)
print(json.dumps({"seconds": time.perf_counter() - began, "cpu_seconds": time.process_time() - cpu,
                  "records": summary["records"], "bytes_before": summary["bytes_before"],
                  "bytes_after": summary["bytes_after"], "segments": len(summary["compacted"]),
                  "max_rss_kb": peak_rss_kb()}))
"""
)


_CHILD_ANSWERS = (
    bi._PEAK_RSS
    + """
import json, sys, time
from datetime import timedelta
import ff_otel
from ff_otel.core import clock
from ff_otel.dashboard import data
from ff_otel.dashboard.context import StoreView
from ff_otel.pipeline import reports
from ff_otel.store.layout import StoreLayout
base, end = sys.argv[1], clock.parse_instant(sys.argv[2])
start = end - timedelta(days=30)
layout = StoreLayout(base)
calls = {
    "query_spans": lambda: ff_otel.query(
        "spans", start=start, end=end, group_by=["time:day", "component"],
        aggregates=["count", "errors", "p95:duration_ms"], base_path=base),
    "query_events": lambda: ff_otel.query(
        "events", start=start, end=end, group_by=["time:day"],
        aggregates=["count", "distinct:user_hash"], base_path=base),
    "report_month": lambda: reports.build_report(
        layout, ff_otel.FFAnalyticsConfigDTO(), "month",
        *reports.report_window("month", end - timedelta(microseconds=1))),
    "series_24h": lambda: data.series(StoreView.at(base), "24h"),
    "series_7d": lambda: data.series(StoreView.at(base), "7d"),
}
seconds = {}
for name, call in calls.items():
    began = time.perf_counter()
    assert call()
    seconds[name] = time.perf_counter() - began
print(json.dumps({"seconds": seconds, "max_rss_kb": peak_rss_kb()}))
"""
)


def answers(base: Path, end: str) -> dict[str, Any]:
    """Target 6: query, a report and the dashboard's charts, each call timed."""
    return bi._child(_CHILD_ANSWERS, str(base), end)


def views(base: Path, queries: Sequence[str]) -> dict[str, Any]:
    return bi._child(_CHILD_VIEWS, str(base), json.dumps(list(queries)))


def reference(base: Path, queries: Sequence[str], source: str = "jsonl") -> dict[str, Any]:
    """DuckDB itself over the same files: ``read_json_auto`` over the JSONL, or
    (``source="parquet"``) ``read_parquet`` over the compacted segments only."""
    return bi._child(
        _CHILD_REFERENCE, str(base), json.dumps(list(queries)), json.dumps(STREAMS), source
    )


def build_busy(store: Path, events: int, spans: int, end: datetime) -> dict[str, Any]:
    """The month with ``spans`` spans, rotated daily (``run_retention`` as of each new
    day's first minutes, compression off) and each sealed day compacted at once."""
    layout = StoreLayout(store)
    rotation_only = FFAnalyticsConfigDTO(enable_data_compression=False)
    totals = {"records": 0, "bytes_before": 0, "bytes_after": 0, "seconds": 0.0}

    def new_day(day: str) -> None:
        ff_otel.run_retention(f"{day}T00:05:00Z", store, analytics=rotation_only)
        began = time.perf_counter()
        summary = compact(layout)
        totals["seconds"] += time.perf_counter() - began
        for key in ("records", "bytes_before", "bytes_after"):
            totals[key] += summary[key]

    built = bi.build_store(store, events, spans, end, new_day)
    built["compaction"] = totals
    return built


def busy_rows(store: Path, end: datetime) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """Measurements 6 on the busy store; the table rows and the raw figures."""
    month = list(MONTH_QUERIES.values())
    measured = {
        "spans": views(store, [SPAN_AGGREGATE]),
        "spans_reference": reference(store, [SPAN_AGGREGATE], "parquet"),
        "month": views(store, month),
        "month_reference": reference(store, month, "parquet"),
        "bi": bi.measure_bi(store, end),
    }
    spans, spans_ref = measured["spans"], measured["spans_reference"]
    month_s, month_ref = measured["month"], measured["month_reference"]
    bi_s = measured["bi"]["cold_seconds"]
    return [
        (
            "busy month: one aggregate over the spans, compacted",
            f"{spans['seconds']:.2f} s",
            f"{spans_ref['seconds']:.2f} s",
            f"<= {BUSY_TARGET_S:g} s",
            spans["seconds"] <= BUSY_TARGET_S,
            f"{spans['seconds'] / spans_ref['seconds']:.2f}x, "
            f"RSS {spans['max_rss_kb'] / 1024:.0f} MB",
        ),
        (
            "busy month: the month's aggregates, compacted",
            f"{month_s['seconds']:.2f} s",
            f"{month_ref['seconds']:.2f} s",
            f"<= {BUSY_TARGET_S:g} s",
            month_s["seconds"] <= BUSY_TARGET_S,
            f"{month_s['seconds'] / month_ref['seconds']:.2f}x, "
            f"RSS {month_s['max_rss_kb'] / 1024:.0f} MB",
        ),
        (
            "busy month: month BI, compacted (cold call)",
            f"{bi_s:.2f} s",
            f"{month_ref['seconds']:.2f} s",
            f"<= {BUSY_TARGET_S:g} s",
            bi_s <= BUSY_TARGET_S,
            f"RSS {measured['bi']['max_rss_kb'] / 1024:.0f} MB",
        ),
    ], measured


def seal(base: Path) -> None:
    """Rotate every stream of the month into a sealed segment, as a day's rotation does."""
    layout = StoreLayout(base)
    stamp = clock.now() - timedelta(days=1)
    for path in layout.all_streams():
        if path.exists() and path.stat().st_size:
            path.rename(path.with_name(f"{path.stem}.{stamp.strftime('%Y%m%dT%H%M%S')}.jsonl"))
            path.touch()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000, help="user events to store")
    parser.add_argument("--spans", type=int, default=1_000_000, help="spans to store")
    parser.add_argument(
        "--busy-spans",
        type=int,
        default=0,
        metavar="N",
        help="also measure a month of N spans, rotated and compacted daily (10000000: ~4 min)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    args = parser.parse_args(argv)
    isolate_from_environment()
    end = clock.now().replace(minute=0, second=0, microsecond=0)
    started = time.perf_counter()
    month = list(MONTH_QUERIES.values())
    with tempfile.TemporaryDirectory(prefix="ff-otel-bench-sql-") as scratch:
        store = Path(scratch) / "store"
        built = bi.build_store(store, args.events, args.spans, end)
        raw_reference = reference(store, month)
        raw_month = views(store, month)
        raw_bi = bi.measure_bi(store, end)
        raw_spans = views(store, [SPAN_AGGREGATE])
        ref_spans = reference(store, [SPAN_AGGREGATE])
        raw_answers = answers(store, clock.format_iso(end))
        seal(store)
        compaction = bi._child(_CHILD_COMPACT, str(store))
        parquet_month = views(store, month)
        parquet_spans = views(store, [SPAN_AGGREGATE])
        parquet_bi = bi.measure_bi(store, end)
        parquet_answers = answers(store, clock.format_iso(end))
    busy: dict[str, Any] = {}
    busy_table: list[tuple[Any, ...]] = []
    if args.busy_spans:
        with tempfile.TemporaryDirectory(prefix="ff-otel-bench-sql-busy-") as scratch:
            busy_store = Path(scratch) / "store"
            busy["built"] = build_busy(busy_store, args.events, args.busy_spans, end)
            busy_table, busy["measured"] = busy_rows(busy_store, end)
        packed = busy["built"]["compaction"]
        busy_table.insert(
            0,
            (
                "busy month: compacted size",
                f"{packed['bytes_after'] / 2**20:,.0f} MB",
                f"{packed['bytes_before'] / 2**20:,.0f} MB JSONL",
                f"<= 1/{SIZE_RATIO_TARGET:g}",
                packed["bytes_before"] >= SIZE_RATIO_TARGET * packed["bytes_after"],
                f"1/{packed['bytes_before'] / packed['bytes_after']:.1f}; "
                f"{packed['records']:,} records compacted at "
                f"{packed['records'] / packed['seconds']:,.0f}/s",
            ),
        )
    took = time.perf_counter() - started
    ratio = raw_month["seconds"] / raw_reference["seconds"]
    rate = compaction["records"] / compaction["seconds"]
    shrink = compaction["bytes_before"] / compaction["bytes_after"]
    peak_mb = max(
        r["max_rss_kb"]
        for r in (raw_month, raw_spans, parquet_month, parquet_spans, raw_answers, parquet_answers)
    )
    rows = [
        (
            "month aggregates, raw JSONL (ff_otel.sql)",
            f"{raw_month['seconds']:.2f} s",
            f"{raw_reference['seconds']:.2f} s",
            f"<= {MONTH_JSONL_TARGET_S:g} s, <= {MONTH_RATIO_TARGET}x",
            raw_month["seconds"] <= MONTH_JSONL_TARGET_S and ratio <= MONTH_RATIO_TARGET,
            f"{ratio:.2f}x",
        ),
        (
            "one aggregate over the spans, raw JSONL",
            f"{raw_spans['seconds']:.2f} s",
            f"{ref_spans['seconds']:.2f} s",
            "-",
            True,
            f"{raw_spans['seconds'] / ref_spans['seconds']:.2f}x",
        ),
        (
            "compaction on one thread",
            f"{rate:,.0f} records/s",
            "-",
            f">= {COMPACTION_TARGET_RECORDS_S:,.0f}/s",
            rate >= COMPACTION_TARGET_RECORDS_S,
            f"{compaction['records']:,} records, {compaction['seconds']:.1f} s",
        ),
        (
            "compacted size",
            f"{compaction['bytes_after'] / 2**20:,.1f} MB",
            f"{compaction['bytes_before'] / 2**20:,.0f} MB JSONL",
            f"<= 1/{SIZE_RATIO_TARGET:g}",
            shrink >= SIZE_RATIO_TARGET,
            f"1/{shrink:.1f}",
        ),
        (
            "month aggregates, compacted",
            f"{parquet_month['seconds']:.2f} s",
            f"{raw_reference['seconds']:.2f} s",
            f"<= {MONTH_PARQUET_TARGET_S:g} s",
            parquet_month["seconds"] <= MONTH_PARQUET_TARGET_S,
            f"{parquet_month['seconds'] / raw_reference['seconds']:.2f}x",
        ),
        (
            "one aggregate over the spans, compacted",
            f"{parquet_spans['seconds']:.3f} s",
            f"{ref_spans['seconds']:.2f} s",
            f"<= {SPAN_AGGREGATE_TARGET_S:g} s",
            parquet_spans["seconds"] <= SPAN_AGGREGATE_TARGET_S,
            "",
        ),
        (
            "month BI, raw JSONL (cold call)",
            f"{raw_bi['cold_seconds']:.2f} s",
            f"{raw_reference['seconds']:.2f} s",
            f"<= {bi.COLD_TARGET_S:g} s",
            raw_bi["cold_seconds"] <= bi.COLD_TARGET_S,
            f"{raw_bi['cold_seconds'] / raw_reference['seconds']:.2f}x, "
            f"RSS {raw_bi['max_rss_kb'] / 1024:.0f} MB",
        ),
        (
            "month BI, compacted (cold call)",
            f"{parquet_bi['cold_seconds']:.2f} s",
            f"{raw_reference['seconds']:.2f} s",
            f"<= {bi.CURRENT_TARGET_S:g} s",
            parquet_bi["cold_seconds"] <= bi.CURRENT_TARGET_S,
            f"RSS {parquet_bi['max_rss_kb'] / 1024:.0f} MB",
        ),
        *(
            (
                f"{label}, {kind}",
                f"{found['seconds'][name]:.2f} s",
                f"{raw_reference['seconds']:.2f} s",
                f"<= {target:g} s",
                found["seconds"][name] <= target,
                f"{found['seconds'][name] / raw_reference['seconds']:.2f}x",
            )
            for kind, found, target in (
                ("raw JSONL", raw_answers, ANSWERS_JSONL_TARGET_S),
                ("compacted", parquet_answers, ANSWERS_PARQUET_TARGET_S),
            )
            for name, label in ANSWER_NAMES.items()
        ),
        (
            "peak RSS of a query process",
            f"{peak_mb / 1024:.0f} MB",
            f"{raw_reference['max_rss_kb'] / 1024:.0f} MB",
            f"<= {RSS_TARGET_MB:g} MB",
            peak_mb / 1024 <= RSS_TARGET_MB,
            f"compaction {compaction['max_rss_kb'] / 1024:.0f} MB",
        ),
        *busy_table,
    ]
    print(
        f"ff-otel SQL benchmark: Python {platform.python_version()}, {platform.platform()}, "
        f"{os.cpu_count()} CPUs; took {took:.0f} s"
    )
    print(
        f"store: {built['events']:,} user events and {built['spans']:,} spans over "
        f"{bi.DAYS} days, {built['bytes'] / 2**20:,.0f} MB of JSONL"
    )
    header = ("measurement", "ff-otel", "baseline", "target", "met", "note")
    cells = [(r[0], r[1], r[2], r[3], "yes" if r[4] else "NO", r[5]) for r in rows]
    widths = [max(len(row[i]) for row in (header, *cells)) for i in range(len(header))]
    for line in (header, *cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    print()
    print(
        "baseline: DuckDB reading the same raw JSONL itself (read_json_auto), same queries, "
        "2 threads, 256 MB; busy month: DuckDB's own read_parquet of the same Parquet "
        "segments (today's live JSONL left out)"
    )
    if args.json is not None:
        write_results(
            args.json,
            environment(),
            took,
            [
                {
                    "built": built,
                    "raw_reference": raw_reference,
                    "raw_month": raw_month,
                    "raw_spans": raw_spans,
                    "reference_spans": ref_spans,
                    "compaction": compaction,
                    "parquet_month": parquet_month,
                    "parquet_spans": parquet_spans,
                    "raw_bi": raw_bi,
                    "parquet_bi": parquet_bi,
                    "raw_answers": raw_answers,
                    "parquet_answers": parquet_answers,
                    "busy": busy,
                }
            ],
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
