"""What a collector outage costs a real HTTP service: request latency, and time to exit.

1. Latency. Three copies of the same service (``tests/collector_outage_app.py``:
   each request is a server span with two children and a counter; ff-otel
   with its defaults, OTLP over gRPC) run side by side: one with no collector
   configured (the baseline), one sending to a live rotel collector, one
   sending to a second collector that is stopped between the two phases.
   Requests go to the three in turns, one at a time over keep-alive
   connections, the order flipped every round. Phase 1: both collectors up.
   Phase 2 starts the moment the second collector is stopped, so it includes
   the exporter finding out. Figures: p50 and p95 of request latency per
   service and phase (phase 2 also split into its first and second half in
   time: the exporter's first failing attempt, then the outage after it), and
   their ratio to the no-collector service in the same phase. Target: the
   outage costs nothing measurable (p50 ratio <= 1.10).
2. Nothing lost: the outage copy's store must hold a span for every request.
   Then all of its stored spans are replayed to the live collector
   (``replay_spans``, as ``ff-otel replay`` does): spans per second.
3. Exit. Time from SIGTERM to process exit (the final flush included) with the
   collector up, stopped just before exit (spans still queued for it), and
   stopped 15 s before exit while requests continue; for ff-otel and, as the
   baseline, the same service on the plain OTel SDK (batch processors and a
   periodic metric reader with the OTLP exporters) against the same
   situations. ``OTEL_EXPORTER_OTLP_TIMEOUT`` is the SDK default (10 s).

Run: ``.venv/bin/python benchmarks/otlp_outage.py [--rounds 31] [--requests 100]
[--json PATH]``. It prints the figures and always exits 0. Each phase takes
about 10 s at the defaults, long enough to cover the exporter finding the
collector gone (one OTLP timeout) and the time after.
"""

from __future__ import annotations

import argparse
import http.client
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import rotel

import ff_otel
from _common import (
    DEFAULT_ROUNDS,
    WARMUP_ROUNDS,
    environment,
    interleaved_rounds,
    isolate_from_environment,
    write_results,
)
from ff_otel.exporters.replay import replay_spans

APP = Path(__file__).resolve().parents[1] / "tests" / "collector_outage_app.py"
AGENT = Path(rotel.__file__).parent / "rotel-agent"
RATIO_TARGET = 1.10
DOWN_BEFORE_EXIT_SECONDS = 15.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


class CollectorProcess:
    """A rotel agent receiving OTLP/gRPC and discarding it (no debug printing to pay for)."""

    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(AGENT), "start", "--exporter", "blackhole",
             "--otlp-grpc-endpoint", f"127.0.0.1:{self.port}",
             "--otlp-http-endpoint", f"127.0.0.1:{_free_port()}",
             "--pid-file", str(folder / f"rotel-{self.port}.pid"),
             "--log-file", str(folder / f"rotel-{self.port}.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_listening(self.port, self.process, "rotel-agent")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class AppProcess:
    """The service in its own process, and a keep-alive connection to it."""

    def __init__(self, folder: Path, name: str, endpoint: str | None, plain_otel: bool) -> None:
        self.port = _free_port()
        self.store = folder / name
        args = [sys.executable, str(APP), "--port", str(self.port), "--base-path", str(self.store)]
        if endpoint:
            args += ["--otlp-endpoint", endpoint]
        if plain_otel:
            args.append("--plain-otel")
        self.stderr = (folder / f"{name}.stderr").open("wb")
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.stderr)
        _wait_listening(self.port, self.process, name)
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.requests = 0

    def request(self) -> int:
        """One request; its latency in nanoseconds."""
        start = time.perf_counter_ns()
        self.connection.request("GET", f"/work?marker=r{self.requests}")
        response = self.connection.getresponse()
        response.read()
        elapsed = time.perf_counter_ns() - start
        if response.status != 200:
            raise RuntimeError(f"request failed with {response.status}")
        self.requests += 1
        return elapsed

    def exit_seconds(self) -> float:
        """SIGTERM, then the time until the process has exited (its exit flush included)."""
        self.connection.close()
        start = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=300)
        took = time.perf_counter() - start
        self.stderr.close()
        return took


