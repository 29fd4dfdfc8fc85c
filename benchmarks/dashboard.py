"""Dashboard pages and data endpoints on a store with 1,000,000 spans and 1,000,000 logs.

The store is the BI benchmark's month (``bi.build_store``: 1,000,000 user events
and 1,000,000 spans over 30 days, up to now) plus what a collector running at
the default 60 s interval leaves beside it over that month: one performance
snapshot, resource reading, health record and interval summary per minute
(43,200 of each), 1,000,000 log records as the logging bridge writes them, an
alert history with a few alerts still firing, an audit trail with hourly
retention runs and the regulatory report, laid out as the collector leaves it: every stream rotated
at the first retention run of each UTC day, the sealed segments of the analytics
streams compacted to Parquet, the live files holding today. Then the real
``ff-otel dashboard`` is
started on it as a subprocess and every page and data endpoint is requested in
turn, round after round, over one keep-alive connection.

Target: each answers in <= 200 ms (median and p95 reported). Baseline, per
endpoint where one exists: the same answer from the exact raw reader
(``read_records`` over the whole stream, ``query`` over the whole month), which
is what the dashboard would pay without its time ranges and the backwards tail
reader.

Run: ``.venv/bin/python benchmarks/dashboard.py [--rounds N] [--store PATH] [--live-mib N]
[--json PATH]`` (``--store`` keeps the built store there and reuses it on the next run;
``--live-mib 64`` first grows the live spans and logs files to the rotation size). It
always exits 0: a benchmark on a shared machine is evidence, not a gate.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

import bi
import ff_otel
from _common import environment, isolate_from_environment, write_results
from ff_otel.compliance import regulatory
from ff_otel.compliance.trails import trail_for
from ff_otel.core import clock
from ff_otel.spec.config import FFAnalyticsConfigDTO
from ff_otel.store.appender import append_bytes, append_records
from ff_otel.store.layout import StoreLayout

TARGET_MS = 200.0
INTERVAL_S = 60
COMPONENTS = ("api", "cache", "db", "llm")
_DONE_MARK = ".dashboard-bench-store-complete"


def _per_minute(spans_per_hour: list[int], start: datetime, minutes: int) -> list[float]:
    """Requests per second in each minute (a trace of four spans is one request)."""
    return [spans_per_hour[m // 60] / 4 / 3600 for m in range(minutes)]


def write_interval_streams(
    layout: StoreLayout,
    spans: int,
    start: datetime,
    end: datetime,
    on_new_day: Callable[[str], object] | None = None,
) -> int:
    """What the collector writes every interval, for every minute of the month.

    Figures follow the month's traffic curve: CPU rises with requests, memory
    creeps up between weekly restarts, the LLM's p95 grows at busy hours.
    """
    rng = random.Random(20260106)
    minutes = int((end - start).total_seconds() // INTERVAL_S)
    rates = _per_minute(bi._per_hour(spans, start), start, minutes)
    peak = max(rates) or 1.0
    writer = bi._Writer(on_new_day)
    stamp = bi._Stamps()
    base = int(start.timestamp()) * 1_000_000
    for minute, rate in enumerate(rates):
        at = stamp(base + (minute + 1) * INTERVAL_S * 1_000_000)
        load = rate / peak
        cpu = round(min(99.0, 8 + 70 * load + rng.gauss(0, 3)), 2)
        memory = round(35 + 25 * ((minute % 10_080) / 10_080) + rng.gauss(0, 0.5), 2)
        llm_p95 = round(1_500 + 900 * load + rng.gauss(0, 60), 1)
        requests = max(0, round(rate * INTERVAL_S + rng.gauss(0, 1)))
        failed = sum(rng.random() < 0.02 for _ in range(requests))
        success = 100.0 if not requests else round(100 * (requests - failed) / requests, 2)
        llm_errors = round(100 * failed / requests, 2) if requests else 0.0
        llm_status = "degraded" if llm_p95 > 2_000 or llm_errors > 5 else "healthy"
        writer.add(
            layout.resource_usage,
            {
                "timestamp": at,
                "host": "bench",
                "interval_seconds": INTERVAL_S,
                "cpu_usage_percent": cpu,
                "memory_usage_mb": round(memory * 160, 1),
                "memory_usage_percent": memory,
                "disk_usage_mb": 41_000.0,
                "disk_usage_percent": 41.0,
                "disk_mountpoint": "/",
                "network_io_mbps": round(0.2 + 3 * load, 3),
                "process": {"pid": 4242, "cpu_usage_percent": round(cpu / 4, 2), "rss_mb": 180.0},
            },
        )
        writer.add(
            layout.health_checks,
            {
                "timestamp": at,
                "host": "bench",
                "status": llm_status,
                "checks": [
                    _check("store", "healthy", "writable; 58.9 GiB free (59.0%)", "builtin"),
                    _check("exporter.spans", "healthy", "exported, 0 failures", "builtin"),
                    _check("exporter.metrics", "healthy", "exported, 0 failures", "builtin"),
                    _check("exporter.logs", "healthy", "exported, 0 failures", "builtin"),
                    _check("api", "healthy", f"{requests} spans, p95 {llm_p95 + 80:.0f} ms"),
                    _check("cache", "healthy", f"{requests} spans, p95 1.2 ms"),
                    _check("db", "healthy", f"{requests} spans, p95 19.8 ms"),
                    _check("llm", llm_status, f"{llm_errors:.1f}% errors, p95 {llm_p95:.0f} ms"),
                ],
            },
        )
        writer.add(
            layout.performance,
            {
                "metric_id": f"sys_{minute}",
                "timestamp": at,
                "collection_period_seconds": INTERVAL_S,
                "response_time_ms": llm_p95 + 80,
                "throughput_requests_per_second": round(rate, 3),
                "concurrent_users": round(40 * load),
                "active_sessions": round(55 * load),
                "cpu_usage_percent": cpu,
                "memory_usage_mb": round(memory * 160, 1),
                "memory_usage_percent": memory,
                "disk_usage_mb": 41_000.0,
                "disk_usage_percent": 41.0,
                "network_io_mbps": round(0.2 + 3 * load, 3),
                "error_count": failed,
                "warning_count": 0,
                "success_rate_percent": success,
                "uptime_seconds": (minute % 10_080) * INTERVAL_S,
                "component_health": {"api": "healthy", "llm": llm_status},
                "component_response_times": {
                    "api": llm_p95 + 80,
                    "cache": 1.2,
                    "db": 19.8,
                    "llm": llm_p95,
                },
                "component_error_rates": {"api": llm_errors, "llm": llm_errors},
                "data_quality_score": 1.0,
                "system_reliability_score": round(success / 100, 4),
            },
        )
        writer.add(
            layout.error_rates,
            {
                "timestamp": at,
                "record_type": "interval_summary",
                "interval_seconds": INTERVAL_S,
                "requests": requests,
                "failed_requests": failed,
                "error_count": failed,
                "warning_count": 0,
                "error_rate_percent": round(100 - success, 2),
                "component_error_rates": {"llm": llm_errors},
            },
        )
    writer.flush()
    _merge_in_time_order(layout.error_rates)
    return minutes


def _merge_in_time_order(path: Path) -> None:
    """``error_rates.jsonl`` as a running service leaves it: failed spans (written with
    the spans) and interval summaries (written each interval) interleaved by time."""
    lines = path.read_bytes().splitlines()
    lines.sort(key=lambda line: orjson.loads(line)["timestamp"])
    path.write_bytes(b"\n".join(lines) + b"\n")


def _check(component: str, status: str, detail: str, source: str = "component") -> dict[str, Any]:
    return {
        "component": component,
        "status": status,
        "detail": detail,
        "duration_ms": None,
        "source": source,
    }


def write_alert_history(layout: StoreLayout, start: datetime, end: datetime) -> int:
    """A month of alert lifecycles (pending, fired, resolved); the last three still fire."""
    rng = random.Random(20260107)
    lines: list[dict[str, Any]] = []
    moment = start + timedelta(hours=2)
    index = 0
    while moment < end - timedelta(minutes=30):
        index += 1
        component = rng.choice(COMPONENTS)
        rule = rng.choice(("component_slow", "component_error_rate"))
        fired = moment + timedelta(minutes=2)
        still_firing = end - moment < timedelta(hours=6)
        alert = {
            "alert_id": f"alert_bench_{index:05d}",
            "severity": "warning" if rule == "component_slow" else "error",
            "alert_type": "performance" if rule == "component_slow" else "error",
            "title": f"{rule} in {component}",
            "message": f"{rule} in {component} over threshold for 120 s",
            "affected_component": component,
            "metric_name": "component_response_time_ms"
            if rule == "component_slow"
            else "component_error_rate_percent",
            "current_value": round(rng.uniform(5, 3_000), 2),
            "threshold_value": 2_000.0 if rule == "component_slow" else 5.0,
            "acknowledged": False,
            "resolved": False,
            "escalated": False,
            "assigned_to": None,
            "recommended_actions": ["Check the component's recent failed spans and dependencies"],
            "rule": rule,
            "labels": {"rule": rule, "component": component},
            "silenced": False,
        }
        lines.append(
            {
                **alert,
                "timestamp": clock.format_iso(moment),
                "state": "pending",
                "event": "pending",
            }
        )
        lines.append(
            {
                **alert,
                "timestamp": clock.format_iso(fired),
                "state": "firing",
                "event": "fired",
                "fired_at": clock.format_iso(fired),
                "fired_at_epoch": fired.timestamp(),
            }
        )
        if not still_firing:
            resolved = fired + timedelta(minutes=rng.randint(3, 90))
            lines.append(
                {
                    **alert,
                    "timestamp": clock.format_iso(resolved),
                    "state": "resolved",
                    "event": "resolved",
                    "resolved": True,
                    "fired_at": clock.format_iso(fired),
                }
            )
        moment += timedelta(hours=rng.uniform(1, 6)) if not still_firing else timedelta(hours=2)
    lines.sort(key=lambda line: line["timestamp"])
    append_records(layout.alerts, lines)
    return index


def write_audit_trail(layout: StoreLayout, hours: int) -> int:
    """The collector's hourly retention runs and a few operator acts, through the real trail."""
    trail = trail_for(layout, "chat-api")
    for hour in range(hours):
        details = {"rotated": 0, "compressed": 0, "deleted": 0, "hour": hour}
        trail.append(
            "system:collector", "retention_run", str(layout.analytics_path), "success", details
        )
        if hour % 24 == 9:
            trail.append(
                "oncall@bench", "alert_acknowledge", f"alert_bench_{hour:05d}", "success", {}
            )
    return hours + hours // 24


