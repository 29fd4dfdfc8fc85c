"""The fleet's month in ClickHouse: BI, the dashboard's data calls and an alert tick over chdb.

10,000,000 spans in ``otel_traces`` and 1,000,000 user events in ``otel_logs``, in the
Collector's clickhouseexporter tables (the DDL copied in ``tests/clickhouse_ddl/``), over the
30 days before the hour now under way. ClickHouse generates them itself (``INSERT ... SELECT
FROM numbers()``, a million rows per statement): six hosts, three services, four components
(an ``api`` server span with ``llm``, ``database`` and ``search`` children per trace), five
routes, HTTP status codes (2% answered 5xx, 3% 4xx), 1.5% of spans failed by status,
durations lognormal around each component's median; user events as ff-otel sends them (an
``ff.user_event`` log record: attributes ``ff.event.type``, ``user.hash``, ``session.id``,
the event data as the body) from 40,000 users, a few of them busy.

Each measurement is the first call in a fresh process (chdb runs one embedded server per
process, on one path, so a fresh process starts with ClickHouse's caches empty), timed
once the session is open; a second call in the same process is reported as warm:

1. the month BI: ``ff_otel.pipeline.bi.generate(..., "month", query_url=...)``, which
   ``generate_business_intelligence`` runs (target <= 1 s);
2. the dashboard's data calls that run over ClickHouse, as ``ff_otel.sql`` statements
   asking what ``ff_otel.dashboard.data`` asks ``ff_otel.query``: the spans per component
   over the month (count, errors, latency-sketch bins), and the 24 h and 7 d charts (per
   hour: requests with failures and sketch bins; spans per component with failures and
   bins) (target <= 1 s each);
3. a fleet-wide alert tick: :meth:`ff_otel.pipeline.fleet.FleetMonitor.tick` on a fresh
   monitor store, the interval just ended (target <= 200 ms).

Baseline, same run, each in a fresh process too: the same aggregate written by hand directly
against ``otel_traces``/``otel_logs`` in chdb, with ClickHouse's own functions.

Run: ``.venv/bin/python benchmarks/clickhouse.py [--spans N] [--events N] [--data DIR]
[--json PATH]``. ``--data`` keeps the generated data set in ``DIR`` (with the hour it ends
at) and reuses it on the next run with the same sizes, instead of a temporary one built
anew (over a minute). Always exits 0: a benchmark on a shared machine is evidence, not a gate.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import environment, isolate_from_environment, write_results

_DDL = Path(__file__).resolve().parent.parent / "tests" / "clickhouse_ddl"
_DATABASE = "otel"
_BLOCK = 1_000_000
_DAYS = 30

# One trace is four spans: an api server span and its llm, database and search children.
_SPANS_SQL = """
INSERT INTO otel.otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName,
    SpanKind, ServiceName, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration,
    StatusCode, StatusMessage)
SELECT
    fromUnixTimestamp64Nano(toInt64({start_ns} + trace * {step_ns} + (number % 4) * 1000000)),
    lower(hex(cityHash64(trace, 'trace'))) || lower(hex(cityHash64(trace, 't2'))) AS trace_id,
    lower(hex(cityHash64(number, 'span'))) AS span_id,
    if(number % 4 = 0, '', lower(hex(cityHash64(trace * 4, 'span')))) AS parent,
    '',
    if(number % 4 = 0, ['POST /chat', 'GET /history', 'POST /search', 'GET /profile',
        'POST /export'][1 + route], ['llm.complete', 'db.query', 'search.lookup'][number % 4]),
    if(number % 4 = 0, 'Server', if(number % 4 = 2, 'Client', 'Internal')),
    ['chat-api', 'search-api', 'billing-api'][1 + cityHash64(trace, 'service') % 3],
    map('host.name', 'web-' || toString(1 + cityHash64(trace, 'host') % 6),
        'deployment.environment', 'prod'),
    'ff_otel', '',
    if(number % 4 = 0,
       map('ff.component', 'api', 'http.route', ['/chat', '/history', '/search', '/profile',
           '/export'][1 + route], 'http.request.method', if(route IN (1, 3), 'GET', 'POST'),
           'http.response.status_code', toString(code)),
       map('ff.component', ['llm', 'database', 'search'][number % 4])),
    toUInt64([120.0, 900.0, 8.0, 35.0][1 + number % 4] * randLogNormal(0, 0.7) * 1e6),
    if(failed, 'Error', 'Unset'),
    if(failed, 'upstream failed', '')
