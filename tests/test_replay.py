"""``ff-otel replay``: stored spans reach a real collector (rotel) as they were recorded.

Spans are recorded by ff-otel itself into a temporary store, replayed by the
installed ``ff-otel`` command in a subprocess, and compared field by field with
what the collector printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace

import ff_otel
from ff_otel.core import clock
from ff_otel.exporters.replay import replay_spans

from .conftest import Collector, free_port, records

FF_OTEL = str(Path(sys.executable).with_name("ff-otel"))
SPANS = Path("analytics", "system_metrics", "spans.jsonl")


def ff_otel_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``ff-otel`` command, run as a user runs it."""
    return subprocess.run(
        [FF_OTEL, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def _record_shop_spans(base_path: Path, service: str) -> None:
    """A server span with an event and list attributes, and a failed client child."""
    ff_otel.configure(base_path=base_path, service_name=service, system_metrics=False)
    tracer = trace.get_tracer("shop.checkout")
    with tracer.start_as_current_span(
        "POST /checkout",
        kind=trace.SpanKind.SERVER,
        attributes={"http.route": "/checkout", "items": 3, "ratio": 0.5, "paid": True},
    ) as span:
        span.set_attribute("tags", ["gift", "express"])
        span.add_event("cart.loaded", {"lines": 2})
        try:
            with tracer.start_as_current_span("payment", kind=trace.SpanKind.CLIENT):
                raise ConnectionError("gateway down")
        except ConnectionError:
            pass
    with ff_otel.span("stock.reserve", component="inventory"):
        pass
    ff_otel.shutdown()


def _rendered(value: Any) -> str:
    """An attribute value as rotel's debug exporter prints it."""
    if isinstance(value, bool):
        return f"Bool({str(value).lower()})"
    if isinstance(value, int):
        return f"Int({value})"
    if isinstance(value, float):
        return f"Double({value})"
    if isinstance(value, list):
        return f"Slice({', '.join(_rendered(v) for v in value)})"
    return f"Str({value})"


def received_spans(output: str) -> dict[str, dict[str, Any]]:
    """The spans the collector printed, by span id, with their resource's service and scope."""
    spans: dict[str, dict[str, Any]] = {}
    service = scope = None
    current: dict[str, Any] | None = None
    for line in output.splitlines():
        stripped = line.strip()
        if line.startswith(("ResourceSpans #", "ScopeSpans #")):
            current = None
        elif current is None and stripped.startswith("-> service.name: Str("):
            service = stripped.removeprefix("-> service.name: Str(").removesuffix(")")
        elif line.startswith("InstrumentationScope "):
            scope = line.removeprefix("InstrumentationScope ").strip()
        elif line.startswith("Span #"):
            current = {"service": service, "scope": scope, "lines": []}
        elif current is not None:
            current["lines"].append(stripped)
            label, _, value = stripped.partition(":")
            current.setdefault(label.strip(), value.strip())
            if label.strip() == "ID":
                spans[value.strip()] = current
    return spans


def assert_delivered_as_stored(record: dict[str, Any], received: dict[str, Any]) -> None:
    start = _ns(record["timestamp"])
    assert received["Trace ID"] == record["trace_id"]
    assert received["Parent ID"] == (record["parent_span_id"] or "")
    assert received["Name"] == record["name"]
    assert received["Kind"] == f"SPAN_KIND_{record['kind'].upper()}"
    assert int(received["Start time"]) == start
    assert int(received["End time"]) == start + round(record["duration_ms"] * 1_000_000)
    if record["status"] == "error":
        assert received["Status code"] == "STATUS_CODE_ERROR"
        assert received["Status message"] == record["status_message"]
    else:
        assert received["Status code"] == "STATUS_CODE_UNSET"
    assert received["service"] == record["service"]
    assert received["scope"] == record["scope"]
    lines = received["lines"]
    for key, value in record["attributes"].items():
        assert f"-> {key}: {_rendered(value)}" in lines
    for event in record["events"]:
        assert f"-> Name: {event['name']}" in lines
        assert f"-> Timestamp: {_ns(event['timestamp'])}" in lines
        for key, value in event["attributes"].items():
            if "\n" not in str(value):
                assert f"-> {key}: {_rendered(value)}" in lines


def _ns(iso: str) -> int:
    return (
        (clock.parse_instant(iso) - clock.parse_instant("1970-01-01T00:00:00Z"))
        // (timedelta(microseconds=1))
        * 1000
    )


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_replayed_spans_arrive_as_they_were_recorded(
    collector: Collector, base_path: Path, protocol: str
) -> None:
    _record_shop_spans(base_path, "shop-a")
    _record_shop_spans(base_path, "shop-b")
    stored = records(base_path / SPANS)
    assert len(stored) == 6

    endpoint = collector.grpc_endpoint if protocol == "grpc" else collector.http_endpoint
    result = ff_otel_cli(
        "replay", "--to", endpoint, "--since", "1h", "--protocol", protocol,
        "--base-path", str(base_path),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "sent 6 span(s)" in result.stdout
    collector.wait_for(*(record["span_id"] for record in stored))
    received = received_spans(collector.output.read_text())
    for record in stored:
        assert_delivered_as_stored(record, received[record["span_id"]])


def test_rotated_and_compressed_segments_are_replayed_too(
    collector: Collector, base_path: Path
) -> None:
    now = clock.now()
    _record_shop_spans(base_path, "shop")
    handle = ff_otel.configure(base_path=base_path, system_metrics=False)
    ff_otel.run_retention(now=now + timedelta(days=1))  # rotate the first day's file...
    ff_otel.run_retention(now=now + timedelta(days=9))  # ...and compact it (Parquet) a week on
    ff_otel.shutdown()
    _record_shop_spans(base_path, "shop")
    ff_otel.configure(base_path=base_path, system_metrics=False)
    ff_otel.run_retention(now=now + timedelta(days=2))  # a plain rotated segment
    ff_otel.shutdown()
    _record_shop_spans(base_path, "shop")  # and the active file
    segments = sorted(p.name for p in handle.layout.spans.parent.glob("spans.*"))
    assert [name.rsplit(".", 1)[-1] for name in segments] == ["parquet", "jsonl", "jsonl"]
    stored = records(handle.layout.spans)
    assert len(stored) == 9

    result = ff_otel_cli(
        "replay", "--to", collector.grpc_endpoint, "--since", "1d", "--json",
        "--base-path", str(base_path),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["sent"], report["unsent"], report["segments"]) == (9, 0, 3)
    collector.wait_for(*(record["span_id"] for record in stored))


def test_since_and_until_select_spans_by_start_time(collector: Collector, base_path: Path) -> None:
    _record_shop_spans(base_path, "early")
    since = clock.now_iso()
    _record_shop_spans(base_path, "middle")
    until = clock.now_iso()
    _record_shop_spans(base_path, "late")
    stored = records(base_path / SPANS)
    middle = {r["span_id"] for r in stored if r["service"] == "middle"}

    result = ff_otel_cli(
        "replay", "--to", collector.grpc_endpoint, "--since", since, "--until", until,
        "--json", "--base-path", str(base_path),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sent"] == len(middle) == 3
    collector.wait_for(*middle)
    assert set(received_spans(collector.output.read_text())) == middle


def test_an_unreachable_collector_is_exit_1_with_what_was_not_sent(base_path: Path) -> None:
    _record_shop_spans(base_path, "shop")
    endpoint = f"http://127.0.0.1:{free_port()}"

    result = ff_otel_cli(
        "replay", "--to", endpoint, "--since", "1h", "--json", "--base-path", str(base_path),
        env={"OTEL_EXPORTER_OTLP_TIMEOUT": "1"},
    )  # fmt: skip

    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert (report["ok"], report["sent"], report["unsent"]) == (False, 0, 3)
    assert "UNAVAILABLE" in report["error"]
    [line] = result.stderr.splitlines()
    assert line.startswith(f"ff-otel: error: the collector at {endpoint} did not accept")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "'yesterday' is neither an ISO-8601 time"),
        ([], "--since is required"),
        (["--since", "1h", "--until", "2h"], "bad time range"),
        (["--since", "1h", "--to", "collector:4317"], "is not a collector URL"),
        (["--since", "1h", "--protocol", "thrift"], "'thrift' is not one of"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(base_path: Path, args: list[str], message: str) -> None:
    _record_shop_spans(base_path, "shop")
    if "--to" not in args:
        args = [*args, "--to", "http://127.0.0.1:4317"]

    result = ff_otel_cli("replay", *args, "--base-path", str(base_path))

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("ff-otel: error:") and message in line
    assert result.stdout == ""


def test_a_missing_store_is_exit_2(tmp_path: Path) -> None:
    result = ff_otel_cli(
        "replay", "--to", "http://127.0.0.1:4317", "--since", "1h",
        "--base-path", str(tmp_path / "nowhere"),
    )  # fmt: skip

    assert result.returncode == 2
    assert result.stderr.startswith("ff-otel: error: no ff-otel store at")


def test_an_empty_range_sends_nothing_and_succeeds(collector: Collector, base_path: Path) -> None:
    _record_shop_spans(base_path, "shop")

    result = ff_otel_cli(
        "replay", "--to", collector.grpc_endpoint, "--since", "2001-01-01", "--until",
        "2001-01-02T00:00Z", "--base-path", str(base_path),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "no stored spans started from 2001-01-01T00:00:00.000000Z" in result.stdout


def test_torn_and_malformed_lines_are_counted_not_sent(
    collector: Collector, base_path: Path
) -> None:
    _record_shop_spans(base_path, "shop")
    spans = base_path / SPANS
    stamp = clock.now_iso()
    with spans.open("ab") as file:  # what a writer killed mid-line and a foreign line leave
        file.write(b'{"timestamp": "' + stamp.encode() + b'", "name": "no ids"}\n')
        file.write(b'{"timestamp": "' + stamp.encode() + b'", "trace_id": "ab')

    result = ff_otel_cli(
        "replay", "--to", collector.grpc_endpoint, "--since", "1h", "--json",
        "--base-path", str(base_path),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["sent"], report["malformed"], report["torn_lines"]) == (3, 1, 1)


def test_the_library_call_batches_and_reports_progress(
    collector: Collector, base_path: Path
) -> None:
    for service in ("a", "b", "c"):
        _record_shop_spans(base_path, service)
    progress: list[int] = []

    report = replay_spans(
        collector.grpc_endpoint,
        since=clock.now() - timedelta(hours=1),
        base_path=base_path,
        batch_size=4,
        progress=progress.append,
    )

    assert report.ok and report.error is None
    assert (report.sent, report.batches) == (9, 3)
    assert progress == [4, 4, 1]
    collector.wait_for(*(r["span_id"] for r in records(base_path / SPANS)))


def received_span_ids(output: str) -> list[str]:
    """Every span id the collector printed, once per time it received the span."""
    ids = []
    for line in output.splitlines():
        label, _, value = line.strip().partition(":")
        if label.strip() == "ID":
            ids.append(value.strip())
    return ids


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def test_after_a_flapping_collector_a_gaps_replay_leaves_every_span_there_exactly_once(
    collector: Collector, base_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2")
    handle = ff_otel.configure(
        base_path=base_path,
        service_name="flapping",
        otlp_endpoint=collector.grpc_endpoint,
        system_metrics=False,
    )
    circuit = handle.collector
    assert circuit is not None
    tracer = trace.get_tracer("flap")

    def burst(name: str, count: int) -> None:
        for _ in range(count):
            with tracer.start_as_current_span(name):
                pass

    burst("up", 400)
    _wait_until(
        lambda: len(received_span_ids(collector.output.read_text())) >= 400,
        "the first spans reached the collector",
    )
    collector.stop()
    while circuit.stats.failed_batches == 0:  # recording goes on while the exporter finds out
        burst("down", 50)
        time.sleep(0.1)
    burst("down", 400)
    collector.start()
    while circuit.down:
        burst("back", 20)
        time.sleep(0.1)
    burst("back", 400)
    ff_otel.shutdown()
    stored = [r["span_id"] for r in records(base_path / SPANS)]
    live = received_span_ids(collector.output.read_text())
    assert len(set(live)) < len(stored)  # the collector really missed some

    replayed = ff_otel_cli(
        "replay", "--to", collector.grpc_endpoint, "--gaps", "--json",
        "--base-path", str(base_path),
    )  # fmt: skip

    assert replayed.returncode == 0, replayed.stderr
    report = json.loads(replayed.stdout)
    assert report["sent"] == len(stored) - len(set(live))
    assert report["already_accepted"] > 0
    _wait_until(
        lambda: len(received_span_ids(collector.output.read_text())) >= len(stored),
        "the replayed spans reached the collector",
    )
    received = Counter(received_span_ids(collector.output.read_text()))
    assert set(received) == set(stored)
    assert sum(received.values()) == len(stored)  # every span exactly once

    again = ff_otel_cli(
        "replay", "--to", collector.grpc_endpoint, "--gaps", "--json",
        "--base-path", str(base_path),
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["sent"] == 0
    since_start = ff_otel_cli(
        "replay", "--to", collector.grpc_endpoint, "--since", "1h", "--json",
        "--base-path", str(base_path),
    )  # fmt: skip
    assert json.loads(since_start.stdout)["sent"] == 0  # a plain range replay skips them too

    forced = ff_otel_cli(
        "replay", "--to", collector.grpc_endpoint, "--since", "1h", "--force", "--json",
        "--base-path", str(base_path),
    )  # fmt: skip
    assert json.loads(forced.stdout)["sent"] == len(stored)


def test_a_collector_that_accepted_every_batch_is_sent_nothing_and_the_ledger_holds_only_ids(
    collector: Collector, base_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # README, the delivery ledger: "--gaps ... when it accepted every batch,
    # nothing is sent"; the ledger "holds ids and times only, no attribute
    # values"; "a line torn by a crash is skipped"; "The endpoint is compared as
    # written (a trailing / aside)".
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
    ff_otel.configure(
        base_path=base_path,
        service_name="steady",
        otlp_endpoint=collector.grpc_endpoint,
        system_metrics=False,
    )
    tracer = trace.get_tracer("steady")
    for n in range(30):
        with tracer.start_as_current_span(f"steady-{n}", attributes={"note": "attr-value-77"}):
            pass
    ff_otel.shutdown()
    stored = {r["span_id"] for r in records(base_path / SPANS)}
    _wait_until(
        lambda: stored <= set(received_span_ids(collector.output.read_text())),
        "every span reached the collector live",
    )

    ledger = base_path / "analytics" / "system_metrics" / "otlp_deliveries.jsonl"
    lines = records(ledger)
    assert lines and all(line["outcome"] == "accepted" for line in lines)
    assert {span_id for line in lines for span_id in line["span_ids"]} == stored
    assert b"attr-value-77" not in ledger.read_bytes() and b"steady-" not in ledger.read_bytes()
    with ledger.open("ab") as torn:  # what a writer killed mid-line leaves
        torn.write(b'{"timestamp": "2026-01-01T00:00:00.000000Z", "endpoint": "http')

    for endpoint in (collector.grpc_endpoint, collector.grpc_endpoint + "/"):
        result = ff_otel_cli(
            "replay", "--to", endpoint, "--gaps", "--json", "--base-path", str(base_path)
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["sent"] == 0, result.stdout
