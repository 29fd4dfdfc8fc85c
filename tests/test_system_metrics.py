"""Resource readings, interval snapshots and the one-collector-per-store rule."""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

import ff_otel
from ff_otel.instrumentation import SystemSampler

from .conftest import records, wait_until


def test_readings_agree_with_psutil_at_the_same_moment(tmp_path: Path) -> None:
    sampler = SystemSampler(tmp_path)
    reading = sampler.reading()
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(str(tmp_path))
    rss = psutil.Process().memory_info().rss

    # Memory moves a little between two calls; 2% of the total is generous.
    assert abs(reading.memory_used_bytes - memory.used) < 0.02 * memory.total
    assert abs(reading.memory_utilization * 100 - memory.percent) < 2
    assert abs(reading.disk_used_bytes - disk.used) < 0.01 * disk.total
    assert abs(reading.process_rss_bytes - rss) < 64 * 2**20
    assert reading.process_threads == psutil.Process().num_threads()
    assert 0 <= reading.cpu_utilization <= 1
    assert reading.process_uptime_seconds > 0


def test_cpu_utilisation_follows_real_work(tmp_path: Path) -> None:
    sampler = SystemSampler(tmp_path)
    wall_before = time.monotonic()
    sampler.reading()
    time.sleep(0.6)
    cpu_before = time.process_time()
    stop = time.monotonic() + 1.0
    while time.monotonic() < stop:
        sum(i * i for i in range(10_000))  # keep one core as busy as the machine allows
    busy = sampler.reading()
    cpu_used = time.process_time() - cpu_before
    # What the kernel says this process used, as a share of all CPUs, over the
    # sampler's window (which also holds the sleep before, however long it took).
    window = time.monotonic() - wall_before
    expected = cpu_used / (window * (psutil.cpu_count() or 1))
    assert busy.process_cpu_utilization == pytest.approx(expected, abs=0.08)
    assert busy.process_cpu_utilization > 0


def test_network_throughput_is_a_rate_not_a_counter(tmp_path: Path) -> None:
    sampler = SystemSampler(tmp_path)
    before = time.monotonic()
    sampler.reading()
    time.sleep(0.6)
    payload = b"x" * (4 * 2**20)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def drain() -> None:
        connection, _ = server.accept()
        with connection:
            while connection.recv(1 << 16):
                pass

    receiver = threading.Thread(target=drain)
    receiver.start()
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.sendall(payload * 5)  # 20 MiB over loopback
    receiver.join()
    server.close()
    busy = sampler.reading()
    window = time.monotonic() - before
    time.sleep(0.6)
    quiet = sampler.reading()

    total_counter = psutil.net_io_counters()
    counter_mib = (total_counter.bytes_sent + total_counter.bytes_recv) / 2**20
    # Loopback counts each byte as sent and received: at least 40 MiB over the
    # sampler's window, which lies inside the one measured here.
    assert busy.network_io_mbps >= 40 / window
    assert quiet.network_io_mbps < busy.network_io_mbps / 4
    assert quiet.network_io_mbps < counter_mib  # a rate, not the running total


@ff_otel.instrument(component="payments")
def pay(fail: bool) -> None:
    if fail:
        raise RuntimeError("gateway refused")


@ff_otel.instrument(component="catalog")
def browse() -> None:
    pass


