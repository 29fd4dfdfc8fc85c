"""One bad value never costs its neighbours: each poison input beside a good record, per exporter.

Each exporter runs here as a user would plug it in, built from a path under a
plain OpenTelemetry SDK provider, and the good neighbours in the same batch
must be in the store afterwards; the poison record is stored with what was cut
listed in ``dropped_values``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import ff_otel
from ff_otel.store.limits import RecordLimits

from .conftest import records


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": "x"}
    for _ in range(depth - 1):
        value = {"next": value}
    return value


SPAN_POISONS: dict[str, Any] = {
    "lone surrogate": "bad \udcff text",
    "integer above 2**63": 2**70,
    "10 MB string": "x" * 10_000_000,
    "surrogate in an array": ("ok", "\udcff"),
}


@pytest.mark.parametrize("poison", list(SPAN_POISONS), ids=list(SPAN_POISONS))
def test_a_poison_span_attribute_keeps_its_batch_under_a_plain_tracer_provider(
    tmp_path: Path, poison: str
) -> None:
    exporter = ff_otel.FlatfileSpanExporter(tmp_path / "store")
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("poison")
    with tracer.start_as_current_span("good.before"):
        pass
    with tracer.start_as_current_span("poisoned") as span:
        span.set_attribute("bad", SPAN_POISONS[poison])
        span.set_attribute("fine", "kept")
    with tracer.start_as_current_span("good.after"):
        pass
    assert provider.force_flush()
    assert exporter.force_flush()  # every span of the flush was stored
    provider.shutdown()

    stored = {r["name"]: r for r in records(exporter.layout.spans)}
    assert set(stored) == {"good.before", "poisoned", "good.after"}
    poisoned = stored["poisoned"]
    assert poisoned["attributes"]["fine"] == "kept"
    assert poisoned["dropped_values"], poisoned
    assert all("field" in n and "reason" in n for n in poisoned["dropped_values"])
    assert len(exporter.layout.spans.read_bytes()) < 200_000  # the 10 MB value is not stored whole
    assert "dropped_values" not in stored["good.before"]
    assert exporter.guard.stats.repaired == 1 and exporter.guard.stats.dropped == 0


LOG_POISONS: dict[str, Any] = {
    "dict nested 300 deep": _nested(300),
    "dict nested 5000 deep": _nested(5000),
    "non-string key": {7: "seven", "ok": 1},
    "tuple key": {(1, 2): "pair"},
    "lone surrogate": "bad \udcff body",
    "integer above 2**63": {"n": 2**70},
    "10 MB body": "y" * 10_000_000,
    "surrogate in a key": {"\udcff": 1},
}


@pytest.mark.parametrize("poison", list(LOG_POISONS), ids=list(LOG_POISONS))
def test_a_poison_log_body_keeps_its_batch_under_a_plain_logger_provider(
    tmp_path: Path, poison: str
) -> None:
    exporter = ff_otel.FlatfileLogExporter(tmp_path / "store")
    provider = LoggerProvider()
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    logger = provider.get_logger("poison")
    logger.emit(body="good before", severity_number=SeverityNumber.INFO)
    logger.emit(body=LOG_POISONS[poison], severity_number=SeverityNumber.WARN)
    logger.emit(body="good after", severity_number=SeverityNumber.INFO)
    assert provider.force_flush()
    assert exporter.force_flush()
    provider.shutdown()

    stored = records(exporter.layout.logs)
    bodies = [r["body"] for r in stored]
    assert bodies[0] == "good before" and bodies[-1] == "good after"
    assert len(stored) == 3
    assert stored[1]["dropped_values"], stored[1]
    assert len(exporter.layout.logs.read_bytes()) < 200_000


def test_a_log_that_cannot_be_mapped_is_left_out_alone_and_force_flush_says_so(
    tmp_path: Path,
) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no text for you")

    exporter = ff_otel.FlatfileLogExporter(tmp_path / "store")
    provider = LoggerProvider()
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    logger = provider.get_logger("poison")
    logger.emit(body="good", severity_number=SeverityNumber.INFO)
    logger.emit(body=Unprintable(), severity_number=SeverityNumber.INFO)
    logger.emit(body="also good", severity_number=SeverityNumber.INFO)
    provider.force_flush()
    assert not exporter.force_flush()  # one record of this flush is not in the store
    assert exporter.force_flush()  # and the next flush, with nothing lost, is clean again
    provider.shutdown()
    assert [r["body"] for r in records(exporter.layout.logs)] == ["good", "also good"]
    assert exporter.guard.stats.dropped == 1


def test_metric_cardinality_is_capped_with_the_otel_overflow_series(tmp_path: Path) -> None:
    exporter = ff_otel.FlatfileMetricExporter(
        tmp_path / "store", limits=RecordLimits(max_series_per_instrument=100)
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    counter = provider.get_meter("poison").create_counter("requests")
    for n in range(50_000):
        counter.add(1, {"user.request": f"r{n}"})
    counter.add(1, {"bad": "\udcff"})
    assert provider.force_flush()
    provider.shutdown()

    points = [p for p in records(exporter.layout.metrics) if p["name"] == "requests"]
    assert len(points) == 100  # 99 series and the overflow series
    (overflow,) = [p for p in points if p["attributes"] == {"otel.metric.overflow": True}]
    assert sum(p["value"] for p in points) == 50_001  # nothing counted is lost
    assert overflow["value"] == 50_001 - 99


def test_user_event_data_nested_5000_deep_or_keyed_by_ints_is_stored_cut(
    handle: ff_otel.FFOtel,
) -> None:
    assert ff_otel.record_user_event("u1", "s1", "good_before", {"a": 1})
    assert ff_otel.record_user_event("u1", "s1", "deep", {"tree": _nested(5000)})
    assert ff_otel.record_user_event("u1", "s1", "int_keys", {1: "one", "b": 2})
    assert ff_otel.record_user_event("u1", "s1", "good_after", {"a": 2})
    assert ff_otel.force_flush()
    stored = {r["event_type"]: r for r in records(handle.layout.behavior_patterns)}
    assert set(stored) == {"good_before", "deep", "int_keys", "good_after"}
    assert stored["int_keys"]["data"]["1"] == "one"
    assert stored["deep"]["data"]["dropped_values"][0]["reason"].startswith("nested deeper")


def test_audit_and_security_details_nested_5000_deep_do_not_raise(handle: ff_otel.FFOtel) -> None:
    assert ff_otel.audit("admin", "export", "reports", tree=_nested(5000), **{"k": {3: "x"}})
    assert ff_otel.record_security_event("auth_failure", tree=_nested(5000))
    assert ff_otel.verify_audit_trail().ok


def test_exporters_built_from_a_path_are_exported_from_ff_otel(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="base_path must be a path"):
        ff_otel.FlatfileSpanExporter(42)  # type: ignore[arg-type]
    exporter = ff_otel.FlatfileMetricExporter(str(tmp_path / "store"))
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("m").create_counter("signups").add(2, {"user.email": "a@example.com"})
    assert provider.force_flush()
    provider.shutdown()
    (point,) = records(exporter.layout.metrics)
    assert point["value"] == 2
    assert "a@example.com" not in exporter.layout.metrics.read_text()  # the default scrubber ran


def test_limits_come_from_the_otel_variables_and_from_configure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK itself truncates at OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT; ff-otel's own
    # variable bounds the store whatever the provider does.
    monkeypatch.setenv("FF_OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100")
    handle = ff_otel.configure(base_path=tmp_path / "env", system_metrics=False)
    with ff_otel.span("long") as span:
        span.set_attribute("note", "z" * 1000)
    assert ff_otel.force_flush()
    (stored,) = [r for r in records(handle.layout.spans) if r["name"] == "long"]
    assert stored["attributes"]["note"] == "z" * 100
    assert stored["dropped_values"] == [
        {"field": "attributes.note", "reason": "1000 characters, truncated to the limit of 100"}
    ]
    handle = ff_otel.configure(
        base_path=tmp_path / "code",
        system_metrics=False,
        limits=ff_otel.RecordLimits(max_value_length=10, max_attributes=2),
    )
    with ff_otel.span("many", a="1", b="2", c="3", d="long enough to cut"):
        pass
    assert ff_otel.force_flush()
    (stored,) = [r for r in records(handle.layout.spans) if r["name"] == "many"]
    assert len(stored["attributes"]) == 2
    with pytest.raises(ff_otel.ConfigError, match="max_depth"):
        monkeypatch.setenv("FF_OTEL_NESTING_DEPTH_LIMIT", "deep")
        ff_otel.configure(base_path=tmp_path / "bad", system_metrics=False)


def test_limits_apply_after_scrubbing_so_a_secret_is_never_stored_as_a_fragment(
    tmp_path: Path,
) -> None:
    # README: limits are applied "after scrubbing, so a secret is never cut in
    # half and stored as an unrecognisable fragment".
    handle = ff_otel.configure(
        base_path=tmp_path / "store",
        system_metrics=False,
        logging=True,
        limits=ff_otel.RecordLimits(max_value_length=100),
    )
    text = "x" * 90 + " carol.jones@example.net"
    with ff_otel.span("cut", note=text):
        pass
    logging.getLogger("app.limits").warning(text)
    assert ff_otel.force_flush()
    expected = ("x" * 90 + " [REDACTED:email]")[:100]
    (span,) = [r for r in records(handle.layout.spans) if r["name"] == "cut"]
    assert span["attributes"]["note"] == expected
    (log,) = [r for r in records(handle.layout.logs) if r["scope"] == "app.limits"]
    assert log["body"] == expected
    stored = handle.layout.spans.read_bytes() + handle.layout.logs.read_bytes()
    assert b"carol" not in stored


def test_limits_come_from_the_standard_and_ff_otel_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # README's limits table: OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, OTEL_ATTRIBUTE_COUNT_LIMIT,
    # FF_OTEL_METRIC_CARDINALITY_LIMIT, FF_OTEL_NESTING_DEPTH_LIMIT. Each is checked
    # where the OTel SDK applies no limit of its own (a log body, metric point
    # attributes, user event data), so only ff-otel's can have cut it.
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "50")
    monkeypatch.setenv("OTEL_ATTRIBUTE_COUNT_LIMIT", "3")
    monkeypatch.setenv("FF_OTEL_METRIC_CARDINALITY_LIMIT", "5")
    monkeypatch.setenv("FF_OTEL_NESTING_DEPTH_LIMIT", "3")
    handle = ff_otel.configure(base_path=tmp_path / "store", system_metrics=False, logging=True)
    logging.getLogger("app.limits").warning("w" * 1000)
    ff_otel.counter("wide").add(1, {f"k{n}": n for n in range(6)})
    for n in range(20):
        ff_otel.counter("many").add(1, {"n": n})
    assert ff_otel.record_user_event("u1", "s1", "deep", {"tree": _nested(10)})
    assert ff_otel.force_flush()

    (log,) = [r for r in records(handle.layout.logs) if r["scope"] == "app.limits"]
    assert log["body"] == "w" * 50 and log["dropped_values"]
    points = records(handle.layout.metrics)
    (wide,) = [p for p in points if p["name"] == "wide"]
    assert len(wide["attributes"]) == 3
    many = [p for p in points if p["name"] == "many"]
    assert len(many) == 5 and sum(p["value"] for p in many) == 20
    (event,) = records(handle.layout.behavior_patterns)
    assert event["data"]["dropped_values"][0]["reason"].startswith("nested deeper")


def test_the_series_limit_holds_over_the_exporters_life_for_every_kind_of_instrument(
    tmp_path: Path,
) -> None:
    # README: "points of later attribute sets of that instrument are merged into
    # one series ... (sums add, gauges keep the last value, histograms add their
    # counts)"; "The series limit holds per instrument over the exporter's life".
    exporter = ff_otel.FlatfileMetricExporter(
        tmp_path / "store", limits=RecordLimits(max_series_per_instrument=5)
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("limits")
    counter = meter.create_counter("hits")
    histogram = meter.create_histogram("latency")
    gauge = meter.create_gauge("level")
    for export in range(2):  # two exports, each with ten attribute sets never seen before
        for n in range(10):
            attributes = {"n": f"{export}-{n}"}
            counter.add(1, attributes)
            histogram.record(2.0, attributes)
            gauge.set(float(export * 10 + n), attributes)
        assert provider.force_flush()
    provider.shutdown()

    points = records(exporter.layout.metrics)
    overflow = {"otel.metric.overflow": True}
    for name in ("hits", "latency", "level"):
        series = {_series_key(p["attributes"]) for p in points if p["name"] == name}
        assert len(series) == 5, (name, series)  # four attribute sets and the overflow series
    hits = [p for p in points if p["name"] == "hits"]
    assert sum(p["value"] for p in hits) == 20
    latency = [p for p in points if p["name"] == "latency"]
    assert sum(p["count"] for p in latency) == 20
    assert sum(p["count"] for p in latency if p["attributes"] == overflow) == 16
    last_overflow_level = [
        p for p in points if p["name"] == "level" and p["attributes"] == overflow
    ]
    assert last_overflow_level[-1]["value"] == 19.0  # the last value set in the overflow series


def _series_key(attributes: dict[str, Any]) -> str:
    return repr(sorted(attributes.items()))


def _written_by_the_calls(layout: ff_otel.StoreLayout) -> dict[str, bytes]:
    """The files the write calls append to (the pipeline's own snapshots left aside)."""
    folders = (layout.analytics_path / "compliance", layout.user_analytics_path)
    return {str(p): p.read_bytes() for folder in folders for p in sorted(folder.rglob("*.jsonl"))}


WRONG_ARGUMENTS: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("audit actor", lambda: ff_otel.audit("", "export", "reports"), ValueError, "actor"),
    ("audit action", lambda: ff_otel.audit("ops", 5, "reports"), ValueError, "action"),  # type: ignore[arg-type]
    ("audit outcome", lambda: ff_otel.audit("ops", "x", "y", outcome=""), ValueError, "outcome"),
    ("security type", lambda: ff_otel.record_security_event(""), ValueError, "event_type"),
    (
        "security severity",
        lambda: ff_otel.record_security_event("auth_failure", "bogus"),
        ValueError,
        "severity",
    ),
    ("opt_out", lambda: ff_otel.opt_out(""), ValueError, "user_id"),
    ("opt_in", lambda: ff_otel.opt_in(""), ValueError, "user_id"),
    ("erase_user", lambda: ff_otel.erase_user(""), ValueError, "user_id"),
    ("event user", lambda: ff_otel.record_user_event("", "s", "t"), ValueError, "user_id"),
    (
        "event session",
        lambda: ff_otel.record_user_event("u", 5, "t"),  # type: ignore[arg-type]
        TypeError,
        "session_id",
    ),
    (
        "event data",
        lambda: ff_otel.record_user_event("u", "s", "t", ["not", "a", "mapping"]),  # type: ignore[arg-type]
        TypeError,
        "event_data",
    ),
    (
        "event time",
        lambda: ff_otel.record_user_event("u", "s", "t", {}, timestamp="whenever"),
        ValueError,
        "timestamp",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "named"),
    [case[1:] for case in WRONG_ARGUMENTS],
    ids=[case[0] for case in WRONG_ARGUMENTS],
)
def test_a_wrong_argument_is_the_named_error_raised_before_anything_is_stored(
    handle: ff_otel.FFOtel, call: Callable[[], object], error: type[Exception], named: str
) -> None:
    # README: the write calls "raise only the argument errors their docstrings
    # name (TypeError/ValueError for a wrong argument, before anything is stored;
    # StoreError when there is no store at all)".
    assert ff_otel.force_flush()
    before = _written_by_the_calls(handle.layout)
    with pytest.raises(error, match=named):
        call()
    assert ff_otel.force_flush()
    assert _written_by_the_calls(handle.layout) == before


def test_privacy_calls_on_a_path_without_a_store_are_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(ff_otel.StoreError):
        ff_otel.erase_user("someone", base_path=tmp_path / "nowhere")
    with pytest.raises(ff_otel.StoreError):
        ff_otel.export_user_data("someone", base_path=tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()