# --- 1 and 2. latency with no collector, a live one, one stopped mid-run ------


@dataclass(frozen=True)
class Latency:
    phase: str
    service: str
    requests: int
    p50_us: float
    p95_us: float
    p50_ratio: float
    p95_ratio: float


def _percentiles(samples: list[int]) -> tuple[float, float]:
    p95 = statistics.quantiles(samples, n=20)[18]
    return statistics.median(samples) / 1000, p95 / 1000


def _phase(
    name: str, apps: dict[str, AppProcess], rounds: int, per_round: int, halves: bool = False
) -> list[Latency]:
    """One phase's figures; with ``halves``, its first and second half in time separately."""
    samples: dict[str, list[int]] = {service: [] for service in apps}

    def burst(service: str) -> Callable[[], None]:
        app, into = apps[service], samples[service]

        def run() -> None:
            for _ in range(per_round):
                into.append(app.request())

        return run

    interleaved_rounds([burst(service) for service in apps], rounds)
    skip = WARMUP_ROUNDS * per_round
    timed = {service: latencies[skip:] for service, latencies in samples.items()}
    if not halves:
        return _figures(name, timed)
    middle = rounds // 2 * per_round
    return [
        *_figures(f"{name}, 1st half", {s: lat[:middle] for s, lat in timed.items()}),
        *_figures(f"{name}, 2nd half", {s: lat[middle:] for s, lat in timed.items()}),
    ]


def _figures(phase: str, samples: dict[str, list[int]]) -> list[Latency]:
    figures = {service: _percentiles(latencies) for service, latencies in samples.items()}
    base_p50, base_p95 = figures["no collector"]
    return [
        Latency(phase, service, len(samples[service]), p50, p95, p50 / base_p50, p95 / base_p95)
        for service, (p50, p95) in figures.items()
    ]


def latency_run(
    folder: Path, rounds: int, per_round: int
) -> tuple[list[Latency], dict[str, float]]:
    live, doomed = CollectorProcess(folder), CollectorProcess(folder)
    apps = {
        "no collector": AppProcess(folder, "none", None, plain_otel=False),
        "live collector": AppProcess(folder, "live", live.endpoint, plain_otel=False),
        "collector stopped": AppProcess(folder, "outage", doomed.endpoint, plain_otel=False),
    }
    try:
        results = _phase("both collectors up", apps, rounds, per_round)
        doomed.stop()
        results += _phase("after the stop", apps, rounds, per_round, halves=True)
        outage = apps["collector stopped"]
        exits = {service: app.exit_seconds() for service, app in apps.items()}
        # What the collector missed is in the store: send all of it to the live one.
        start = time.perf_counter()
        replayed = replay_spans(live.endpoint, base_path=outage.store)
        replay_seconds = time.perf_counter() - start
    finally:
        live.stop()
        for app in apps.values():
            if app.process.poll() is None:
                app.process.kill()
    stored = sum(
        1
        for record in ff_otel.read_records(outage.store / "analytics/system_metrics/spans.jsonl")
        if record["name"] == "GET /work"
    )
    return results, {
        "requests_to_the_outage_service": outage.requests,
        "its_request_spans_in_the_store": stored,
        "replayed_spans": replayed.sent,
        "replay_unsent": replayed.unsent,
        "replay_spans_per_second": replayed.sent / replay_seconds,
        **{f"exit_seconds_{service.replace(' ', '_')}": took for service, took in exits.items()},
    }


# --- 3. exit with a collector that is down -------------------------------------


@dataclass(frozen=True)
class Exit:
    setup: str
    situation: str
    exit_seconds: float


