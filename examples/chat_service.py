"""A fake chat backend instrumented with ff-otel, and what it leaves in the store.

Simulated users talk to an in-process chat API for a few seconds. Each layer is
its own component: handlers (``api``, sync and async), SQLite (``database``, via
``ff_otel.span``), parsing (``documents``), retrieval (``search``, a traced
generator) and a fake LLM (``llm``, a traced coroutine that sometimes times out).
Every simulated user also records session, feature and content events. Then
ff-otel is flushed and shut down and the store is read back: health, alerts,
the day's business intelligence (through the spec's facade), the files, spans
by component, slowest operations, errors and metric totals.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import logging
import math
import random
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry import trace

import ff_otel
from ff_otel.alerting import operations

MODEL = "chat-small-v1"
LLM_MEDIAN_MS = 8.0
LLM_TIMEOUT_MS = 60.0
LLM_STALL_RATE = 0.03
LLM_TOKEN_QUOTA = 200_000
SIMULATED_USERS = 5
UPLOAD_TYPES = ("application/pdf", "text/plain", "text/markdown", "application/x-msdownload")
ACCEPTED_TYPES = frozenset(UPLOAD_TYPES[:3])
WORDS = ("invoice", "refund", "billing", "plan", "upgrade", "export", "report", "quota")
SCHEMA = """
CREATE TABLE conversations (id INTEGER PRIMARY KEY, account_key INTEGER NOT NULL);
CREATE TABLE messages (conversation TEXT NOT NULL, role TEXT NOT NULL, text TEXT NOT NULL);
CREATE TABLE documents (id INTEGER PRIMARY KEY, conversation TEXT NOT NULL, text TEXT NOT NULL);
"""

# Instruments can be created before configure(): they record into whatever store is current.
api_requests = ff_otel.counter("api.requests", description="Requests by response status")
messages_sent = ff_otel.counter("messages.sent", description="User messages stored")
documents_uploaded = ff_otel.counter("documents.uploaded", description="Documents accepted")
llm_latency = ff_otel.histogram("llm.latency", unit="ms", description="LLM call latency")
# Standard logging: configure(logging=True) sends these records to the store with the
# trace context of the span they are written in.
log = logging.getLogger("chat.api")
# Its records reach the store through the root logger's bridge; this handler only keeps
# Python's last-resort handler from also printing them over the demo's summary.
log.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class Response:
    status: int
    body: str


class ChatDatabase:
    """Conversations, messages and documents; every statement is a ``db.query`` span."""

    def __init__(self) -> None:
        self._connection = sqlite3.connect(":memory:")
        self._connection.executescript(SCHEMA)

    def execute(self, table: str, sql: str, params: Sequence[object]) -> list[Any]:
        """Rows of a SELECT, or ``[new row id]`` of an INSERT."""
        operation = sql.split(maxsplit=1)[0]
        # The SQL has placeholders only, so its text is safe to keep; the parameters are not.
        attributes = {"db.operation.name": operation, "db.query.text": sql}
        with ff_otel.span("db.query", component="database", table=table, attributes=attributes):
            cursor = self._connection.execute(sql, params)
            return cursor.fetchall() if operation == "SELECT" else [cursor.lastrowid]

    def create_conversation(self, account_key: int) -> str:
        sql = "INSERT INTO conversations (account_key) VALUES (?)"
        return f"conv-{self.execute('conversations', sql, (account_key,))[0]:05d}"

    def conversations_of(self, account_key: int) -> list[str]:
        sql = "SELECT id FROM conversations WHERE account_key = ?"
        return [f"conv-{row[0]:05d}" for row in self.execute("conversations", sql, (account_key,))]

    def add_message(self, conversation_id: str, role: str, text: str) -> None:
        sql = "INSERT INTO messages VALUES (?, ?, ?)"
        self.execute("messages", sql, (conversation_id, role, text))

    def add_document(self, conversation_id: str, text: str) -> str:
        sql = "INSERT INTO documents (conversation, text) VALUES (?, ?)"
        return f"doc-{self.execute('documents', sql, (conversation_id, text))[0]:05d}"

    def documents_of(self, conversation_id: str) -> list[tuple[int, str]]:
        sql = "SELECT id, text FROM documents WHERE conversation = ?"
        return self.execute("documents", sql, (conversation_id,))


llm_tokens_used = 0


def llm_quota_check() -> tuple[str, str]:
    """Health check: how much of the (fake) model's token quota is spent."""
    share = llm_tokens_used / LLM_TOKEN_QUOTA
    status = "healthy" if share < 0.8 else "degraded" if share < 1 else "unhealthy"
    return status, f"{llm_tokens_used:,} of {LLM_TOKEN_QUOTA:,} tokens used ({share:.0%})"


