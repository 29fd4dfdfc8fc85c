"""Queries over the streams in SQL, and generated reports."""

from __future__ import annotations

import contextlib
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from opentelemetry import trace

import ff_otel

from .conftest import records

HOUR = datetime(2026, 5, 4, 10, tzinfo=UTC)


@ff_otel.instrument(component="api")
def serve(fail: bool) -> None:
    with ff_otel.span("db.query", component="database"):
        pass
    if fail:
        raise RuntimeError("boom")


@pytest.fixture
def busy(handle: ff_otel.FFOtel) -> ff_otel.FFOtel:
    for i in range(40):
        with contextlib.suppress(RuntimeError):
            serve(fail=i % 8 == 0)
    for user in range(6):
        at = HOUR + timedelta(minutes=user)
        ff_otel.record_user_event(f"q{user}", f"qs{user}", "session_start", {}, timestamp=at)
        ff_otel.record_user_event(
            f"q{user}", f"qs{user}", "feature_usage", {"features": ["search"]}, timestamp=at
        )
    assert ff_otel.force_flush()
    assert ff_otel.force_flush()
    return handle


def test_raw_queries_filter_group_and_aggregate(busy: ff_otel.FFOtel) -> None:
    rows = ff_otel.query(
        "spans",
        where={"component": "api"},
        aggregates=["count", "errors", "min:duration_ms", "max:duration_ms", "avg:duration_ms"],
    )
    (row,) = rows
    assert (row["count"], row["errors"]) == (40, 5)
    assert row["min:duration_ms"] <= row["avg:duration_ms"] <= row["max:duration_ms"]
    by_status = ff_otel.query("spans", group_by=["component", "status"], aggregates=["count"])
    assert {(r["component"], r["status"], r["count"]) for r in by_status} == {
        ("api", "ok", 35),
        ("api", "error", 5),
        ("database", "ok", 40),
    }


def test_rollups_and_raw_records_give_the_same_answers(busy: ff_otel.FFOtel) -> None:
    spans = records(busy.layout.spans)
    first = min(s["timestamp"] for s in spans)
    start = datetime.fromisoformat(first[:13] + ":00:00+00:00")
    end = start + timedelta(hours=2)
    specs = ["count", "errors", "p95:duration_ms"]
    from_rollups = ff_otel.query(
        "spans", start=start, end=end, group_by=["component"], aggregates=specs
    )
    from_raw = ff_otel.query(
        "spans",
        start=start + timedelta(microseconds=1),
        end=end,
        group_by=["component"],
        aggregates=specs,
    )
    assert [(r["component"], r["count"], r["errors"]) for r in from_rollups] == [
        (r["component"], r["count"], r["errors"]) for r in from_raw
    ]
    for rolled, raw in zip(from_rollups, from_raw, strict=True):
        # The sketch answers within 1% of a real value near the 95th rank.
        assert rolled["p95:duration_ms"] == pytest.approx(raw["p95:duration_ms"], rel=0.05)
    events = ff_otel.query(
        "events",
        start=HOUR,
        end=HOUR + timedelta(hours=1),
        group_by=["event_type"],
        aggregates=["count"],
    )
    assert {(r["event_type"], r["count"]) for r in events} == {
        ("session_start", 6),
        ("feature_usage", 6),
    }
    users = ff_otel.query(
        "events", start=HOUR, end=HOUR + timedelta(hours=1), aggregates=["distinct:user_hash"]
    )
    assert users == [{"distinct:user_hash": 6}]


def test_time_grouping_and_nested_fields(busy: ff_otel.FFOtel) -> None:
    rows = ff_otel.query("events", group_by=["time:hour"], aggregates=["count"])
    assert {"time:hour": "2026-05-04T10", "count": 12} in rows
    attributes = ff_otel.query("spans", group_by=["attributes.ff.component"], aggregates=["count"])
    assert {r["attributes.ff.component"] for r in attributes} == {"api", "database"}


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"stream": "nonsense"}, "unknown stream"),
        ({"stream": "../../etc/passwd.jsonl"}, "unknown stream"),
        ({"stream": "spans", "aggregates": ["median:duration_ms"]}, "unknown aggregate"),
        ({"stream": "spans", "group_by": ["time:fortnight"]}, "unknown time group"),
        ({"stream": "spans", "start": "2026-02-01", "end": "2026-01-01"}, "reversed"),
    ],
)
def test_bad_queries_are_clear_errors(
    handle: ff_otel.FFOtel,
    kwargs: dict,
    words: str,  # type: ignore[type-arg]
) -> None:
    stream = kwargs.pop("stream")
    with pytest.raises(ValueError, match=words):
        ff_otel.query(stream, **kwargs)


