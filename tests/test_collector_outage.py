"""A collector outage, end to end: a real app process, a real collector stopped and restarted.

The app (tests/collector_outage_app.py) serves HTTP requests with ff-otel
configured to send OTLP to a rotel agent. The agent is stopped while the app
keeps serving, then started again on the same ports. What a user relies on:
every request is answered, every request's span is in the local store, and
telemetry made after the collector returns reaches it again.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import ff_otel

from .conftest import Collector, free_port, records

APP = Path(__file__).with_name("collector_outage_app.py")
PAUSE_NOTICE = "did not accept a batch"
BACK_NOTICE = "accepts telemetry again"


class App:
    """The app process and a keep-alive HTTP connection to it."""

    def __init__(self, base_path: Path, endpoint: str, protocol: str, stderr: Path) -> None:
        self.port = free_port()
        self.stderr = stderr
        env = {
            **os.environ,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            # Standard variables only, to keep the test short: export every
            # 0.5 s, and give up on a batch after 3 s instead of 10 s.
            "OTEL_BSP_SCHEDULE_DELAY": "500",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "3",
        }
        with stderr.open("wb") as sink:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(APP),
                    "--port",
                    str(self.port),
                    "--base-path",
                    str(base_path),
                    "--otlp-endpoint",
                    endpoint,
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        self._wait_listening()
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self.trace_ids: dict[str, str] = {}

    def _wait_listening(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the app exited early: {self.stderr.read_text()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("the app never listened")

    def get(self, marker: str) -> None:
        """One request; it must be answered, collector or not."""
        self.connection.request("GET", f"/work?marker={marker}")
        response = self.connection.getresponse()
        body = response.read()
        assert response.status == 200, body
        self.trace_ids[marker] = json.loads(body)["trace_id"]

    def wait_for_log(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.stderr.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise AssertionError(f"the app never logged {text!r}: {self.stderr.read_text()[-3000:]}")

    def stop(self) -> int:
        """SIGTERM, as a process manager stops a service; the exit flush runs."""
        self.connection.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Callable[[str, str], App]]:
    started: list[App] = []

    def start(endpoint: str, protocol: str) -> App:
        app = App(tmp_path / "store", endpoint, protocol, tmp_path / "app.stderr")
        started.append(app)
        return app

    yield start
    for app in started:
        if app.process.poll() is None:
            app.process.kill()
            app.process.wait()


def _markers(text: str, prefix: str) -> set[str]:
    """Marker attributes the collector printed that start with ``prefix``."""
    found = set()
    for line in text.splitlines():
        if f"marker: Str({prefix}" in line:
            found.add(line.split("Str(", 1)[1].rstrip(")"))
    return found


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_the_app_and_its_store_ride_out_a_collector_outage(
    collector: Collector,
    tmp_path: Path,
    start_app: Callable[[str, str], App],
    protocol: str,
) -> None:
    endpoint = collector.grpc_endpoint if protocol == "grpc" else collector.http_endpoint
    app = start_app(endpoint, protocol)

    before = [f"before-{i}" for i in range(5)]
    for marker in before:
        app.get(marker)
    collector.wait_for(*(f"marker: Str({m})" for m in before), timeout=60)

    collector.stop()
    down = [f"down-{i}" for i in range(20)]
    for marker in down:
        app.get(marker)
    # The exporter has found the collector gone (it logs so, and says how to
    # replay the gap); requests keep being answered meanwhile.
    app.wait_for_log(PAUSE_NOTICE)
    still_down = [f"still-down-{i}" for i in range(20)]
    for marker in still_down:
        app.get(marker)

    collector.start()
    # New telemetry reaches the collector again: keep serving until a request
    # made after the restart arrives, then every later one must arrive too.
    after: list[str] = []
    deadline = time.monotonic() + 90
    while not _markers(collector.output.read_text(errors="replace"), "after-"):
        assert time.monotonic() < deadline, "no telemetry reached the restarted collector"
        after.append(f"after-{len(after)}")
        app.get(after[-1])
        time.sleep(0.25)
    final = [f"final-{i}" for i in range(10)]
    for marker in final:
        app.get(marker)
    collector.wait_for(*(f"marker: Str({m})" for m in final), timeout=60)
    app.wait_for_log(BACK_NOTICE)

    assert app.stop() == 0
    # The local store missed nothing: every request's server span, with the
    # trace id the app answered with.
    served = {
        record["attributes"]["marker"]: record["trace_id"]
        for record in records(tmp_path / "store" / "analytics" / "system_metrics" / "spans.jsonl")
        if record["name"] == "GET /work"
    }
    assert served == app.trace_ids
    assert set(served) == {*before, *down, *still_down, *after, *final}

    # The app said which range the collector missed; replaying it fills the gap.
    notice = next(line for line in app.stderr.read_text().splitlines() if BACK_NOTICE in line)
    replay_command = notice.split("To send the spans it never accepted: ", 1)[1].split()
    assert replay_command == ["ff-otel", "replay", "--to", endpoint, "--gaps"]
    assert replay_command[:2] == ["ff-otel", "replay"]
    replayed = subprocess.run(
        [
            str(Path(sys.executable).with_name("ff-otel")),
            *replay_command[1:],
            *("--protocol", protocol, "--base-path", str(tmp_path / "store"), "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["sent"] >= len(down) + len(still_down)
    collector.wait_for(*(f"marker: Str({m})" for m in [*down, *still_down, *after]), timeout=60)


def test_at_shutdown_a_collector_found_down_is_not_tried_again(
    collector: Collector, base_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Exports happen only when flushed or shut down, never on the SDK's timer.
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    handle = ff_otel.configure(
        base_path=base_path, service_name="exiting", otlp_endpoint=collector.grpc_endpoint
    )
    with ff_otel.span("delivered"):
        pass
    assert ff_otel.force_flush()
    collector.wait_for("delivered")
    collector.stop()
    with ff_otel.span("found.down"):
        pass
    ff_otel.force_flush()
    assert handle.collector is not None
    assert handle.collector.stats.failed_batches == 1
    for _ in range(3):
        with ff_otel.span("kept.locally"):
            pass
    while not handle.collector.allows():  # the pause after the failure is over
        time.sleep(0.05)

    ff_otel.shutdown()

    # The last spans (and the final metric export) were not sent to a
    # collector known to be down; the store has them.
    assert handle.collector.stats.failed_batches == 1
    assert handle.collector.stats.skipped_records >= 3
    names = [r["name"] for r in records(handle.layout.spans)]
    assert names == ["delivered", "found.down", *["kept.locally"] * 3]