@ff_otel.instrument("llm.call", component="llm", attributes={"model": MODEL})
async def call_llm(prompt: str, rng: random.Random) -> str:
    """A fake model with long-tailed latency that now and then never answers."""
    global llm_tokens_used
    llm_tokens_used += 40 * len(prompt.split())
    started = time.perf_counter()
    delay_ms = rng.lognormvariate(math.log(LLM_MEDIAN_MS), 0.6)
    # A stalled call and a very slow one look the same to the caller: no answer in time.
    timed_out = rng.random() < LLM_STALL_RATE or delay_ms >= LLM_TIMEOUT_MS
    await asyncio.sleep((LLM_TIMEOUT_MS if timed_out else delay_ms) / 1000)
    attributes = {"model": MODEL, "outcome": "timeout" if timed_out else "ok"}
    llm_latency.record((time.perf_counter() - started) * 1000, attributes)
    if timed_out:
        raise TimeoutError(f"{MODEL} gave no answer within {LLM_TIMEOUT_MS:.0f} ms")
    return f"Here is what I found about {prompt.split()[-1]}."


@ff_otel.instrument("search.documents", component="search")
def search_documents(
    db: ChatDatabase, conversation_id: str, query: str
) -> Iterator[tuple[float, str]]:
    """Yield ``(score, document id)`` for each document sharing words with the query."""
    wanted = set(query.split())
    for document_id, text in db.documents_of(conversation_id):
        if overlap := len(wanted & set(text.split())):
            yield overlap / len(wanted), f"doc-{document_id:05d}"


@ff_otel.instrument("document.parse", component="documents")
def parse_document(content_type: str, body: bytes) -> str:
    if content_type not in ACCEPTED_TYPES:
        raise ValueError(f"unsupported document type {content_type!r}")
    return body.decode("utf-8", errors="replace")


def respond(status: int, body: str) -> Response:
    span = trace.get_current_span()
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        # HTTP semantic conventions: a server's 5xx fails its request span; a
        # 4xx (the 415 for a bad upload) is the client's error and does not.
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"answered {status}"))
    api_requests.add(1, {"http.response.status_code": status})
    if status >= 400:
        log.warning("answered %d: %s", status, body)
    else:
        log.info("answered %d", status)
    return Response(status, body)


class ChatAPI:
    """The request handlers. The account key reaches SQL only, never a span or a metric."""

    def __init__(self, db: ChatDatabase, seed: int) -> None:
        self.db = db
        # The model's own RNG, so its latencies repeat from run to run like the users' choices.
        self.llm_rng = random.Random(f"{seed}:llm")

    @ff_otel.instrument(component="api")
    def handle_start_conversation(self, account_key: int) -> Response:
        return respond(201, self.db.create_conversation(account_key))

    @ff_otel.instrument(component="api")
    def handle_list_conversations(self, account_key: int) -> Response:
        return respond(200, ",".join(self.db.conversations_of(account_key)))

    @ff_otel.instrument(component="api")
    async def handle_send_message(self, conversation_id: str, text: str) -> Response:
        trace.get_current_span().set_attribute("conversation.id", conversation_id)
        self.db.add_message(conversation_id, "user", text)
        messages_sent.add(1, {"channel": "web"})
        hits = heapq.nlargest(3, search_documents(self.db, conversation_id, text))
        try:
            reply = await call_llm(" ".join([*(doc for _, doc in hits), text]), self.llm_rng)
        except TimeoutError:
            # The llm.call span already holds the error; the client gets a retryable 504.
            log.exception("the assistant gave no answer for conversation %s", conversation_id)
            return respond(504, "the assistant is busy, please retry")
        self.db.add_message(conversation_id, "assistant", reply)
        return respond(200, reply)

    @ff_otel.instrument(component="api")
    def handle_upload_document(
        self, conversation_id: str, content_type: str, body: bytes
    ) -> Response:
        trace.get_current_span().set_attribute("conversation.id", conversation_id)
        try:
            text = parse_document(content_type, body)
        except ValueError as exc:
            return respond(415, str(exc))
        documents_uploaded.add(1, {"content_type": content_type})
        return respond(201, self.db.add_document(conversation_id, text))


