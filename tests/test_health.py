"""Health checks and the facade's view of system health."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import ff_otel
from ff_otel import FFConfigurationManagerConfigDTO, FFMetricsCollectionManager
from ff_otel.pipeline.health import registry

from .conftest import records


@pytest.fixture(autouse=True)
def _no_leftover_checks() -> Iterator[None]:
    yield
    for name in registry.names():
        registry.unregister(name)


def test_sync_async_and_detailed_checks_are_reported(handle: ff_otel.FFOtel) -> None:
    async def queue_depth() -> tuple[str, str]:
        await asyncio.sleep(0)
        return "degraded", "queue depth 950 of 1000"

    def broken() -> bool:
        raise ConnectionError("db refused")

    ff_otel.register_health_check("database", lambda: True)
    ff_otel.register_health_check("queue", queue_depth)
    ff_otel.register_health_check("search", broken)
    assert ff_otel.force_flush()

    latest = records(handle.layout.health_checks)[-1]
    checks = {c["component"]: c for c in latest["checks"]}
    assert checks["database"]["status"] == "healthy"
    assert checks["queue"] == checks["queue"] | {
        "status": "degraded",
        "detail": "queue depth 950 of 1000",
    }
    assert checks["search"]["status"] == "unhealthy"
    assert "ConnectionError: db refused" in checks["search"]["detail"]
    assert checks["store"]["status"] == "healthy"
    assert latest["status"] == "unhealthy"


def test_a_hanging_check_times_out_and_is_not_waited_on(handle: ff_otel.FFOtel) -> None:
    release = threading.Event()
    ff_otel.register_health_check("slow-dependency", release.wait, timeout_seconds=0.2)
    try:
        assert ff_otel.force_flush()
        assert ff_otel.force_flush()
    finally:
        release.set()
    first, second = records(handle.layout.health_checks)[-2:]
    by_name = {c["component"]: c for c in first["checks"]}
    assert by_name["slow-dependency"]["status"] == "unhealthy"
    assert "timed out after 0.2 s" in by_name["slow-dependency"]["detail"]
    again = {c["component"]: c for c in second["checks"]}
    assert "hung" in again["slow-dependency"]["detail"]  # not started a second time


def test_bad_registrations_are_rejected() -> None:
    with pytest.raises(TypeError, match="not callable"):
        ff_otel.register_health_check("x", "not a function")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout_seconds"):
        ff_otel.register_health_check("x", lambda: True, timeout_seconds=0)


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
    assert handle.pipeline is not None
    handle.layout.health_checks.unlink()
    handle.layout.health_checks.mkdir()  # appending now fails
    assert ff_otel.force_flush()
    assert handle.pipeline.stats.failures == 1
    handle.layout.health_checks.rmdir()
    ticks = handle.pipeline.stats.ticks
    assert ff_otel.force_flush()
    assert handle.pipeline.stats.ticks == ticks + 1
    assert records(handle.layout.health_checks)


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