_SEVERITIES = (("INFO", 9), ("INFO", 9), ("INFO", 9), ("WARN", 13), ("ERROR", 17), ("DEBUG", 5))


def write_logs(
    layout: StoreLayout,
    count: int,
    start: datetime,
    end: datetime,
    on_new_day: Callable[[str], object] | None = None,
) -> int:
    """``count`` log records spread evenly over the month, in time order, as the logging
    bridge writes them (a logger per component, trace ids, code attributes)."""
    rng = random.Random(20)
    step = (end - start) / max(1, count)
    writer = bi._Writer(on_new_day)
    for index in range(count):
        severity, number = _SEVERITIES[index % len(_SEVERITIES)]
        component = COMPONENTS[index % len(COMPONENTS)]
        writer.add(
            layout.logs,
            {
                "timestamp": clock.format_iso(start + step * index),
                "record_type": "log",
                "severity": severity,
                "severity_number": number,
                "event_name": None,
                "body": f"request {index} answered"
                + (" after a timeout" if severity == "ERROR" else ""),
                "attributes": {"code.function.name": f"handle_{component}", "component": component},
                "trace_id": f"{rng.getrandbits(128):032x}",
                "span_id": f"{rng.getrandbits(64):016x}",
                "service": "bench",
                "scope": f"bench.{component}",
            },
        )
    writer.flush()
    return count