async def simulate_user(api: ChatAPI, account_key: int, seed: int, deadline: float) -> int:
    """Issue requests until the deadline; returns how many were made."""
    # One RNG per user keeps each user's choices the same from run to run,
    # however the event loop interleaves the users.
    rng = random.Random(f"{seed}:user:{account_key}")
    # The raw account id goes to ff-otel as the user id: ff-otel replaces it
    # with a keyed pseudonym before anything is queued or written.
    user, session = f"account-{account_key}", f"web-session-{account_key}-{seed}"
    ff_otel.record_user_event(user, session, "session_start", {"platform": "web"})
    starts = rng.randint(1, 3)
    conversations = [api.handle_start_conversation(account_key).body for _ in range(starts)]
    requests = starts
    while time.monotonic() < deadline:
        conversation_id, roll = rng.choice(conversations), rng.random()
        if roll < 0.70:
            await api.handle_send_message(conversation_id, " ".join(rng.choices(WORDS, k=6)))
            ff_otel.record_user_event(user, session, "content_interaction", {"messages": 1})
        elif roll < 0.85:
            api.handle_list_conversations(account_key)
            ff_otel.record_user_event(user, session, "feature_usage", {"features": ["history"]})
        else:
            body = " ".join(rng.choices(WORDS, k=40)).encode()
            api.handle_upload_document(conversation_id, rng.choice(UPLOAD_TYPES), body)
            ff_otel.record_user_event(user, session, "feature_usage", {"features": ["upload"]})
        requests += 1
        await asyncio.sleep(rng.uniform(0.01, 0.05))  # think time between requests
    ff_otel.record_user_event(user, session, "session_end", {"rating": rng.randint(3, 5)})
    return requests


async def run_load(seconds: float, seed: int) -> int:
    api = ChatAPI(ChatDatabase(), seed)
    deadline = time.monotonic() + seconds
    users = (simulate_user(api, key, seed, deadline) for key in range(1, SIMULATED_USERS + 1))
    return sum(await asyncio.gather(*users))


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, math.ceil(0.95 * len(values)) - 1)]


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print rows under a title, numbers right-aligned, each column as wide as its widest cell."""
    formats = {float: "{:,.1f}", int: "{:,}"}
    cells = [[formats.get(type(value), "{}").format(value) for value in row] for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(headers, *cells, strict=True)]
    right = [bool(rows) and type(rows[0][i]) in formats for i in range(len(headers))]
    print(f"\n{title}")
    for row in [list(headers), ["-" * width for width in widths], *cells]:
        parts = (
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)
        )
        print("  " + "  ".join(parts).rstrip())
    if not rows:
        print("  (none)")


def summarize_files(layout: ff_otel.StoreLayout) -> int:
    """Print each non-empty stream's lines and size; returns the torn lines the reader skipped."""
    rows: list[tuple[str, int, int]] = []
    torn_lines = 0
    for path in layout.all_streams():
        stream = ff_otel.read_records(path)
        lines = sum(1 for _ in stream) + stream.stats.torn_lines
        torn_lines += stream.stats.torn_lines
        if lines:
            rows.append((str(path.relative_to(layout.analytics_path)), lines, path.stat().st_size))
    empty = len(layout.all_streams()) - len(rows)
    title = f"Store {layout.analytics_path} (plus analytics_metadata.json; {empty} streams empty)"
    print_table(title, ("file", "lines", "bytes"), rows)
    return torn_lines


