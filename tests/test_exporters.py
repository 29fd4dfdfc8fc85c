"""Metric points and log records land in the store in their documented shapes."""

from __future__ import annotations

import logging
from pathlib import Path

from opentelemetry._logs import SeverityNumber, get_logger

import ff_otel
from ff_otel.exporters import register_event_route
from ff_otel.exporters.logs import _routes

from .conftest import records


def test_counters_are_deltas_and_histograms_keep_their_distribution(
    handle: ff_otel.FFOtel,
) -> None:
    sent = ff_otel.counter("messages.sent", description="messages accepted")
    latency = ff_otel.histogram("llm.latency", unit="ms")
    sent.add(2, {"channel": "web"})
    sent.add(3, {"channel": "web"})
    for value in (12.0, 40.0, 800.0):
        latency.record(value)
    assert ff_otel.force_flush()
    sent.add(1, {"channel": "web"})
    assert ff_otel.force_flush()

    points = records(handle.layout.metrics)
    sums = [p for p in points if p["name"] == "messages.sent"]
    assert [p["value"] for p in sums] == [5, 1]  # each line is its own interval
    assert sums[0]["temporality"] == "delta" and sums[0]["monotonic"] is True
    assert sums[0]["description"] == "messages accepted"
    assert sums[0]["attributes"] == {"channel": "web"}
    assert sums[0]["start_timestamp"] <= sums[0]["timestamp"]

    (hist,) = [p for p in points if p["name"] == "llm.latency"]
    assert hist["type"] == "histogram" and hist["unit"] == "ms"
    assert (hist["count"], hist["sum"], hist["min"], hist["max"]) == (3, 852.0, 12.0, 800.0)
    assert sum(hist["bucket_counts"]) == 3
    assert len(hist["bucket_counts"]) == len(hist["explicit_bounds"]) + 1


def test_up_down_counters_stay_cumulative(handle: ff_otel.FFOtel) -> None:
    queue = ff_otel.up_down_counter("queue.depth")
    queue.add(5)
    assert ff_otel.force_flush()
    queue.add(-2)
    assert ff_otel.force_flush()
    values = [p["value"] for p in records(handle.layout.metrics) if p["name"] == "queue.depth"]
    assert values == [5, 3]


def test_logs_are_stored_and_errors_also_go_to_error_rates(handle: ff_otel.FFOtel) -> None:
    logger = get_logger("app.worker")
    with ff_otel.span("job") as job:
        logger.emit(body="started", severity_number=SeverityNumber.INFO, attributes={"n": 1})
        logger.emit(
            body="disk on fire", severity_number=SeverityNumber.ERROR, severity_text="ERROR"
        )
    assert ff_otel.force_flush()

    logs = records(handle.layout.logs)
    assert [r["body"] for r in logs] == ["started", "disk on fire"]
    assert logs[0]["attributes"] == {"n": 1}
    assert logs[0]["trace_id"] == f"{job.get_span_context().trace_id:032x}"
    assert logs[0]["scope"] == "app.worker"
    (error,) = [r for r in records(handle.layout.error_rates) if r["record_type"] == "log_error"]
    assert error["body"] == "disk on fire"


def test_events_with_a_route_go_where_the_route_says(handle: ff_otel.FFOtel) -> None:
    def to_security(record: dict, layout: ff_otel.StoreLayout) -> list[tuple[Path, dict]]:  # type: ignore[type-arg]
        return [(layout.stream("compliance", "security_events.jsonl"), {"seen": record["body"]})]

    register_event_route("test.security", to_security)
    try:
        get_logger("app").emit(body="login failed", event_name="test.security")
        assert ff_otel.force_flush()
    finally:
        _routes.pop("test.security")
    assert records(handle.layout.stream("compliance", "security_events.jsonl")) == [
        {"seen": "login failed"}
    ]
    assert records(handle.layout.logs) == []


def test_metric_export_failure_is_counted_not_raised(
    handle: ff_otel.FFOtel, caplog: object
) -> None:
    handle.layout.metrics.unlink()
    handle.layout.metrics.mkdir()  # appending to a directory fails
    ff_otel.counter("c").add(1)
    logging.getLogger("ff_otel.exporters").disabled = True
    try:
        ff_otel.force_flush()
    finally:
        logging.getLogger("ff_otel.exporters").disabled = False
    assert handle.export_stats()["metrics"].failures >= 1
