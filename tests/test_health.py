"""Health checks and the facade's view of system health."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ff_otel
from ff_otel import FFConfigurationManagerConfigDTO, FFMetricsCollectionManager
from ff_otel.pipeline.health import registry

from .conftest import records, wait_until


@pytest.fixture(autouse=True)
def _no_leftover_checks() -> Iterator[None]:
    yield
    for name in registry.names():
        registry.unregister(name)


def _latest_checks(handle: ff_otel.FFOtel) -> dict[str, dict[str, Any]]:
    stored = records(handle.layout.health_checks)
    return {c["component"]: c for c in stored[-1]["checks"]} if stored else {}


def _flushed_checks(
    handle: ff_otel.FFOtel, until: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Flush (one tick each time) until the latest health record satisfies ``until``."""
    found: dict[str, Any] = {}

    def satisfied() -> bool:
        nonlocal found
        assert ff_otel.force_flush()
        found = _latest_checks(handle)
        return until(found)

    wait_until(satisfied)
    return found


def test_sync_async_and_detailed_checks_are_reported(handle: ff_otel.FFOtel) -> None:
    async def queue_depth() -> tuple[str, str]:
        await asyncio.sleep(0)
        return "degraded", "queue depth 950 of 1000"

    def broken() -> bool:
        raise ConnectionError("db refused")

    ff_otel.register_health_check("database", lambda: True)
    ff_otel.register_health_check("queue", queue_depth)
    ff_otel.register_health_check("search", broken)
    checks = _flushed_checks(
        handle,
        lambda c: all(n in c and "state" not in c[n] for n in ("database", "queue", "search")),
    )
    assert checks["database"]["status"] == "healthy"
    assert checks["queue"] == checks["queue"] | {
        "status": "degraded",
        "detail": "queue depth 950 of 1000",
    }
    assert checks["search"]["status"] == "unhealthy"
    assert "ConnectionError: db refused" in checks["search"]["detail"]
    assert checks["store"]["status"] == "healthy"
    assert records(handle.layout.health_checks)[-1]["status"] == "unhealthy"


def test_a_hanging_check_is_reported_running_then_timed_out_and_not_restarted(
    handle: ff_otel.FFOtel,
) -> None:
    release = threading.Event()
    started = []

    def slow_dependency() -> bool:
        started.append(time.monotonic())
        return release.wait()

    ff_otel.register_health_check("slow-dependency", slow_dependency, timeout_seconds=1.5)
    try:
        wait_until(lambda: bool(started))
        running = _flushed_checks(handle, lambda c: "slow-dependency" in c)["slow-dependency"]
        assert running["state"] in ("running", "timed_out")
        if running["state"] == "running":
            assert running["detail"].startswith("first run still running")
        timed_out = _flushed_checks(
            handle, lambda c: c["slow-dependency"].get("state") == "timed_out"
        )["slow-dependency"]
        assert timed_out["status"] == "unhealthy"
        assert "timed out after 1.5 s" in timed_out["detail"]
        assert len(started) == 1  # hung: never started a second time
    finally:
        release.set()
    done = _flushed_checks(handle, lambda c: "state" not in c["slow-dependency"])
    assert done["slow-dependency"]["status"] == "healthy"


def test_a_hanging_check_does_not_slow_the_readings_and_snapshots(tmp_path: Path) -> None:
    # The check hangs for the whole test, with a timeout far longer than the
    # interval: were the tick waiting on it, no second reading would come
    # before 60 s. Six intervals' readings come well within that.
    release = threading.Event()
    ff_otel.register_health_check("hangs", release.wait, timeout_seconds=60)
    handle = ff_otel.configure(
        base_path=tmp_path,
        analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=1),
    )
    try:
        # An interval appends its reading, health record and snapshot one after
        # another: wait for all three.
        streams = (handle.layout.resource_usage, handle.layout.health_checks)
        wait_until(
            lambda: all(len(records(s)) >= 6 for s in (*streams, handle.layout.performance)),
            timeout=50,
        )
        hung = [
            c
            for record in records(handle.layout.health_checks)
            for c in record["checks"]
            if c["component"] == "hangs"
        ]
        assert len(hung) >= 6 and all(c["state"] == "running" for c in hung)
    finally:
        release.set()
        ff_otel.shutdown()