def summarize_spans(path: Path) -> None:
    by_component: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    by_operation: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    for span in ff_otel.read_records(path):
        component, duration = span["component"], span["duration_ms"]
        by_component[component].append(duration)
        errors[component] += span["status"] == "error"
        by_operation[(span["name"], component)].append((duration, span["trace_id"]))
    print_table(
        "Spans by component",
        ("component", "spans", "errors", "mean ms", "p95 ms"),
        [
            (component, len(d), errors[component], sum(d) / len(d), p95(d))
            for component, d in sorted(by_component.items(), key=lambda item: -len(item[1]))
        ],
    )
    operations = [
        (name, component, len(calls), p95([d for d, _ in calls]), *max(calls))
        for (name, component), calls in by_operation.items()
    ]
    print_table(
        "Slowest operations (by p95)",
        ("operation", "component", "calls", "p95 ms", "max ms", "trace of the slowest"),
        sorted(operations, key=lambda row: -row[3])[:5],
    )


def summarize_errors(path: Path) -> None:
    counts: Counter[tuple[str, ...]] = Counter()
    first_message: dict[tuple[str, ...], str] = {}
    for record in ff_otel.read_records(path):
        if record["record_type"] not in ("span_error", "log_error"):
            continue  # interval summaries count errors; they are not errors themselves
        key = tuple(str(record.get(field) or "-") for field in ("component", "name", "error_type"))
        counts[key] += 1
        first_message.setdefault(key, str(record.get("message") or record.get("body") or ""))
    print_table(
        f"Errors ({path.name})",
        ("count", "component", "operation", "error type", "first message"),
        [(count, *key, first_message[key]) for key, count in counts.most_common()],
    )


def summarize_logs(path: Path) -> None:
    """Log records (from ``logging``) by logger and severity, with the latest message of each."""
    counts: Counter[tuple[str, str]] = Counter()
    latest: dict[tuple[str, str], str] = {}
    for record in ff_otel.read_records(path):
        key = (str(record.get("scope") or "-"), str(record.get("severity") or "-"))
        counts[key] += 1
        latest[key] = str(record.get("body") or "")[:60]
    print_table(
        f"Logs ({path.name})",
        ("count", "logger", "severity", "latest message"),
        [(count, *key, latest[key]) for key, count in sorted(counts.items())],
    )


def summarize_metrics(path: Path) -> None:
    # Counters and histograms are stored as deltas, so a series' total is the sum of its points.
    points: Counter[str] = Counter()
    totals: dict[str, float] = defaultdict(float)
    histograms: dict[str, tuple[int, float, str]] = {}  # series -> (count, max, unit)
    for point in ff_otel.read_records(path):
        if point["scope"] == "ff_otel.system":
            continue  # host and process readings: shown under Health
        labels = ",".join(f"{k}={v}" for k, v in sorted(point["attributes"].items()))
        series = f"{point['name']}{{{labels}}}"
        points[series] += 1
        if point["type"] == "histogram":
            totals[series] += point["sum"]
            count, largest, _ = histograms.get(series, (0, 0.0, ""))
            histograms[series] = (count + point["count"], max(largest, point["max"]), point["unit"])
        else:
            totals[series] += point["value"]
    rows = []
    for series in sorted(points):
        if series in histograms:
            count, largest, unit = histograms[series]
            value = f"count {count:,}  mean {totals[series] / count:.1f}  max {largest:.1f} {unit}"
        else:
            value = f"total {totals[series]:,.0f}"
        rows.append((series, points[series], value))
    print_table(f"Metrics ({path.name})", ("series", "points", "value"), rows)