FROM (
    SELECT number, intDiv(number, 4) AS trace, cityHash64(intDiv(number, 4), 'route') % 5 AS route,
        multiIf(cityHash64(trace, 'code') % 100 < 2, 503, cityHash64(trace, 'code') % 100 < 5,
                404, 200) AS code,
        cityHash64(number, 'failed') % 1000 < 15 AS failed
    FROM numbers({first}, {count}))
"""

_EVENTS_SQL = """
INSERT INTO otel.otel_logs (Timestamp, TraceId, SpanId, TraceFlags, SeverityText,
    SeverityNumber, ServiceName, Body, ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl,
    ScopeName, ScopeVersion, ScopeAttributes, LogAttributes)
SELECT
    fromUnixTimestamp64Nano(toInt64({start_ns} + number * {step_ns})), '', '', 0, 'INFO', 9,
    'chat-api',
    multiIf(kind = 'feature_usage', '{{"name":"' || feature || '"}}',
            kind = 'session_start', '{{"platform":"' || ['web', 'ios', 'android'][1 + number % 3]
                || '"}}',
            '{{"features":["' || feature || '"],"content":"answer"}}'),
    '', map('host.name', 'web-' || toString(1 + cityHash64(number, 'host') % 6)), '',
    'ff_otel.analytics', '', map(),
    map('ff.event.type', kind, 'user.hash', lower(hex(cityHash64(user, 'user'))),
        'session.id', 'sess-' || toString(user) || '-' || toString(intDiv(number, 50000)))
FROM (
    SELECT number,
        -- A few busy users, a long tail of occasional ones.
        if(cityHash64(number, 'busy') % 10 < 3, cityHash64(number, 'u') % 400,
           cityHash64(number, 'u') % 40000) AS user,
        ['session_start', 'feature_usage', 'content_interaction', 'feature_usage']
            [1 + cityHash64(number, 'kind') % 4] AS kind,
        ['search', 'chat', 'export', 'share', 'history', 'voice'][1 + cityHash64(number, 'f') % 6]
            AS feature
    FROM numbers({count}))
"""


def _build(path: str, spans: int, events: int, end: datetime) -> None:
    from chdb import session

    writer = session.Session(path)
    writer.query(f"CREATE DATABASE IF NOT EXISTS {_DATABASE}")
    for table in ("otel_traces", "otel_logs", "otel_metrics_sum", "otel_metrics_gauge",
                  "otel_metrics_histogram", "otel_metrics_exponential_histogram",
                  "otel_metrics_summary"):  # fmt: skip
        writer.query((_DDL / f"{table}.sql").read_text())
    start_ns = int((end - timedelta(days=_DAYS)).timestamp()) * 1_000_000_000
    span_ns = _DAYS * 86_400 * 1_000_000_000
    traces = max(1, spans // 4)
    for first in range(0, spans, _BLOCK):
        writer.query(
            _SPANS_SQL.format(
                start_ns=start_ns,
                step_ns=span_ns // traces,
                first=first,
                count=min(_BLOCK, spans - first),
            )
        )
    writer.query(
        _EVENTS_SQL.format(start_ns=start_ns, step_ns=span_ns // max(1, events), count=events)
    )
    writer.query(f"OPTIMIZE TABLE {_DATABASE}.otel_traces FINAL")
    writer.close()


def _dashboard_statements() -> dict[str, str]:
    """What ``dashboard.data`` asks ``ff_otel.query`` for, as the statements it runs."""
    from ff_otel.pipeline.sketch import bin_sql
    from ff_otel.sql.clickhouse import CLICKHOUSE
    from ff_otel.sql.schema import span_failed

    failed = span_failed(CLICKHOUSE)
    bin_ = bin_sql("duration_ms")
    hour = "date_trunc('hour', \"timestamp\")"
    in_range = '"timestamp" >= $start AND "timestamp" < $end'
    errors = f"sum(CASE WHEN {failed} THEN 1 ELSE 0 END)"
    requests = (
        f"SELECT {hour} AS hour, {bin_} AS bin, count(*) AS n, {errors} AS e FROM requests "
        f"WHERE {in_range} GROUP BY hour, bin"
    )
    components = (
        f"SELECT {hour} AS hour, component, {bin_} AS bin, count(*) AS n, {errors} AS e "
        f"FROM spans WHERE {in_range} GROUP BY hour, component, bin"
    )
    return {
        "components": f"SELECT component, {bin_} AS bin, count(*) AS n, {errors} AS e FROM spans "
        f"WHERE {in_range} GROUP BY component, bin",
        "series": f"SELECT 'requests' AS part, hour, '' AS component, bin, n, e FROM ({requests}) "
        f"UNION ALL SELECT 'spans', hour, component, bin, n, e FROM ({components})",
    }


# The same figures written by hand against the exporter's tables.
_HAND_COMPONENTS = """
SELECT SpanAttributes['ff.component'] AS component, count() AS n,
    countIf(StatusCode = 'Error' OR toInt64OrZero(SpanAttributes['http.response.status_code'])
        >= 500) AS e, quantile(0.95)(Duration / 1e6) AS p95
