"""OTLP export beside the store, against a real collector (the rotel agent).

The collector runs as a subprocess on loopback ports with its debug exporter,
which prints every span, metric and log it receives; the tests read that.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry._logs import SeverityNumber, get_logger

import ff_otel

from .conftest import Collector, free_port, records


@ff_otel.instrument("checkout.submit", component="shop")
def submit_order() -> str:
    return "accepted"


def _emit_all_signals() -> None:
    assert submit_order() == "accepted"
    ff_otel.counter("orders.accepted").add(2)
    get_logger("shop").emit(body="order stored", severity_number=SeverityNumber.INFO)
    assert ff_otel.force_flush(10_000)


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_all_signals_reach_the_collector_and_the_store(
    collector: Collector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    endpoint = collector.grpc_endpoint if protocol == "grpc" else collector.http_endpoint
    handle = ff_otel.configure(
        base_path=tmp_path / "store", service_name="otlp-shop", otlp_endpoint=endpoint
    )
    _emit_all_signals()

    received = collector.wait_for("checkout.submit", "orders.accepted", "order stored")
    assert "otlp-shop" in received
    assert "ff.component: Str(shop)" in received
    assert [s["name"] for s in records(handle.layout.spans)] == ["checkout.submit"]
    assert [r["body"] for r in records(handle.layout.logs)] == ["order stored"]
    ff_otel.shutdown()  # while the collector is still up, so shutdown's flush is quick


def test_endpoint_from_the_standard_environment_variable(
    collector: Collector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.grpc_endpoint)
    ff_otel.configure(base_path=tmp_path / "store", service_name="env-endpoint")
    _emit_all_signals()
    collector.wait_for("checkout.submit", "env-endpoint")
    ff_otel.shutdown()


def test_a_collector_that_is_down_never_breaks_the_app_or_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    handle = ff_otel.configure(
        base_path=tmp_path / "store",
        service_name="offline",
        otlp_endpoint=f"http://127.0.0.1:{free_port()}",
    )
    for _ in range(5):
        assert submit_order() == "accepted"
    ff_otel.force_flush(5_000)
    assert [s["name"] for s in records(handle.layout.spans)] == ["checkout.submit"] * 5