def summarize_health(layout: ff_otel.StoreLayout) -> None:
    """The last interval's health and performance snapshot, as the pipeline wrote them."""
    health = list(ff_otel.read_records(layout.health_checks))[-1:]
    # The final snapshot covers the quiet moment of shutdown; show the last busy one.
    snapshot = [
        s
        for s in ff_otel.read_records(layout.performance)
        if s["error_count"] or s["throughput_requests_per_second"]
    ][-1:]
    if not health or not snapshot:
        print("\nHealth: no interval completed yet")
        return
    checks = health[0]["checks"]
    print_table(
        f"Health: {health[0]['status'].upper()} (last interval, {health[0]['timestamp']})",
        ("component", "status", "detail"),
        [(c["component"], c["status"], c["detail"]) for c in checks],
    )
    s = snapshot[0]
    print(
        f"  last busy interval ({s['collection_period_seconds']} s): "
        f"{s['throughput_requests_per_second']:.1f} req/s, "
        f"p95 {s['response_time_ms']:.1f} ms, success {s['success_rate_percent']:.1f}%, "
        f"CPU {s['cpu_usage_percent']:.0f}%, memory {s['memory_usage_mb']:,.0f} MB, "
        f"data quality {s['data_quality_score']:.2f}, "
        f"reliability {s['system_reliability_score']:.2f}"
    )


def summarize_alerts(layout: ff_otel.StoreLayout) -> None:
    """Every alert of the run in its current state, as every ff-otel command shows it."""
    alerts = list(operations.current_alerts(layout.alerts).values())
    shown = [a for a in alerts if a["state"] != ff_otel.AlertState.CANCELLED]
    print_table(
        f"Alerts ({layout.alerts.name}; {len(alerts) - len(shown)} cancelled, not shown)",
        ("state", "severity", "alert", "why"),
        [(a["state"], a["severity"], a["title"], a["message"]) for a in shown],
    )


def summarize_business(base_path: Path) -> None:
    """The day's business intelligence, computed by the spec's facade in SQL."""
    config = ff_otel.FFConfigurationManagerConfigDTO()
    config.storage.base_path = base_path
    config.analytics.enable_real_time_metrics = False
    manager = ff_otel.FFMetricsCollectionManager(config)
    bi = asyncio.run(manager.generate_business_intelligence("day"))
    features = ", ".join(
        f"{f['feature']} ({f['adoption_rate']:.0f}%)" for f in bi.most_used_features
    )
    print("\nBusiness intelligence (last 24 h, written to business_intelligence/)")
    print(f"  users: {bi.active_users} active, {bi.new_users} new, {bi.returning_users} returning")
    print(f"  features by adoption: {features or 'none'}")
    print(
        f"  average session: {bi.average_session_duration_minutes:.2f} min; "
        f"satisfaction by day: {bi.user_satisfaction_trends}"
    )
    for line in bi.performance_bottlenecks or ["no component over its latency or error threshold"]:
        print(f"  bottleneck: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--base-path", default="./ff_data", help="store root (default ./ff_data)")
    parser.add_argument("--seconds", type=float, default=6.0, help="how long to run (default 6)")
    parser.add_argument("--service-name", default="chat-api", help="OTel service.name")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated traffic")
    args = parser.parse_args()

    handle = ff_otel.configure(
        base_path=args.base_path,
        service_name=args.service_name,
        analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=1),
        logging=True,
    )
    ff_otel.register_health_check("llm-quota", llm_quota_check)
    print(f"{args.service_name}: {SIMULATED_USERS} simulated users for {args.seconds:g} s ...")
    requests = asyncio.run(run_load(args.seconds, args.seed))
    ff_otel.force_flush()
    ff_otel.shutdown()
    print(f"{requests:,} requests served; reading the store back")

    layout = handle.layout
    summarize_health(layout)
    summarize_alerts(layout)
    summarize_business(layout.base_path)
    torn_lines = summarize_files(layout)
    summarize_spans(layout.spans)
    summarize_errors(layout.error_rates)
    summarize_logs(layout.logs)
    summarize_metrics(layout.metrics)
    print(f"\nTorn lines skipped by the reader: {torn_lines}")
    store = layout.base_path
    print(f"\nNext: .venv/bin/ff-otel status --base-path {store}")
    print(f"      .venv/bin/ff-otel dashboard --base-path {store}   (http://127.0.0.1:8050/)")
    print(f"      .venv/bin/ff-otel-instrument --base-path {store} -- python your_app.py")


if __name__ == "__main__":
    main()