def test_snapshot_fields_come_from_the_intervals_spans(flush_driven: ff_otel.FFOtel) -> None:
    handle = flush_driven
    assert handle.pipeline is not None
    handle.pipeline.collect(store=False)  # start a fresh interval
    for i in range(20):
        browse()
        with contextlib.suppress(RuntimeError):
            pay(fail=i % 4 == 0)
    assert ff_otel.force_flush()
    (snapshot,) = records(handle.layout.performance)[-1:]
    assert snapshot["error_count"] == 5
    assert snapshot["success_rate_percent"] == pytest.approx(100 * 35 / 40)
    assert snapshot["component_error_rates"] == {"payments": 25.0, "catalog": 0.0}
    assert set(snapshot["component_response_times"]) == {"payments", "catalog"}
    assert snapshot["throughput_requests_per_second"] > 0
    assert snapshot["component_health"]["payments"] == "unhealthy"  # 25% > 2 x 5%
    assert snapshot["component_health"]["catalog"] == "healthy"
    assert 0 < snapshot["system_reliability_score"] <= 1
    assert snapshot["data_quality_score"] == 1.0
    assert snapshot["active_sessions"] == 0 and snapshot["concurrent_users"] == 0
    assert "user_satisfaction_score" not in snapshot  # no ratings: absent, not zero
    # system_metrics=False in this fixture: no resource readings either.
    assert "cpu_usage_percent" not in snapshot
    (summary,) = [
        r for r in records(handle.layout.error_rates) if r["record_type"] == "interval_summary"
    ][-1:]
    assert summary["failed_requests"] == 5 and summary["requests"] == 40


def test_resource_usage_is_written_each_interval(tmp_path: Path) -> None:
    handle = ff_otel.configure(
        base_path=tmp_path,
        analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=1),
    )
    wait_until(lambda: len(records(handle.layout.resource_usage)) >= 2)  # two intervals
    assert ff_otel.force_flush()
    usage = records(handle.layout.resource_usage)
    assert len(usage) >= 3
    last = usage[-1]
    assert last["process"]["pid"] == os.getpid()
    assert 0 <= last["cpu_usage_percent"] <= 100
    assert last["memory_usage_mb"] > 0 and last["disk_usage_mb"] > 0
    points = {p["name"] for p in records(handle.layout.metrics)}
    assert {
        "system.cpu.utilization",
        "system.memory.usage",
        "process.memory.usage",
        "process.thread.count",
        "system.network.io.rate",
    } <= points
    snapshot = records(handle.layout.performance)[-1]
    assert snapshot["memory_usage_mb"] == pytest.approx(last["memory_usage_mb"], rel=0.1)


@pytest.mark.parametrize(("level", "stored"), [("minimal", False), ("standard", True)])
def test_analytics_level_decides_what_is_stored(tmp_path: Path, level: str, stored: bool) -> None:
    handle = ff_otel.configure(
        base_path=tmp_path,
        system_metrics=False,
        analytics=ff_otel.FFAnalyticsConfigDTO(analytics_level=level),
    )
    browse()
    assert ff_otel.force_flush()
    assert bool(records(handle.layout.performance)) is stored
    assert records(handle.layout.health_checks)  # health is recorded at every level


_WORKER = """
import sys, time
import ff_otel
ff_otel.configure(base_path=sys.argv[1], service_name="worker",
                  analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=1))
print("up", flush=True)
time.sleep(float(sys.argv[2]))
ff_otel.shutdown()
"""


def test_two_processes_sharing_a_store_write_one_host_reading_per_interval(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(tmp_path), "3.5"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "up"
    for worker in workers:
        assert worker.wait(timeout=60) == 0
    elapsed = time.monotonic() - started
    usage = records(tmp_path / "analytics" / "system_metrics" / "resource_usage.jsonl")
    writers = [r["process"]["pid"] for r in usage]
    # While both run, one of them is the collector; the other can only take
    # over once the first has shut down (at most one hand-over, at the end).
    hand_overs = sum(1 for a, b in itertools.pairwise(writers) if a != b)
    assert hand_overs <= 1, f"host readings alternate between processes: {writers}"
    # At most one per elapsed second (the 1 s interval), plus each process's final flush.
    assert 1 <= len(usage) <= int(elapsed) + 2
    host_points = [
        p
        for p in records(tmp_path / "analytics" / "system_metrics" / "metrics.jsonl")
        if p["name"] == "system.cpu.utilization"
    ]
    assert len(host_points) <= len(usage)