def _requests(app: AppProcess, count: int, spread_seconds: float = 0.0) -> None:
    for _ in range(count):
        app.request()
        if spread_seconds:
            time.sleep(spread_seconds / count)


def _exit_case(folder: Path, setup: str, situation: str) -> Exit:
    case = folder / f"{setup}-{situation}".replace(" ", "_")
    case.mkdir()
    collector = CollectorProcess(case)
    app = AppProcess(case, "app", collector.endpoint, plain_otel=setup == "OTel SDK")
    try:
        _requests(app, 200)
        if situation == "stopped just before exit":
            collector.stop()
            _requests(app, 200)
        elif situation == f"down for {DOWN_BEFORE_EXIT_SECONDS:g} s before exit":
            collector.stop()
            _requests(app, 300, spread_seconds=DOWN_BEFORE_EXIT_SECONDS)
        took = app.exit_seconds()
    finally:
        collector.stop()
        if app.process.poll() is None:
            app.process.kill()
    return Exit(setup, situation, took)


def exit_run(folder: Path) -> list[Exit]:
    situations = (
        "collector up",
        "stopped just before exit",
        f"down for {DOWN_BEFORE_EXIT_SECONDS:g} s before exit",
    )
    cases = [(setup, situation) for setup in ("ff-otel", "OTel SDK") for situation in situations]
    # Each case mostly waits (on a retry, or for its process to end): run them together.
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        return list(pool.map(lambda case: _exit_case(folder, *case), cases))


@contextmanager
def _scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="ff-otel-bench-otlp-") as folder:
        yield Path(folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--requests", type=int, default=100, help="requests per service per round")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    args = parser.parse_args()
    isolate_from_environment()
    started = time.perf_counter()
    with _scratch() as folder:
        latencies, completeness = latency_run(folder, args.rounds, args.requests)
        exits = exit_run(folder)
    took = time.perf_counter() - started
    env = environment()
    print(
        f"ff-otel OTLP outage benchmark: Python {env['python']}, {env['platform']}, "
        f"{env['cpus']} CPUs; {args.rounds} interleaved rounds of {args.requests} requests "
        f"per service and phase; took {took:.1f}s"
    )
    print()
    print(f"{'phase':<26} {'service':<18} {'p50 µs':>8} {'p95 µs':>8} {'p50 x':>6} {'p95 x':>6}")
    for row in latencies:
        print(
            f"{row.phase:<26} {row.service:<18} {row.p50_us:>8.0f} {row.p95_us:>8.0f} "
            f"{row.p50_ratio:>6.2f} {row.p95_ratio:>6.2f}"
        )
    outage = [r for r in latencies if r.service == "collector stopped"]
    met = all(r.p50_ratio <= RATIO_TARGET for r in outage)
    print(f"target: p50 with the collector stopped <= {RATIO_TARGET:.2f}x no collector: "
          f"{'met' if met else 'NOT met'}")  # fmt: skip
    print(
        f"stored: {completeness['its_request_spans_in_the_store']:,.0f} request spans for "
        f"{completeness['requests_to_the_outage_service']:,.0f} requests to the outage service"
    )
    print(
        f"replay: {completeness['replayed_spans']:,.0f} stored spans to the live collector "
        f"at {completeness['replay_spans_per_second']:,.0f} spans/s "
        f"({completeness['replay_unsent']:,.0f} not sent)"
    )
    print()
    print(f"{'exit after SIGTERM':<44} {'ff-otel s':>10} {'OTel SDK s':>11}")
    by_case = {(e.setup, e.situation): e.exit_seconds for e in exits}
    for situation in dict.fromkeys(e.situation for e in exits):
        print(
            f"{situation:<44} {by_case['ff-otel', situation]:>10.2f} "
            f"{by_case['OTel SDK', situation]:>11.2f}"
        )
    if args.json is not None:
        write_results(
            args.json,
            env,
            took,
            [
                *(asdict(row) for row in latencies),
                completeness,
                *(asdict(row) for row in exits),
            ],
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