def test_each_check_keeps_its_own_schedule(handle: ff_otel.FFOtel) -> None:
    runs = {"often": 0, "hourly": 0}

    def counted(name: str) -> Callable[[], bool]:
        def check() -> bool:
            runs[name] += 1
            return True

        return check

    ff_otel.register_health_check("often", counted("often"), interval_seconds=0.05)
    ff_otel.register_health_check("hourly", counted("hourly"), interval_seconds=3600)
    wait_until(lambda: runs["often"] >= 5)
    assert runs["hourly"] == 1
    checks = _flushed_checks(handle, lambda c: "hourly" in c)
    assert checks["hourly"]["status"] == "healthy"


def test_bad_registrations_are_rejected() -> None:
    with pytest.raises(TypeError, match="not callable"):
        ff_otel.register_health_check("x", "not a function")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout_seconds"):
        ff_otel.register_health_check("x", lambda: True, timeout_seconds=0)
    with pytest.raises(ValueError, match="interval_seconds"):
        ff_otel.register_health_check("x", lambda: True, interval_seconds=-1)


@ff_otel.instrument(component="llm")
def flaky_llm() -> None:
    raise TimeoutError("no answer")


async def test_failing_component_turns_unhealthy_in_get_system_health(
    handle: ff_otel.FFOtel,
) -> None:
    config = FFConfigurationManagerConfigDTO()
    config.storage.base_path = handle.layout.base_path
    manager = FFMetricsCollectionManager(config)
    for _ in range(5):
        with pytest.raises(TimeoutError):
            flaky_llm()
    assert ff_otel.force_flush()

    health = await manager.get_system_health()
    assert health["status"] == "unhealthy"
    llm = health["components"]["llm"]
    assert llm["status"] == "unhealthy"
    assert "error rate 100.0%" in llm["detail"]
    assert health["metrics"]["error_count"] == 5
    assert {"store", "exporter.spans"} <= set(health["components"])
    stored = records(handle.layout.health_checks)[-1]
    assert stored["status"] == "unhealthy"
    assert {c["component"]: c["status"] for c in stored["checks"]}["llm"] == "unhealthy"


def test_collection_errors_are_counted_and_the_loop_goes_on(handle: ff_otel.FFOtel) -> None:
    # The collector also ticks on its own every second, beside these flushes:
    # counts only grow, by how much depends on the machine's speed.
    assert handle.pipeline is not None
    handle.layout.health_checks.unlink()
    handle.layout.health_checks.mkdir()  # appending now fails
    assert ff_otel.force_flush()  # the failing tick did not raise into the flush
    assert handle.pipeline.stats.failures >= 1
    handle.layout.health_checks.rmdir()
    ticks = handle.pipeline.stats.ticks
    assert ff_otel.force_flush()
    assert handle.pipeline.stats.ticks > ticks
    assert records(handle.layout.health_checks)  # written again: the loop went on


async def test_continuous_collection_starts_and_stops(tmp_path: Path) -> None:
    config = FFConfigurationManagerConfigDTO()
    config.storage.base_path = tmp_path
    config.analytics.collection_interval_seconds = 1
    manager = FFMetricsCollectionManager(config)
    assert await manager.start_continuous_collection()
    deadline = time.monotonic() + 30
    while len(records(manager.layout.resource_usage)) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert await manager.stop_continuous_collection()
    written = len(records(manager.layout.resource_usage))
    assert written >= 2
    await asyncio.sleep(1.2)
    assert len(records(manager.layout.resource_usage)) == written
    assert ff_otel.current() is None


def test_a_new_service_reports_its_health_long_before_its_first_interval(tmp_path: Path) -> None:
    # The default one-minute interval: the first health record and snapshot
    # come within seconds, so `ff-otel status` is not "unknown" for a minute.
    handle = ff_otel.configure(base_path=tmp_path, system_metrics=False)
    assert handle.settings.analytics.collection_interval_seconds == 60
    ff_otel.register_health_check("database", lambda: True)
    # The health record is written just before the snapshot: wait for both.
    wait_until(
        lambda: bool(records(handle.layout.health_checks) and records(handle.layout.performance)),
        timeout=45,
    )
    status = subprocess.run(
        [str(Path(sys.executable).parent / "ff-otel"), "status", "--json", "--base-path", tmp_path],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert json.loads(status.stdout)["status"] == "healthy", status.stdout
    assert status.returncode == 0
