"""OTLP export beside the store, against a real collector (the rotel agent).

The collector runs as a subprocess on loopback ports with its debug exporter,
which prints every span, metric and log it receives; the tests read that.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import rotel
from opentelemetry._logs import SeverityNumber, get_logger

import ff_otel

from .conftest import records

AGENT = Path(rotel.__file__).parent / "rotel-agent"


@dataclass
class Collector:
    grpc_endpoint: str
    http_endpoint: str
    output: Path

    def wait_for(self, *texts: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            seen = self.output.read_text(errors="replace")
            if all(text in seen for text in texts):
                return seen
            time.sleep(0.1)
        missing = [text for text in texts if text not in seen]
        raise AssertionError(f"collector never received {missing}; it printed:\n{seen[-3000:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rotel-agent exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"rotel-agent did not listen on {port}")


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    grpc_port, http_port = _free_port(), _free_port()
    output = tmp_path / "collector.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [
                str(AGENT),
                "start",
                "--exporter",
                "blackhole",
                "--debug-log",
                "traces",
                "--debug-log",
                "metrics",
                "--debug-log",
                "logs",
                "--debug-log-verbosity",
                "detailed",
                "--otlp-grpc-endpoint",
                f"127.0.0.1:{grpc_port}",
                "--otlp-http-endpoint",
                f"127.0.0.1:{http_port}",
                "--pid-file",
                str(tmp_path / "rotel.pid"),
                "--log-file",
                str(tmp_path / "rotel.log"),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_listening(grpc_port, process)
        _wait_listening(http_port, process)
        yield Collector(
            grpc_endpoint=f"http://127.0.0.1:{grpc_port}",
            http_endpoint=f"http://127.0.0.1:{http_port}",
            output=output,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


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
        otlp_endpoint=f"http://127.0.0.1:{_free_port()}",
    )
    for _ in range(5):
        assert submit_order() == "accepted"
    ff_otel.force_flush(5_000)
    assert [s["name"] for s in records(handle.layout.spans)] == ["checkout.submit"] * 5
