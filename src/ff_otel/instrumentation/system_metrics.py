"""psutil readings of the host and this process, and the OTel instruments over them.

Nothing here blocks: CPU utilisation and network throughput are computed from
the difference between two readings (``cpu_times`` and ``net_io_counters``)
instead of psutil's ``cpu_percent(interval=1)``, which sleeps a second. The
kernel's tick counters move every 10 ms, so a reading taken less than 20 ms
after the sampler was created waits out the rest of those 20 ms (once, on a
worker thread) rather than report a meaningless rate. Readings are cached for
half a second so that the dozen observable callbacks of one collection share
one set of psutil calls.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from opentelemetry.metrics import CallbackOptions, Meter, Observation

from ff_otel.spec.config import FFAnalyticsConfigDTO

_MIB = 1024 * 1024
_Read = Callable[["ResourceReading"], float | int]
_CACHE_SECONDS = 0.5
_MIN_RATE_SECONDS = 0.02


@dataclass(frozen=True)
class ResourceReading:
    """One moment's resource usage. Rates cover the time since the previous reading."""

    taken_at: float
    cpu_utilization: float
    memory_used_bytes: int
    memory_utilization: float
    disk_used_bytes: int
    disk_utilization: float
    disk_mountpoint: str
    network_bytes_per_second: float
    process_cpu_utilization: float
    process_rss_bytes: int
    process_threads: int
    process_open_fds: int
    process_uptime_seconds: float

    @property
    def cpu_usage_percent(self) -> float:
        return self.cpu_utilization * 100

    @property
    def network_io_mbps(self) -> float:
        """The spec's ``network_io_mbps``: MiB per second, sent plus received."""
        return self.network_bytes_per_second / _MIB

    def to_record(self) -> dict[str, object]:
        """The ``resource_usage.jsonl`` fields (the spec's units: percent and MB)."""
        return {
            "cpu_usage_percent": round(self.cpu_usage_percent, 2),
            "memory_usage_mb": round(self.memory_used_bytes / _MIB, 1),
            "memory_usage_percent": round(self.memory_utilization * 100, 2),
            "disk_usage_mb": round(self.disk_used_bytes / _MIB, 1),
            "disk_usage_percent": round(self.disk_utilization * 100, 2),
            "disk_mountpoint": self.disk_mountpoint,
            "network_io_mbps": round(self.network_io_mbps, 4),
            "process": {
                "pid": os.getpid(),
                "cpu_usage_percent": round(self.process_cpu_utilization * 100, 2),
                "rss_mb": round(self.process_rss_bytes / _MIB, 1),
                "threads": self.process_threads,
                "open_fds": self.process_open_fds,
                "uptime_seconds": round(self.process_uptime_seconds, 1),
            },
        }


class SystemSampler:
    """Takes :class:`ResourceReading`\\ s; rates are deltas between consecutive readings."""

    def __init__(self, disk_path: Path) -> None:
        self.disk_path = disk_path
        self._process = psutil.Process()
        self._cpu_count = psutil.cpu_count() or 1
        self._lock = threading.Lock()
        self._last: ResourceReading | None = None
        self._cpu_times = psutil.cpu_times()
        self._net_bytes = _net_bytes()
        self._process_cpu = _process_cpu_seconds(self._process)
        self._previous_at = time.monotonic()
        self._mountpoint = _mountpoint_of(disk_path)

    def reading(self) -> ResourceReading:
        """The latest reading, taking a new one unless one was taken in the last 0.5 s."""
        with self._lock:
            last = self._last
            if last is not None and time.monotonic() - last.taken_at < _CACHE_SECONDS:
                return last
            self._last = self._take()
            return self._last

    def _take(self) -> ResourceReading:
        waited = time.monotonic() - self._previous_at
        if waited < _MIN_RATE_SECONDS:
            time.sleep(_MIN_RATE_SECONDS - waited)
        now = time.monotonic()
        elapsed = now - self._previous_at
        cpu_times = psutil.cpu_times()
        net_bytes = _net_bytes()
        process_cpu = _process_cpu_seconds(self._process)
        cpu = _cpu_utilization(self._cpu_times, cpu_times)
        network = (net_bytes - self._net_bytes) / elapsed
        process_share = (process_cpu - self._process_cpu) / (elapsed * self._cpu_count)
        self._cpu_times, self._net_bytes, self._process_cpu = cpu_times, net_bytes, process_cpu
        self._previous_at = now
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(str(self.disk_path))
        with self._process.oneshot():
            rss = self._process.memory_info().rss
            threads = self._process.num_threads()
            fds = self._process.num_fds()
            uptime = time.time() - self._process.create_time()
        return ResourceReading(
            taken_at=now,
            cpu_utilization=cpu,
            memory_used_bytes=memory.used,
            memory_utilization=memory.percent / 100,
            disk_used_bytes=disk.used,
            disk_utilization=disk.used / disk.total if disk.total else 0.0,
            disk_mountpoint=self._mountpoint,
            network_bytes_per_second=network,
            process_cpu_utilization=process_share,
            process_rss_bytes=rss,
            process_threads=threads,
            process_open_fds=fds,
            process_uptime_seconds=uptime,
        )