_BOUNDS = [0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0]


def write_metrics(
    layout: StoreLayout,
    start: datetime,
    end: datetime,
    on_new_day: Callable[[str], object] | None = None,
) -> int:
    """The application's and the process's instruments as the flatfile metric exporter
    writes them, once per 60 s interval over the month (delta temporality): a request
    counter by status, a latency histogram by model, a messages counter and the
    process CPU gauge. Returns the points written."""
    rng = random.Random(30)
    writer = bi._Writer(on_new_day)
    written = 0
    at = start
    while at < end:
        stamp, began = clock.format_iso(at), clock.format_iso(at - timedelta(seconds=60))
        common = {"timestamp": stamp, "service": "bench", "scope": "bench"}
        points: list[dict[str, Any]] = [
            {
                **common,
                "name": "api.requests",
                "description": "Requests by response status",
                "unit": "",
                "attributes": {"http.response.status_code": status},
                "start_timestamp": began,
                "type": "sum",
                "temporality": "delta",
                "monotonic": True,
                "value": rng.randint(low, high),
            }
            for status, low, high in ((200, 300, 500), (404, 5, 20), (500, 0, 8))
        ]
        for model in ("chat-small-v1", "chat-large-v2"):
            counts = [0] * (len(_BOUNDS) + 1)
            total = 0.0
            for _ in range(40):
                value = rng.lognormvariate(3.5 if model == "chat-small-v1" else 5.0, 0.6)
                total += value
                counts[sum(value > bound for bound in _BOUNDS)] += 1
            points.append(
                {
                    **common,
                    "name": "llm.latency",
                    "description": "LLM call latency",
                    "unit": "ms",
                    "attributes": {"model": model},
                    "start_timestamp": began,
                    "type": "histogram",
                    "temporality": "delta",
                    "sum": total,
                    "count": 40,
                    "min": 1.0,
                    "max": 4000.0,
                    "bucket_counts": counts,
                    "explicit_bounds": _BOUNDS,
                }
            )
        points.append(
            {
                **common,
                "name": "messages.sent",
                "description": "Chat messages sent",
                "unit": "",
                "attributes": {},
                "start_timestamp": began,
                "type": "sum",
                "temporality": "delta",
                "monotonic": True,
                "value": rng.randint(50, 200),
            }
        )
        points.append(
            {
                **common,
                "scope": "ff_otel.system",
                "name": "process.cpu.utilization",
                "description": "Share of all CPUs used by this process",
                "unit": "1",
                "attributes": {},
                "type": "gauge",
                "value": rng.uniform(0.02, 0.4),
            }
        )
        for point in points:
            writer.add(layout.metrics, point)
        written += len(points)
        at += timedelta(seconds=60)
    writer.flush()
    return written


