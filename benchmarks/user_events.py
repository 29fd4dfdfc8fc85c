"""``record_user_event`` against the floor of writing the same lines, and the SDK logs pipeline.

Each variant runs in a fresh process pinned to one CPU (so every background
thread shares the caller's core), on a fresh store, with the same burst of
``--events`` calls (the spec's four types, sessions of a few thousand users
interleaved: ``user_events()``):

- ``ff_otel``: ``ff_otel.configure()`` (no host sampling), the burst of
  ``record_user_event`` calls back to back, then ``ff_otel.force_flush()``
  (which also runs the collector's tick over the new events). The figure is
  events found in ``behavior_patterns.jsonl`` per wall second from the first
  call until the flush returned; also the process's CPU time per event (all
  threads, the collector's tick included), each call's latency (p50, p99,
  max: taken with ``perf_counter_ns`` around each call, while the writer
  thread is busy with the calls before) and the events dropped.
- ``floor``: the lines that run stored (``behavior_patterns.jsonl`` and
  ``feature_usage.jsonl``, read back), serialised with orjson and appended in
  batches of 4,096 with one ``write`` each, to a fresh file: the least any
  store of these lines can cost.
- ``sdk_logs``: the design not taken, for the same events: each event
  (pseudonymised and scrubbed beforehand, outside the timing) emitted as an
  OTel log event through the SDK's ``LoggerProvider`` and a
  ``BatchLogRecordProcessor`` (queue 262,144, batches of 4,096) into the
  store's ``FlatfileLogExporter``, then ``force_flush()``: what the store
  would pay to carry user events through the SDK's logs pipeline, before
  any of ff-otel's own work.

- ``fold``: the collector's per-event work on that run's events, in a fresh
  process: parsing them from the stream (``StreamTail``), as it does for
  another process's events (its own process's it takes as the writer built
  them), and folding them into sessions (``SessionTracker``), each timed.

- ``sustained`` (after the runs): two child processes side by side for
  ``--sustained-seconds`` (30): one with ff-otel configured as a service
  would (defaults: system metrics, the collector at its 60 s interval, its
  first tick 5 s after start) recording ``--rate`` (2,000) user events per
  second, paced in steps of 10 ms, then ``force_flush()``; its twin runs the
  same paced loop over the same calls with a function that does nothing in
  place of ``record_user_event``. The figure is the CPU time ff-otel's
  process used above its twin's, as a share of one core over the recording
  time: all of it, and the background part (every thread but the caller's,
  and the closing flush, which runs the collector's tick over what the
  interval left).

Targets (issue 4/9): ff_otel >= 50,000 events/s with none dropped, >= 0.10x
the floor in the same run, <= 20 µs CPU per event, caller p99 <= 50 µs, the
session fold <= 10 µs per event, background CPU at 2,000 events/s <= 5% of
one core. Median of ``--runs`` runs of each, the variants taking turns.

    .venv/bin/python benchmarks/user_events.py [--events 200000] [--runs 3]
        [--rate 2000] [--sustained-seconds 30] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson

from _common import environment, isolate_from_environment, write_results

EVENTS_PER_SECOND_TARGET = 50_000.0
FLOOR_RATIO_TARGET = 0.10
CPU_US_TARGET = 20.0
CALLER_P99_US_TARGET = 50.0
FOLD_US_TARGET = 10.0
BACKGROUND_PERCENT_TARGET = 5.0
PACING_SECONDS = 0.01
BATCH = 4_096
USERS = 3_000

EventCall = tuple[str, str, str, dict[str, Any]]

_PLATFORMS = ("web", "ios", "android", "desktop")
_LANGUAGES = ("en-US", "de-DE", "fr-FR", "ja-JP", "pt-BR")
_PAGES = ("/chat", "/documents", "/search", "/settings", "/history")
_FEATURE_SETS = (
    ["search"],
    ["search", "filters"],
    ["document_upload", "summarize"],
    ["export"],
    ["voice_input", "chat"],
    ["tools", "code_interpreter"],
)
_MODELS = ("gpt-4o-mini", "claude-3-5-haiku", "llama-3.1-8b")


def user_events(count: int, seed: int = 1) -> list[EventCall]:
    """``count`` (user_id, session_id, event_type, event_data) calls, sessions interleaved.

    Each session of a user is a ``session_start``, two to six ``feature_usage``
    or ``content_interaction`` events and a ``session_end``; about 64 sessions
    of different users are open at any time, so events of many users
    interleave as they do in a real service.
    """
    rnd = random.Random(seed)
    calls: list[EventCall] = []
    open_sessions: list[list[EventCall]] = []
    session_number = 0
    while len(calls) < count:
        while len(open_sessions) < 64:
            session_number += 1
            open_sessions.append(_session(rnd, session_number))
        session = open_sessions[rnd.randrange(len(open_sessions))]
        calls.append(session.pop(0))
        if not session:
            open_sessions.remove(session)
    return calls


def _session(rnd: random.Random, number: int) -> list[EventCall]:
    user = f"user-{rnd.randrange(USERS):05d}"
    session = f"sess-{number:08d}-{rnd.getrandbits(32):08x}"
    platform_name = rnd.choice(_PLATFORMS)
    events: list[EventCall] = [
        (
            user,
            session,
            "session_start",
            {
                "platform": platform_name,
                "language": rnd.choice(_LANGUAGES),
                "user_agent": f"ChatClient/4.{rnd.randrange(10)} ({platform_name})",
            },
        )
    ]
    actions = 0
    for _ in range(rnd.randrange(2, 7)):
        if rnd.random() < 0.5:
            events.append(
                (
                    user,
                    session,
                    "feature_usage",
                    {"features": rnd.choice(_FEATURE_SETS), "page": rnd.choice(_PAGES)},
                )
            )
            actions += 1
        else:
            messages = rnd.randrange(1, 8)
            events.append(
                (
                    user,
                    session,
                    "content_interaction",
                    {
                        "messages": messages,
                        "documents": rnd.randrange(3),
                        "tools": rnd.randrange(4),
                        "searches": rnd.randrange(3),
                        "model": rnd.choice(_MODELS),
                        "channel": "web" if platform_name == "web" else "app",
                    },
                )
            )
            actions += messages
    events.append(
        (
            user,
            session,
            "session_end",
            {
                "duration": rnd.randrange(30, 3600),
                "actions": actions,
                "exit_page": rnd.choice(_PAGES),
            },
        )
    )
    return events


@contextmanager
def one_core() -> Iterator[int]:
    """Pin every thread of this process (and those it starts) to its first allowed CPU."""
    allowed = os.sched_getaffinity(0)
    cpu = min(allowed)
    _set_affinity({cpu})
    try:
        yield cpu
    finally:
        _set_affinity(allowed)


def _set_affinity(cpus: set[int]) -> None:
    # sched_setaffinity(0) pins the calling thread only: every thread that
    # already runs is pinned by its id, and new ones inherit the mask.
    for task in os.listdir("/proc/self/task"):
        with suppress(ProcessLookupError, FileNotFoundError):  # a thread that ended meanwhile
            os.sched_setaffinity(int(task), cpus)


def run_ff_otel(base_path: Path, events: int) -> dict[str, Any]:
    import ff_otel

    calls = user_events(events)
    handle = ff_otel.configure(base_path=base_path, service_name="bench", system_metrics=False)
    record = ff_otel.record_user_event
    clock = time.perf_counter_ns
    latencies = [0] * len(calls)
    accepted = 0
    try:
        cpu_start = time.process_time()
        start = time.perf_counter()
        for index, (user, session, event_type, data) in enumerate(calls):
            before = clock()
            accepted += record(user, session, event_type, data)
            latencies[index] = clock() - before
        calls_done = time.perf_counter()
        # The same work as one force_flush(), split to show where the time
        # goes: the writer's queue into the files, then the rest of the flush
        # (the collector's tick over the new events, the first tick's reports).
        assert handle.analytics is not None and handle.analytics.writer is not None
        handle.analytics.writer.flush()
        written = time.perf_counter()
        flushed_ok = ff_otel.force_flush()
        flushed = time.perf_counter()
        cpu = time.process_time() - cpu_start
        stats = handle.export_stats()["user_events"]
    finally:
        ff_otel.shutdown()
    stored = sum(1 for _ in ff_otel.read_records(handle.layout.behavior_patterns))
    latencies.sort()
    wall = flushed - start
    return {
        "events": len(calls),
        "accepted": accepted,
        "stored": stored,
        "dropped": stats.dropped,
        "flush_ok": flushed_ok,
        "wall_seconds": wall,
        "calls_seconds": calls_done - start,
        "flush_seconds": flushed - calls_done,
        "queue_drain_seconds": written - calls_done,
        "collector_tick_seconds": flushed - written,
        "events_per_second_into_files": stored / (written - start),
        "events_per_second": stored / wall,
        "cpu_us_per_event": cpu / len(calls) * 1e6,
        "caller_p50_us": latencies[len(latencies) // 2] / 1000,
        "caller_p99_us": latencies[len(latencies) * 99 // 100] / 1000,
        "caller_max_us": latencies[-1] / 1000,
        "lines": [
            str(handle.layout.behavior_patterns.parent / name)
            for name in ("behavior_patterns.jsonl", "feature_usage.jsonl")
        ],
    }


def run_floor(lines_from: Sequence[str], target: Path) -> dict[str, Any]:
    records: list[Any] = []
    for path in lines_from:
        for segment in sorted(Path(path).parent.glob(Path(path).stem + "*.jsonl")):
            records.extend(orjson.loads(line) for line in segment.read_bytes().splitlines())
    dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    start = time.perf_counter()
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        for first in range(0, len(records), BATCH):
            payload = bytearray()
            for record in records[first : first + BATCH]:
                payload += dumps(record, option=option)
            os.write(fd, payload)
    finally:
        os.close(fd)
    took = time.perf_counter() - start
    return {"lines": len(records), "seconds": took}


def run_sdk_logs(base_path: Path, events: int) -> dict[str, Any]:
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    from ff_otel.exporters import FlatfileLogExporter
    from ff_otel.privacy import Pseudonymizer, Scrubber

    pseudonymizer = Pseudonymizer(os.urandom(32))
    scrubber = Scrubber(pseudonymizer)
    prepared = [
        (
            pseudonymizer.user(user),
            pseudonymizer.session(session),
            event_type,
            scrubber.body(data, "event_data"),
        )
        for user, session, event_type, data in user_events(events)
    ]
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(
        BatchLogRecordProcessor(
            FlatfileLogExporter(base_path, scrubber),
            max_queue_size=262_144,
            max_export_batch_size=BATCH,
        )
    )
    emit = provider.get_logger("bench").emit
    info = SeverityNumber.INFO
    clock = time.perf_counter_ns
    latencies = [0] * len(prepared)
    cpu_start = time.process_time()
    start = time.perf_counter()
    for index, (user, session, event_type, body) in enumerate(prepared):
        before = clock()
        emit(
            timestamp=time.time_ns(),
            severity_number=info,
            severity_text="INFO",
            event_name="ff.user_event",
            body=body,
            attributes={"user.hash": user, "session.id": session, "ff.event.type": event_type},
        )
        latencies[index] = clock() - before
    calls_done = time.perf_counter()
    provider.force_flush()
    flushed = time.perf_counter()
    cpu = time.process_time() - cpu_start
    provider.shutdown()
    latencies.sort()
    return {
        "events": len(prepared),
        "events_per_second": len(prepared) / (flushed - start),
        "calls_seconds": calls_done - start,
        "cpu_us_per_event": cpu / len(prepared) * 1e6,
        "caller_p50_us": latencies[len(latencies) // 2] / 1000,
        "caller_p99_us": latencies[len(latencies) * 99 // 100] / 1000,
    }


def run_fold(lines_from: Sequence[str], scratch: Path) -> dict[str, Any]:
    """The collector's per-event work on the run's events: parse them from a stream
    (``StreamTail``) and fold them into sessions (``SessionTracker``)."""
    import ff_otel
    from ff_otel.analytics.sessions import SessionTracker
    from ff_otel.core.gc import gc_paused
    from ff_otel.store.tail import StreamTail

    stream = scratch / "behavior_patterns.jsonl"
    with stream.open("wb") as out:
        for record in ff_otel.read_records(Path(lines_from[0])):
            out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    start = time.perf_counter()
    events = StreamTail(stream, from_end=False).read_new()
    parsed = time.perf_counter()
    tracker = SessionTracker(1800)
    closed = []
    with gc_paused():  # as the pipeline folds them
        for event in events:
            closed.extend(tracker.add(event))
    closed.extend(tracker.expire())
    folded = time.perf_counter()
    return {
        "events": len(events),
        "sessions_closed": len(closed) // 2,
        "parse_us_per_event": (parsed - start) / len(events) * 1e6,
        "fold_us_per_event": (folded - parsed) / len(events) * 1e6,
    }


def run_sustained(base_path: Path, rate: float, seconds: float, *, ff: bool) -> dict[str, Any]:
    """``rate`` events a second for ``seconds``, paced; with ff-otel or with a no-op."""
    calls = user_events(int(rate * seconds))
    record: Any = _record_nothing
    if ff:
        import ff_otel

        handle = ff_otel.configure(base_path=base_path, service_name="bench")
        record = ff_otel.record_user_event
    per_step = max(1, round(rate * PACING_SECONDS))
    cpu_start, caller_start = time.process_time(), time.thread_time()
    start = time.perf_counter()
    accepted = 0
    for index, (user, session, event_type, data) in enumerate(calls):
        if index % per_step == 0:
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        accepted += record(user, session, event_type, data)
    recorded = time.perf_counter() - start
    caller_cpu = time.thread_time() - caller_start
    result: dict[str, Any] = {"events": len(calls), "accepted": accepted}
    if ff:
        result["flush_ok"] = ff_otel.force_flush()
        result["dropped"] = handle.export_stats()["user_events"].dropped
        result["pipeline_ticks"] = handle.pipeline.stats.ticks if handle.pipeline else 0
    cpu = time.process_time() - cpu_start
    if ff:
        ff_otel.shutdown()
        result["stored"] = sum(1 for _ in ff_otel.read_records(handle.layout.behavior_patterns))
    result.update(recording_seconds=recorded, cpu_seconds=cpu, caller_cpu_seconds=caller_cpu)
    return result


def _record_nothing(user: str, session: str, event_type: str, data: dict[str, Any]) -> bool:
    return True


def child(args: argparse.Namespace) -> dict[str, Any]:
    variant, scratch, events, lines = args.child, args.scratch, args.events, args.lines
    if variant.startswith("sustained"):
        return run_sustained(
            scratch, args.rate, args.sustained_seconds, ff=variant == "sustained_ff_otel"
        )
    with one_core():
        if variant == "ff_otel":
            return run_ff_otel(scratch, events)
        if variant == "floor":
            return run_floor(lines, scratch / "floor.jsonl")
        if variant == "fold":
            return run_fold(lines, scratch)
        return run_sdk_logs(scratch, events)


def in_fresh_process(variant: str, scratch: Path, events: int, lines: list[str]) -> dict[str, Any]:
    return _result(variant, _start(variant, scratch, events, lines))


def _start(
    variant: str, scratch: Path, events: int, lines: list[str], *sustained: str
) -> subprocess.Popen[str]:
    scratch.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--child",
            variant,
            "--scratch",
            str(scratch),
            "--events",
            str(events),
            *(["--lines", *lines] if lines else []),
            *sustained,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(variant: str, process: subprocess.Popen[str]) -> dict[str, Any]:
    stdout, stderr = process.communicate(timeout=1800)
    if process.returncode != 0:
        raise SystemExit(f"{variant} run failed:\n{stderr}")
    result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return result


def sustained(scratch: Path, rate: float, seconds: float) -> dict[str, Any]:
    """ff-otel recording ``rate`` events/s beside its twin doing nothing, side by side."""
    pace = ("--rate", str(rate), "--sustained-seconds", str(seconds))
    started = {
        variant: _start(variant, scratch / variant, 0, [], *pace)
        for variant in ("sustained_ff_otel", "sustained_twin")
    }
    ff, twin = (_result(variant, process) for variant, process in started.items())
    seconds_recorded = ff["recording_seconds"]
    total = ff["cpu_seconds"] - twin["cpu_seconds"]
    background = (
        ff["cpu_seconds"]
        - ff["caller_cpu_seconds"]
        - (twin["cpu_seconds"] - twin["caller_cpu_seconds"])
    )
    return {
        "ff_otel": ff,
        "twin": twin,
        "percent_of_one_core": 100 * total / seconds_recorded,
        "background_percent_of_one_core": 100 * background / seconds_recorded,
        "caller_us_per_event": (ff["caller_cpu_seconds"] - twin["caller_cpu_seconds"])
        / ff["events"]
        * 1e6,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, metavar="PATH")
    parser.add_argument(
        "--child",
        choices=("ff_otel", "floor", "sdk_logs", "fold", "sustained_ff_otel", "sustained_twin"),
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--rate", type=float, default=2_000.0)
    parser.add_argument("--sustained-seconds", type=float, default=30.0)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--lines", nargs="*", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    isolate_from_environment()
    started = time.perf_counter()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ff-otel-bench-events-") as scratch:
        for index in range(args.runs):
            base = Path(scratch) / f"run-{index}"
            ff = in_fresh_process("ff_otel", base / "ff", args.events, [])
            floor = in_fresh_process("floor", base / "floor", args.events, ff["lines"])
            sdk = in_fresh_process("sdk_logs", base / "sdk", args.events, [])
            fold = in_fresh_process("fold", base / "fold", args.events, ff["lines"])
            floor_rate = args.events / floor["seconds"]
            runs.append(
                {
                    "ff_otel": ff,
                    "floor": floor,
                    "sdk_logs": sdk,
                    "fold": fold,
                    "floor_events_per_second": floor_rate,
                    "ratio_to_floor": ff["events_per_second"] / floor_rate,
                }
            )
        steady = sustained(Path(scratch) / "sustained", args.rate, args.sustained_seconds)
    took = time.perf_counter() - started
    median_run = sorted(runs, key=lambda run: run["ff_otel"]["events_per_second"])[len(runs) // 2]
    ff, sdk = median_run["ff_otel"], median_run["sdk_logs"]
    dropped = sum(run["ff_otel"]["dropped"] for run in runs)
    cpu = statistics.median(run["ff_otel"]["cpu_us_per_event"] for run in runs)
    p99 = statistics.median(run["ff_otel"]["caller_p99_us"] for run in runs)
    ratio = median_run["ratio_to_floor"]
    rate = ff["events_per_second"]
    env = environment()
    each = ", ".join(f"{run['ff_otel']['events_per_second']:,.0f}" for run in runs)
    print(
        f"record_user_event, {args.events:,} events then force_flush(), one CPU, fresh process "
        f"per variant, median of {args.runs} runs (Python {env['python']}); took {took:.0f}s"
    )
    met = "met" if rate >= EVENTS_PER_SECOND_TARGET else "NOT met"
    print(
        f"  ff_otel      {rate:10,.0f} events/s (runs: {each}; target >= "
        f"{EVENTS_PER_SECOND_TARGET:,.0f}) {met}"
    )
    into_files = ff["events_per_second_into_files"]
    print(
        f"  into files   {into_files:10,.0f} events/s until the writer's queue was drained "
        f"({into_files / median_run['floor_events_per_second']:.3f}x of the floor)"
    )
    print(
        f"  floor        {median_run['floor_events_per_second']:10,.0f} events/s "
        f"(orjson + batched append of the same {median_run['floor']['lines']:,} lines)"
    )
    print(
        f"  ratio        {ratio:10.3f}x of the floor (target >= {FLOOR_RATIO_TARGET}x) "
        f"{'met' if ratio >= FLOOR_RATIO_TARGET else 'NOT met'}"
    )
    print(
        f"  CPU          {cpu:10.2f} µs per event, all threads (target <= {CPU_US_TARGET}) "
        f"{'met' if cpu <= CPU_US_TARGET else 'NOT met'}"
    )
    print(
        f"  caller       p50 {ff['caller_p50_us']:.2f} µs, p99 {p99:.2f} µs "
        f"(target <= {CALLER_P99_US_TARGET}) {'met' if p99 <= CALLER_P99_US_TARGET else 'NOT met'}"
        f", max {ff['caller_max_us']:,.0f} µs"
    )
    print(
        f"  dropped      {dropped} of {args.events * args.runs:,} "
        f"({'met' if dropped == 0 else 'NOT met'}); wall {ff['wall_seconds']:.2f} s = calls "
        f"{ff['calls_seconds']:.2f} s + queue drain {ff['queue_drain_seconds']:.2f} s "
        f"+ collector tick {ff['collector_tick_seconds']:.2f} s"
    )
    print(
        f"  sdk_logs     {sdk['events_per_second']:10,.0f} events/s, "
        f"{sdk['cpu_us_per_event']:.2f} µs CPU per event, caller p50 "
        f"{sdk['caller_p50_us']:.2f} µs p99 {sdk['caller_p99_us']:.2f} µs "
        f"(the SDK logs pipeline into the flatfile exporter, events prepared beforehand)"
    )
    fold_us = statistics.median(run["fold"]["fold_us_per_event"] for run in runs)
    parse_us = statistics.median(run["fold"]["parse_us_per_event"] for run in runs)
    print(
        f"  collector    {fold_us:10.2f} µs per event folding into sessions (target <= "
        f"{FOLD_US_TARGET}) {'met' if fold_us <= FOLD_US_TARGET else 'NOT met'}; "
        f"{parse_us:.2f} µs per event parsing them from the stream"
    )
    background = steady["background_percent_of_one_core"]
    steady_ff = steady["ff_otel"]
    print(
        f"  sustained    {background:10.2f}% of one core in the background at {args.rate:,.0f} "
        f"events/s for {steady_ff['recording_seconds']:.0f} s (target <= "
        f"{BACKGROUND_PERCENT_TARGET}%) "
        f"{'met' if background <= BACKGROUND_PERCENT_TARGET else 'NOT met'}"
        f"; {steady['percent_of_one_core']:.2f}% with the calls "
        f"({steady['caller_us_per_event']:.2f} µs each); {steady_ff['stored']:,} of "
        f"{steady_ff['events']:,} stored, {steady_ff['dropped']} dropped, "
        f"{steady_ff['pipeline_ticks']} collector ticks"
    )
    if args.json is not None:
        write_results(args.json, env, took, [*runs, {"sustained": steady}])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