FROM otel.otel_traces WHERE Timestamp >= {start:DateTime64(6)} AND Timestamp < {end:DateTime64(6)}
GROUP BY component
"""
_HAND_SERIES = """
SELECT toStartOfHour(Timestamp) AS hour, SpanAttributes['ff.component'] AS component,
    SpanKind = 'Server' OR ParentSpanId = '' AS request, count() AS n,
    countIf(StatusCode = 'Error' OR toInt64OrZero(SpanAttributes['http.response.status_code'])
        >= 500) AS e, quantiles(0.5, 0.95, 0.99)(Duration / 1e6) AS q
FROM otel.otel_traces WHERE Timestamp >= {start:DateTime64(6)} AND Timestamp < {end:DateTime64(6)}
GROUP BY hour, component, request
"""
_HAND_BI = """
SELECT
    (SELECT uniqExact(LogAttributes['user.hash']) FROM otel.otel_logs
     WHERE LogAttributes['ff.event.type'] != '' AND Timestamp >= {start:DateTime64(6)}) AS active,
    (SELECT groupArray((f, n)) FROM (SELECT JSONExtractString(Body, 'name') AS f, count() AS n
        FROM otel.otel_logs WHERE LogAttributes['ff.event.type'] = 'feature_usage'
        AND Timestamp >= {start:DateTime64(6)} GROUP BY f)) AS features,
    (SELECT groupArray((c, n, e, p)) FROM (
        SELECT SpanAttributes['ff.component'] AS c, count() AS n,
            countIf(StatusCode = 'Error') AS e, quantile(0.95)(Duration / 1e6) AS p
        FROM otel.otel_traces WHERE Timestamp >= {start:DateTime64(6)} GROUP BY c)) AS spans