def build_store(base_path: Path, events: int, spans: int, logs: int) -> dict[str, Any]:
    """The month of the BI benchmark plus the collector's streams and report, laid out
    as a collector leaves it: each stream rotated at the first retention run of every
    day (``run_retention``), the sealed segments compacted to Parquet (spans, logs,
    metrics, user events) or gzipped (the others, after a week); the live files hold
    today's records."""
    end = clock.now().replace(second=0, microsecond=0)
    start = end - timedelta(days=bi.DAYS)
    layout = StoreLayout(base_path)
    layout.initialize(FFAnalyticsConfigDTO())
    analytics = FFAnalyticsConfigDTO()

    def new_day(day: str) -> None:
        ff_otel.run_retention(f"{day}T00:05:00Z", base_path, analytics=analytics)

    built = bi.build_store(base_path, events, spans, end, new_day)
    begin = time.perf_counter()
    built["intervals"] = write_interval_streams(layout, spans, start, end, new_day)
    built["alerts"] = write_alert_history(layout, start, end)
    built["audit_records"] = write_audit_trail(layout, bi.DAYS * 24)
    built["logs"] = write_logs(layout, logs, start, end, new_day)
    built["metric_points"] = write_metrics(layout, start, end, new_day)
    ff_otel.run_retention(None, base_path, analytics=analytics)
    regulatory.write(layout, analytics)
    built["extra_seconds"] = round(time.perf_counter() - begin, 1)
    files = [p for p in layout.analytics_path.rglob("*") if p.is_file()]
    built["bytes"] = sum(p.stat().st_size for p in files)
    built["live_bytes"] = sum(p.stat().st_size for p in layout.all_streams() if p.exists())
    built["parquet_files"] = sum(p.name.endswith(".parquet") for p in files)
    return built


