"""Shared fixtures: a fresh store per test and a clean ff-otel state around each."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import rotel

import ff_otel
from ff_otel.pipeline import reader

# pytester runs a user's test file in a subprocess (the ff_otel.testing plugin's tests).
pytest_plugins = ["pytester"]

# A shell starting the suite in the background (`make test &`, a CI step) hands
# it SIGINT ignored, and every server a test starts inherits that: the tests
# that stop a server with SIGINT, as Ctrl+C would, would then wait in vain.
# A handler (unlike "ignored") is reset to the default in a child.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A developer's own FF_OTEL_*/OTEL_* variables must not change what tests see.
    import os

    for name in list(os.environ):
        if name.startswith(("FF_OTEL_", "OTEL_")):
            monkeypatch.delenv(name)
    yield
    ff_otel.shutdown()


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one chdb path of this test process (chdb runs one embedded server per process, on
    one path): each test that writes there uses a database of its own."""
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture
def base_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def handle(base_path: Path) -> Iterator[ff_otel.FFOtel]:
    """ff-otel configured on a fresh store, exporting metrics every second."""
    yield ff_otel.configure(
        base_path=base_path,
        service_name="test-service",
        analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=1),
        system_metrics=False,
    )
    ff_otel.shutdown()


@pytest.fixture
def flush_driven(base_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ff_otel.FFOtel]:
    """ff-otel whose intervals end only when flushed, never on the collector's timer.

    For tests that read one interval's records: with a timer tick, spans made
    in the test could land in an interval of its own choosing.
    """
    monkeypatch.setattr(reader, "FIRST_COLLECTION_SECONDS", float(_DAY))
    yield ff_otel.configure(
        base_path=base_path,
        service_name="test-service",
        analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=_DAY),
        system_metrics=False,
    )
    ff_otel.shutdown()


_DAY = 86_400


def records(path: Path) -> list[dict]:  # type: ignore[type-arg]
    """Every record of a stream, through the one reader."""
    return list(ff_otel.read_records(path))


AGENT = Path(rotel.__file__).parent / "rotel-agent"


@dataclass
class Collector:
    """A rotel agent printing what it receives to ``output``; stop() and start() keep its ports."""

    grpc_endpoint: str
    http_endpoint: str
    output: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def wait_for(self, *texts: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            seen = self.output.read_text(errors="replace")
            if all(text in seen for text in texts):
                return seen
            time.sleep(0.1)
        missing = [text for text in texts if text not in seen]
        raise AssertionError(f"collector never received {missing}; it printed:\n{seen[-3000:]}")

    def start(self) -> None:
        """Start the agent on this collector's ports (again), appending to the same output."""
        grpc_port, http_port = (
            int(endpoint.rsplit(":", 1)[1]) for endpoint in (self.grpc_endpoint, self.http_endpoint)
        )
        folder = self.output.parent
        with self.output.open("ab") as sink:
            self._process = subprocess.Popen(
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
                    str(folder / "rotel.pid"),
                    "--log-file",
                    str(folder / "rotel.log"),
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        _wait_listening(grpc_port, self._process)
        _wait_listening(http_port, self._process)

    def stop(self) -> None:
        """Stop the agent (a collector going down); start() brings it back on the same ports."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], object], timeout: float = 60.0) -> None:
    """Poll ``condition`` until it is true; fail after a deadline generous for a busy machine."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 120.0) -> Any:
    """Poll ``check`` until it returns something true, and return that; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
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
    grpc_port, http_port = free_port(), free_port()
    running = Collector(
        grpc_endpoint=f"http://127.0.0.1:{grpc_port}",
        http_endpoint=f"http://127.0.0.1:{http_port}",
        output=tmp_path / "collector.out",
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()