"""


def _measure(name: str, path: str, end: datetime) -> dict[str, Any]:
    """The first call in this fresh process (cold: ClickHouse's caches empty), then a second.

    Both sides start timing with their chdb session open and their modules imported, as
    a running service or monitor has them: the baseline opens its session, ff-otel its
    backend for the URL (the same session).
    """
    url = f"chdb://{path}?database={_DATABASE}"
    month = {"start": end - timedelta(days=_DAYS), "end": end}
    ranges = {"components": month, "series_24h": {"start": end - timedelta(hours=24), "end": end}}
    ranges["series_7d"] = {"start": end - timedelta(days=7), "end": end}
    now = datetime.now(UTC)
    ranges["alert_tick"] = {"start": now - timedelta(seconds=60), "end": now}  # the interval
    ranges["bi"] = month
    naive = {k: {n: v.replace(tzinfo=None) for n, v in r.items()} for k, r in ranges.items()}
    if name.startswith("hand_"):
        from chdb import session

        reader = session.Session(path)
        what = name[5:]
        statement = {"bi": _HAND_BI, "components": _HAND_COMPONENTS}.get(what, _HAND_SERIES)
        if what == "alert_tick":
            statement = _HAND_COMPONENTS
        params = {k: v.isoformat(sep=" ") for k, v in naive[what].items()}
        return _twice(lambda: reader.query(statement, "JSON", params=params).bytes())
    with tempfile.TemporaryDirectory(prefix="ff-otel-monitor-") as folder:
        return _measure_ff_otel(name, url, end, naive, Path(folder))


def _measure_ff_otel(
    name: str, url: str, end: datetime, naive: dict[str, dict[str, datetime]], store: Path
) -> dict[str, Any]:
    import ff_otel
    from ff_otel.pipeline import bi
    from ff_otel.pipeline.fleet import FleetMonitor
    from ff_otel.sdk.assembly import alert_engine
    from ff_otel.settings.resolution import resolve_settings
    from ff_otel.sql.clickhouse_client import backend_for
    from ff_otel.store.layout import StoreLayout

    interval = {"collection_interval_seconds": 60}
    settings = resolve_settings(
        {"base_path": store, "system_metrics": False, "analytics": interval}
    )
    layout = StoreLayout(store)
    backend_for(url)
    if name == "bi":
        return _twice(
            lambda: bi.generate(layout, settings.analytics, "month", end, query_url=url).dto
        )
    if name == "alert_tick":
        layout.initialize(settings.analytics)
        monitor = FleetMonitor(layout, settings, alert_engine(settings, layout), url)
        try:
            return _twice(lambda: monitor.tick(datetime.now(UTC)))
        finally:
            monitor.close()
    statement = _dashboard_statements()["components" if name == "components" else "series"]
    return _twice(lambda: ff_otel.sql(statement, naive[name], base_path=store, query_url=url))


def _twice(call: Any) -> dict[str, Any]:
    started = time.perf_counter()
    answer = call()
    cold = time.perf_counter() - started
    started = time.perf_counter()
    call()
    warm = time.perf_counter() - started
    size = len(answer) if isinstance(answer, (list, bytes)) else None
    return {"seconds": cold, "warm_seconds": warm, "answer_size": size}


_MEASURED = (
    ("month BI (`bi.generate(..., 'month', query_url=...)`)", "bi", 1.0),
    ("dashboard: spans per component over the month", "components", 1.0),
    ("dashboard: the 24 h chart (per hour: requests, components)", "series_24h", 1.0),
    ("dashboard: the 7 d chart", "series_7d", 1.0),
    ("a fleet-wide alert tick (`FleetMonitor.tick`)", "alert_tick", 0.2),
)


def _child(name: str, path: str, end: datetime) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", name, "--path", path, "--end", end.isoformat()],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _data_set(folder: Path, spans: int, events: int) -> tuple[str, datetime]:
    """The chdb path of the data set in ``folder`` and the hour it ends at: the one kept
    there for these sizes, else one built now."""
    path, stamp = folder / "chdb", folder / "data_set.json"
    wanted = {"spans": spans, "events": events}
    if stamp.exists() and path.exists():
        kept = json.loads(stamp.read_text())
        if {k: kept.get(k) for k in wanted} == wanted:
            print(f"reusing the data set in {folder} (ends {kept['end']})", flush=True)
            return str(path), datetime.fromisoformat(kept["end"])
    shutil.rmtree(path, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, __file__, "--child", "build", "--path", str(path),
         "--end", end.isoformat(), "--spans", str(spans), "--events", str(events)],
        check=True, timeout=3600,
    )  # fmt: skip
    stamp.write_text(json.dumps({**wanted, "end": end.isoformat()}))
    built = time.perf_counter() - started
    print(f"{spans:,} spans and {events:,} user events generated in {built:.1f} s", flush=True)
    return str(path), end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, help="keep the data set here and reuse it")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--end", help=argparse.SUPPRESS)
    args = parser.parse_args()
    isolate_from_environment()
    if args.child:
        end = datetime.fromisoformat(args.end)
        if args.child == "build":
            _build(args.path, args.spans, args.events, end)
            print(json.dumps({}))
        else:
            print(json.dumps(_measure(args.child, args.path, end), default=str))
        return
    began = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if args.data is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ff-otel-ch-")))
        else:
            folder = args.data.resolve()
        path, end = _data_set(folder, args.spans, args.events)
        results = []
        for label, name, target in _MEASURED:
            ours = _child(name, path, end)
            hand = _child(f"hand_{name}", path, end)
            results.append(
                {
                    "measure": label,
                    "name": name,
                    "seconds": round(ours["seconds"], 4),
                    "target_seconds": target,
                    "met": ours["seconds"] <= target,
                    "baseline_seconds": round(hand["seconds"], 4),
                    "ratio": round(ours["seconds"] / hand["seconds"], 2),
                    "warm_seconds": round(ours["warm_seconds"], 4),
                    "baseline_warm_seconds": round(hand["warm_seconds"], 4),
                    "answer_size": ours["answer_size"],
                }
            )
    print(
        f"{'measure':62} {'ff-otel':>9} {'target':>7} {'by hand':>9} {'ratio':>6}  "
        f"{'':7} {'warm':>8} {'by hand':>8}"
    )
    for row in results:
        mark = "met" if row["met"] else "NOT met"
        print(
            f"{row['measure']:62} {row['seconds']:8.3f}s {row['target_seconds']:6.2f}s "
            f"{row['baseline_seconds']:8.3f}s {row['ratio']:5.2f}x  {mark:7} "
            f"{row['warm_seconds']:7.3f}s {row['baseline_warm_seconds']:7.3f}s"
        )
    if args.json:
        write_results(args.json, environment(), time.perf_counter() - began, results)


if __name__ == "__main__":
    main()