def resource_sampler(
    disk_path: Path, analytics: FFAnalyticsConfigDTO, *, system_metrics: bool = True
) -> SystemSampler | None:
    """The sampler for a store on ``disk_path``, or None when resources are not to be read.

    ``system_metrics=False`` and ``track_resource_usage=False`` mean the same:
    no psutil reading at all (no ``resource_usage.jsonl``, no ``system.*`` or
    ``process.*`` metrics, no resource fields in snapshots).
    """
    if not (system_metrics and analytics.track_resource_usage):
        return None
    return SystemSampler(disk_path)


def _cpu_utilization(before: Any, after: Any) -> float:
    idle_before = float(before.idle + getattr(before, "iowait", 0.0))
    idle_after = float(after.idle + getattr(after, "iowait", 0.0))
    total = float(sum(after) - sum(before))
    if total <= 0:
        return 0.0
    return max(0.0, min(1.0, 1.0 - (idle_after - idle_before) / total))


def _net_bytes() -> int:
    counters = psutil.net_io_counters()
    return int(counters.bytes_sent + counters.bytes_recv) if counters else 0


def _process_cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _mountpoint_of(path: Path) -> str:
    resolved = path.resolve()
    while not os.path.ismount(resolved) and resolved != resolved.parent:
        resolved = resolved.parent
    return str(resolved)


def register_host_instruments(meter: Meter, sampler: SystemSampler) -> None:
    """Host-wide gauges (OTel ``system.*`` semantic conventions). One process per store."""

    def gauge(name: str, unit: str, description: str, read: _Read) -> None:
        meter.create_observable_gauge(name, [_observe(sampler, read)], unit, description)

    gauge("system.cpu.utilization", "1", "Share of CPU time not idle", lambda r: r.cpu_utilization)
    gauge("system.memory.usage", "By", "Memory in use", lambda r: r.memory_used_bytes)
    gauge(
        "system.memory.utilization", "1", "Share of memory in use", lambda r: r.memory_utilization
    )
    gauge(
        "system.filesystem.usage",
        "By",
        "Bytes used on the store's volume",
        lambda r: r.disk_used_bytes,
    )
    gauge(
        "system.filesystem.utilization",
        "1",
        "Share of the store's volume used",
        lambda r: r.disk_utilization,
    )
    gauge(
        "system.network.io.rate",
        "By/s",
        "Bytes sent plus received per second",
        lambda r: r.network_bytes_per_second,
    )


def register_process_instruments(meter: Meter, sampler: SystemSampler) -> None:
    """This process's gauges (OTel ``process.*`` semantic conventions)."""

    def gauge(name: str, unit: str, description: str, read: _Read) -> None:
        meter.create_observable_gauge(name, [_observe(sampler, read)], unit, description)

    gauge(
        "process.cpu.utilization",
        "1",
        "Share of all CPUs used by this process",
        lambda r: r.process_cpu_utilization,
    )
    gauge("process.memory.usage", "By", "Resident set size", lambda r: r.process_rss_bytes)
    gauge("process.thread.count", "{thread}", "Threads", lambda r: r.process_threads)
    gauge(
        "process.open_file_descriptor.count",
        "{fd}",
        "Open file descriptors",
        lambda r: r.process_open_fds,
    )
    gauge(
        "process.uptime", "s", "Time since the process started", lambda r: r.process_uptime_seconds
    )


def _observe(
    sampler: SystemSampler, read: _Read
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(read(sampler.reading()))]

    return callback