def grow_live(layout: StoreLayout, size: int) -> int:
    """Append copies of the live spans' and logs' own lines (today's) until each file
    holds ``size`` bytes: the most a live file holds before rotation, for the explorers'
    worst case (their answers then hold repeated records). Returns the live bytes."""
    for path in (layout.spans, layout.logs):
        lines = path.read_bytes()
        while lines and path.stat().st_size + len(lines) <= size:
            append_bytes(path, lines)
    return sum(p.stat().st_size for p in layout.all_streams() if p.exists())


# ---------------------------------------------------------------- measuring


def start_dashboard(base_path: Path) -> tuple[subprocess.Popen[str], int]:
    """The installed ``ff-otel dashboard`` on the store, on a free loopback port."""
    command = Path(sys.executable).parent / "ff-otel"
    process = subprocess.Popen(
        [str(command), "dashboard", "--base-path", str(base_path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if found is None:
        process.kill()
        raise SystemExit(f"the dashboard did not start: {line!r} {process.communicate()[1]!r}")
    return process, int(found.group(1))


class Client:
    """One keep-alive HTTP connection to the dashboard, as a browser tab holds."""

    def __init__(self, port: int) -> None:
        self.origin = f"http://127.0.0.1:{port}"
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = ""
        self.csrf = ""

    def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path``; a path with a ``POST `` prefix and a `` `` body posts it as the page
        does (its session cookie, CSRF token and Origin)."""
        if path.startswith("POST "):
            target, _, body = path[5:].partition(" ")
            headers = {
                "Content-Type": "application/json",
                "Origin": self.origin,
                "Cookie": self.cookie,
                "X-CSRF-Token": self.csrf,
            }
            self.connection.request("POST", target, body.encode(), headers)
        else:
            self.connection.request("GET", path, headers={"Cookie": self.cookie})
        response = self.connection.getresponse()
        body_read = response.read()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
            found = re.search(rb'name="csrf-token" content="([^"]+)"', body_read)
            if found:
                self.csrf = found.group(1).decode()
        return response.status, body_read

    def json(self, path: str) -> Any:
        status, body = self.get(path)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
        return json.loads(body)


def endpoints(client: Client) -> dict[str, str]:
    """What the page requests: itself, its files, and every data endpoint (a real trace)."""
    client.get("/")  # the page's session cookie and CSRF token, for the SQL console's POST
    operations = client.json("/api/operations")["operations"]
    call = operations[0]["slowest"][0]
    instrument = client.json("/api/explore/metrics")["instruments"][0]["name"]
    day_ago = (clock.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    console = json.dumps(
        {
            "q": "SELECT date_trunc('hour', \"timestamp\") AS hour, count(*) AS spans, "
            "quantile_cont(duration_ms, 0.95) AS p95_ms FROM spans "
            f"WHERE \"timestamp\" >= TIMESTAMP '{day_ago}' GROUP BY ALL ORDER BY hour"
        }
    )
    return {
        "page /": "/",
        "static app.js": "/static/app.js",
        "static charts.js": "/static/charts.js",
        "static app.css": "/static/app.css",
        "overview": "/api/overview",
        "alerts": "/api/alerts",
        "series 1h": "/api/series?range=1h",
        "series 6h": "/api/series?range=6h",
        "series 24h": "/api/series?range=24h",
        "series 7d": "/api/series?range=7d",
        "slow operations": "/api/operations",
        "trace (span tree)": f"/api/traces/{call['trace_id']}?at={call['timestamp']}",
        "recent errors": "/api/errors",
        "bi week": "/api/bi?period=week",
        "bi month": "/api/bi?period=month",
        "compliance": "/api/compliance",
        "page /traces": "/traces",
        "explore traces": "/api/explore/traces",
        "explore traces error >=100ms": "/api/explore/traces?status=error&min_ms=100",
        "explore logs": "/api/explore/logs",
        "explore logs warn+ text": "/api/explore/logs?severity=warn&q=timeout",
        "explore metrics": "/api/explore/metrics",
        "explore metrics (one instrument)": f"/api/explore/metrics?name={quote(instrument)}",
        "page /logs": "/logs",
        "page /metrics": "/metrics",
        "page /sql": "/sql",
        "sql console (spans per hour, 24 h)": f"POST /api/sql {console}",
    }


def wait_ready(client: Client, paths: dict[str, str]) -> dict[str, float]:
    """Wait for the figures computed off the request path; returns how long each took."""
    took: dict[str, float] = {}
    for name, path in paths.items():
        if not path.startswith(("/api/bi", "/api/compliance")):
            continue
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            document = client.json(path)
            ready = document.get("audit_chain", document)
            if ready.get("status") == "ready":
                took[name] = float(ready["compute_seconds"])
                break
            time.sleep(0.5)
    return took


def first_requests(client: Client, paths: dict[str, str]) -> dict[str, float]:
    """Each endpoint's first answer after start (nothing cached yet), in ms."""
    first = {}
    for name, path in paths.items():
        begin = time.perf_counter()
        client.get(path)
        first[name] = (time.perf_counter() - begin) * 1000
    return first


def timed_rounds(client: Client, paths: dict[str, str], rounds: int) -> dict[str, list[float]]:
    """Milliseconds per request, every endpoint once per round, order flipped each round."""
    names = list(paths)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        for name in names if index % 2 == 0 else names[::-1]:
            begin = time.perf_counter()
            status, _ = client.get(paths[name])
            elapsed = (time.perf_counter() - begin) * 1000
            if status != 200:
                raise SystemExit(f"GET {paths[name]} answered {status}")
            samples[name].append(elapsed)
    return samples


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def baselines(base_path: Path, paths: dict[str, str]) -> dict[str, float]:
    """The same answers from the exact raw reader, in ms (one pass each: they are slow)."""
    layout = StoreLayout(base_path)
    now = clock.now()
    hour_ago = now - timedelta(hours=1)
    trace_id = paths["trace (span tree)"].split("/")[-1].split("?")[0]

    def raw_query(stream: str, days: int, group_by: list[str], aggregates: list[str]) -> None:
        end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        ff_otel.query(
            stream,
            start=end - timedelta(days=days),
            end=end,
            group_by=group_by,
            aggregates=aggregates,
            base_path=base_path,
        )

    def series(days: int) -> None:
        quantiles = ["count", "errors", "p50:duration_ms", "p95:duration_ms", "p99:duration_ms"]
        raw_query("requests", days, ["time:hour"], quantiles)
        raw_query("spans", days, ["time:hour", "component"], ["count", "errors", "p95:duration_ms"])
        raw_query("resource_usage", days, ["time:hour"], ["avg:cpu_usage_percent"])

    work: dict[str, Callable[[], object]] = {
        "overview": lambda: (
            list(ff_otel.read_records(layout.health_checks))[-1],
            list(ff_otel.read_records(layout.performance))[-1],
        ),
        "series 1h": lambda: (
            list(ff_otel.read_records(layout.performance, hour_ago)),
            list(ff_otel.read_records(layout.resource_usage, hour_ago)),
        ),
        "series 24h": lambda: series(1),
        "series 7d": lambda: series(7),
        "slow operations": lambda: list(ff_otel.read_records(layout.spans, hour_ago)),
        "trace (span tree)": lambda: [
            s for s in ff_otel.read_records(layout.spans) if s.get("trace_id") == trace_id
        ],
        "recent errors": lambda: list(ff_otel.read_records(layout.error_rates, hour_ago)),
    }
    measured = {}
    for name, run in work.items():
        begin = time.perf_counter()
        run()
        measured[name] = (time.perf_counter() - begin) * 1000
    return measured


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000, help="user events to store")
    parser.add_argument("--spans", type=int, default=1_000_000, help="spans to store")
    parser.add_argument("--logs", type=int, default=1_000_000, help="log records to store")
    parser.add_argument("--rounds", type=int, default=31, help="timed rounds per endpoint")
    parser.add_argument("--store", type=Path, help="build the store here once and reuse it")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    parser.add_argument(
        "--live-mib",
        type=int,
        default=0,
        metavar="N",
        help="first grow the live spans and logs files to N MiB (64: the rotation size)",
    )
    args = parser.parse_args(argv)
    isolate_from_environment()
    started = time.perf_counter()
    scratch = None
    if args.store is None:
        scratch = tempfile.TemporaryDirectory(prefix="ff-otel-bench-dashboard-")
        store = Path(scratch.name) / "store"
    else:
        store = args.store
    mark = store / _DONE_MARK
    try:
        if mark.exists():
            built = json.loads(mark.read_text())
            age = (time.time() - mark.stat().st_mtime) / 60
            print(f"reusing the store at {store}, built {age:.0f} min ago", end="")
            print(" (its last hour is thinner than a fresh one's)" if age > 10 else "")
        else:
            if store.exists():
                shutil.rmtree(store)
            built = build_store(store, args.events, args.spans, args.logs)
            mark.write_text(json.dumps(built))
        if args.live_mib:
            built["live_bytes"] = grow_live(StoreLayout(store), args.live_mib << 20)
        results = measure(store, args.rounds)
    finally:
        if scratch is not None:
            scratch.cleanup()
    took = time.perf_counter() - started
    report(built, results, took)
    if args.json is not None:
        write_results(args.json, environment(), took, results["rows"])
    return 0


def measure(store: Path, rounds: int) -> dict[str, Any]:
    process, port = start_dashboard(store)
    try:
        client = Client(port)
        paths = endpoints(client)
        first = first_requests(client, paths)
        background = wait_ready(client, paths)
        samples = timed_rounds(client, paths, rounds)
        rss = peak_rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    raw = baselines(store, paths)
    rows = []
    for name, values in samples.items():
        median, p95 = statistics.median(values), _p95(values)
        rows.append(
            {
                "endpoint": name,
                "path": paths[name],
                "median_ms": round(median, 2),
                "p95_ms": round(p95, 2),
                "first_request_ms": round(first[name], 2),
                "raw_reader_ms": round(raw[name], 1) if name in raw else None,
                "computed_off_request_s": background.get(name),
                "target_ms": TARGET_MS,
                "met": p95 <= TARGET_MS,
            }
        )
    return {"rows": rows, "rounds": rounds, "dashboard_peak_rss_mb": rss}


def report(built: dict[str, Any], results: dict[str, Any], took: float) -> None:
    env = environment()
    print(
        f"ff-otel dashboard benchmark: Python {env['python']}, {env['platform']}, "
        f"{env['cpus']} CPUs; took {took:.0f} s"
    )
    print(
        f"store: {built['spans']:,} spans, {built['events']:,} user events, "
        f"{built['intervals']:,} collector intervals, {built['alerts']} alerts over "
        f"{bi.DAYS} days ({built['bytes'] / 2**20:,.0f} MB on disk in "
        f"{built.get('parquet_files', 0)} Parquet segments and JSONL, "
        f"{built.get('live_bytes', 0) / 2**20:,.0f} MB of it live JSONL); "
        f"{results['rounds']} rounds over one keep-alive connection"
    )
    header = ("endpoint", "median", "p95", "first", "raw reader", "target", "met")
    lines = [header]
    for row in results["rows"]:
        raw = row["raw_reader_ms"]
        off = row["computed_off_request_s"]
        lines.append(
            (
                row["endpoint"],
                f"{row['median_ms']:.1f} ms",
                f"{row['p95_ms']:.1f} ms",
                f"{row['first_request_ms']:.1f} ms",
                f"{raw:,.0f} ms"
                if raw is not None
                else (f"({off:.2f} s off-request)" if off else "-"),
                f"<= {TARGET_MS:g} ms",
                "yes" if row["met"] else "NO",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for index, line in enumerate(lines):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
    missed = [row["endpoint"] for row in results["rows"] if not row["met"]]
    print(f"\ntarget met by {len(results['rows']) - len(missed)} of {len(results['rows'])}", end="")
    print(f"; missed: {', '.join(missed)}" if missed else "")
    rss = results["dashboard_peak_rss_mb"]
    if rss is not None:
        print(f"dashboard process peak RSS: {rss:.0f} MB")
    print(
        "first: the first request after start; raw reader: the "
        "same answer from read_records / query over the range, one pass; off-request: "
        "BI and audit verification are computed by a worker thread and served from its "
        "latest result"
    )


if __name__ == "__main__":
    sys.exit(main())