def test_query_needs_a_store(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not configured"):
        ff_otel.query("spans")
    with pytest.raises(ff_otel.StoreError):
        ff_otel.query("spans", base_path=tmp_path / "none")


def test_reports_summarise_the_period_in_json_and_csv(busy: ff_otel.FFOtel) -> None:
    paths = ff_otel.generate_report("day", end=HOUR + timedelta(hours=1))
    assert sorted(p.suffix for p in paths) == [".csv", ".json"]
    report = orjson.loads(next(p for p in paths if p.suffix == ".json").read_bytes())
    assert (report["start"], report["end"]) == (
        "2026-05-04T00:00:00.000000Z",
        "2026-05-05T00:00:00.000000Z",
    )
    assert report["users"]["active"] == 6 and report["users"]["new"] == 6
    assert report["features"][0]["feature"] == "search"
    assert set(report) >= {"health", "performance", "alerts", "users", "features", "insights"}
    rows = list(csv.reader(io.StringIO(next(p for p in paths if p.suffix == ".csv").read_text())))
    assert rows[0] == ["section", "metric", "value"]
    assert ["users", "active", "6"] in rows


def test_report_of_the_current_day_counts_its_requests(busy: ff_otel.FFOtel) -> None:
    (json_path, _) = sorted(ff_otel.generate_report("day"), key=lambda p: p.suffix != ".json")
    report = orjson.loads(json_path.read_bytes())
    assert report["performance"]["requests"] == 40
    assert report["performance"]["failed_requests"] == 5
    assert report["performance"]["components"]["database"]["spans"] == 40


def test_unknown_report_period_is_rejected(handle: ff_otel.FFOtel) -> None:
    with pytest.raises(ValueError, match="report period"):
        ff_otel.generate_report("fortnight")


def test_one_definition_of_failed_requests_in_every_figure(flush_driven: ff_otel.FFOtel) -> None:
    handle = flush_driven
    # A request answered 5xx without an error status fails; a 4xx does not (the
    # client's error); a failing child span fails its span, not a request.
    tracer = trace.get_tracer("test")
    answers = [200, 200, 504, 500, 415, 404, 201, 200]
    for code in answers:
        with tracer.start_as_current_span(f"GET /{code}", kind=trace.SpanKind.SERVER) as span:
            span.set_attribute("http.response.status_code", code)
    with tracer.start_as_current_span("POST /legacy", kind=trace.SpanKind.SERVER) as span:
        span.set_attribute("http.status_code", 503)  # the legacy attribute counts too
        with tracer.start_as_current_span("db.query") as child:
            child.set_status(trace.Status(trace.StatusCode.ERROR, "timeout"))
    with (
        contextlib.suppress(RuntimeError),
        tracer.start_as_current_span("GET /raise", kind=trace.SpanKind.SERVER),
    ):
        raise RuntimeError("handler failed")  # status error, no HTTP status at all
    assert handle.pipeline is not None
    handle.pipeline.collect(store=False)  # start a fresh interval
    assert ff_otel.force_flush()
    requests, failed = len(answers) + 2, 4  # 504, 500, the legacy 503, the raise
    snapshot = records(handle.layout.performance)[-1]
    assert snapshot["success_rate_percent"] == pytest.approx(100 * (requests - failed) / requests)
    (summary,) = [
        r for r in records(handle.layout.error_rates) if r["record_type"] == "interval_summary"
    ][-1:]
    assert (summary["requests"], summary["failed_requests"]) == (requests, failed)
    (row,) = ff_otel.query("requests", aggregates=["count", "errors"])
    assert (row["count"], row["errors"]) == (requests, failed)
    (json_path, _) = sorted(ff_otel.generate_report("day"), key=lambda p: p.suffix != ".json")
    performance = orjson.loads(json_path.read_bytes())["performance"]
    assert (performance["requests"], performance["failed_requests"]) == (requests, failed)
