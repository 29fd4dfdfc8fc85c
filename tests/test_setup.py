"""configure(), reconfiguration, the OTel globals, shutdown and fault isolation."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from opentelemetry import _logs, metrics, trace
from opentelemetry._logs import SeverityNumber

import ff_otel
from ff_otel import ConfigError, StoreError

from .conftest import records


@ff_otel.instrument
def handled() -> str:
    return "ok"


def test_configure_returns_a_handle_and_creates_the_store(base_path: Path) -> None:
    handle = ff_otel.configure(base_path=base_path, service_name="svc")
    assert handle.enabled
    assert ff_otel.current() is handle
    assert handle.layout.metadata_path.is_file()
    assert handle.settings.service_name == "svc"


def test_reconfigure_switches_stores_and_keeps_global_instruments_working(
    tmp_path: Path,
) -> None:
    first = ff_otel.configure(base_path=tmp_path / "one", service_name="first")
    global_tracer = trace.get_tracer("third.party.lib")
    global_counter = metrics.get_meter("third.party.lib").create_counter("lib.calls")
    global_logger = _logs.get_logger("third.party.lib")

    def emit_everything(tag: str) -> None:
        handled()
        with global_tracer.start_as_current_span(f"lib.span.{tag}"):
            pass
        global_counter.add(1, {"tag": tag})
        ff_otel.counter("app.calls").add(1, {"tag": tag})
        global_logger.emit(body=f"log {tag}", severity_number=SeverityNumber.INFO)

    emit_everything("first")
    assert ff_otel.force_flush()
    second = ff_otel.configure(base_path=tmp_path / "two", service_name="second")
    assert first.layout.base_path != second.layout.base_path
    emit_everything("second")
    assert ff_otel.force_flush()

    for handle, tag in ((first, "first"), (second, "second")):
        spans = records(handle.layout.spans)
        assert {s["name"] for s in spans} == {"handled", f"lib.span.{tag}"}
        assert {s["service"] for s in spans} == {tag}
        points = [p for p in records(handle.layout.metrics) if p["scope"] != "ff_otel.system"]
        assert {(p["name"], p["attributes"]["tag"]) for p in points} == {
            ("lib.calls", tag),
            ("app.calls", tag),
        }
        assert [r["body"] for r in records(handle.layout.logs)] == [f"log {tag}"]


def test_bad_config_leaves_the_running_configuration_in_place(tmp_path: Path) -> None:
    running = ff_otel.configure(base_path=tmp_path / "ok")
    with pytest.raises(ConfigError, match="collection_interval_seconds"):
        ff_otel.configure(
            base_path=tmp_path / "bad",
            analytics=ff_otel.FFAnalyticsConfigDTO.model_construct(collection_interval_seconds=0),
        )
    assert ff_otel.current() is running
    handled()
    assert ff_otel.force_flush()
    assert [s["name"] for s in records(running.layout.spans)] == ["handled"]


def test_unwritable_base_path_fails_at_configure(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match=str(blocker)):
        ff_otel.configure(base_path=blocker / "store")
    assert ff_otel.current() is None


def test_unknown_otlp_protocol_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL='carrier-pigeon'"):
        ff_otel.configure(base_path=tmp_path, otlp_endpoint="http://127.0.0.1:4317")


def test_export_failures_never_reach_user_code(
    handle: ff_otel.FFOtel, caplog: pytest.LogCaptureFixture
) -> None:
    # The store disappears under the running service and a file blocks its place.
    shutil.rmtree(handle.layout.analytics_path)
    handle.layout.analytics_path.write_text("not a directory any more")

    with caplog.at_level(logging.ERROR, logger="ff_otel.exporters"):
        for _ in range(3):
            assert handled() == "ok"
            ff_otel.counter("still.counting").add(1)
            assert ff_otel.force_flush() in (True, False)
    stats = handle.export_stats()
    assert stats["spans"].failures >= 1
    assert stats["metrics"].failures >= 1
    assert "NotADirectoryError" in (stats["spans"].last_error or "")
    logged = [r for r in caplog.records if "exporter failed" in r.getMessage()]
    assert 1 <= len(logged) <= 3  # logged once per exporter, repeats are only counted


def test_shutdown_flushes_and_is_safe_twice(handle: ff_otel.FFOtel) -> None:
    handled()
    ff_otel.shutdown()
    ff_otel.shutdown()
    assert [s["name"] for s in records(handle.layout.spans)] == ["handled"]
    assert ff_otel.current() is None
    assert handled() == "ok"  # a no-op again, not an error


def test_disabled_installs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    handle = ff_otel.configure(base_path=tmp_path / "store")
    assert not handle.enabled
    assert handled() == "ok"
    assert not (tmp_path / "store").exists()


def test_resource_attributes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-resource,team=chat")
    handle = ff_otel.configure(base_path=tmp_path)
    handled()
    assert ff_otel.force_flush()
    assert records(handle.layout.spans)[0]["service"] == "from-resource"
    assert handle.tracer_provider is not None
    assert handle.tracer_provider.resource.attributes["team"] == "chat"


def test_sampling_rate_is_applied(tmp_path: Path) -> None:
    handle = ff_otel.configure(
        base_path=tmp_path,
        analytics=ff_otel.FFAnalyticsConfigDTO(enable_data_sampling=True, sampling_rate=0.0),
    )
    for _ in range(20):
        handled()
    assert ff_otel.force_flush()
    assert records(handle.layout.spans) == []
