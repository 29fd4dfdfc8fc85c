"""Health checks: user checks with timeouts, and statuses derived from what happened.

A check is ``fn() -> bool`` or ``fn() -> (status, detail)``, sync or async.
Each run happens on a daemon thread and is waited on only until its timeout:
a hanging check is reported as unhealthy ("timed out"), and while it still
hangs it is not started again, so a stuck dependency cannot pile up threads or
hold up collection.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

HealthStatus = Literal["healthy", "degraded", "unhealthy"]
STATUS_ORDER: dict[str, int] = {"healthy": 0, "degraded": 1, "unhealthy": 2}
STATUS_SCORE: dict[str, float] = {"healthy": 1.0, "degraded": 0.5, "unhealthy": 0.0}

HealthCheck = Callable[[], Any]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check (or one derived component status)."""

    name: str
    status: HealthStatus
    detail: str
    duration_ms: float | None = None
    source: Literal["check", "builtin", "component"] = "check"

    def to_record(self) -> dict[str, Any]:
        return {
            "component": self.name,
            "status": self.status,
            "detail": self.detail,
            "duration_ms": self.duration_ms,
            "source": self.source,
        }


def worst(statuses: list[str]) -> HealthStatus:
    """The most severe status of several; healthy when there are none."""
    if not statuses:
        return "healthy"
    name = max(statuses, key=STATUS_ORDER.__getitem__)
    return "unhealthy" if name == "unhealthy" else "degraded" if name == "degraded" else "healthy"


@dataclass
class _Registered:
    fn: HealthCheck
    timeout_seconds: float
    running: threading.Thread | None = None
    started_at: float = 0.0


class HealthRegistry:
    """The process's registered checks; run together, each against its own timeout."""

    def __init__(self) -> None:
        self._checks: dict[str, _Registered] = {}
        self._lock = threading.Lock()

    def register(self, name: str, fn: HealthCheck, timeout_seconds: float = 5.0) -> None:
        if not name or not isinstance(name, str):
            raise ValueError("a health check needs a non-empty name")
        if not callable(fn):
            raise TypeError(f"health check {name!r} is not callable: {fn!r}")
        if timeout_seconds <= 0:
            raise ValueError(f"health check {name!r}: timeout_seconds must be > 0")
        with self._lock:
            self._checks[name] = _Registered(fn, timeout_seconds)

    def unregister(self, name: str) -> None:
        with self._lock:
            self._checks.pop(name, None)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._checks)

    def run_all(self) -> list[CheckResult]:
        with self._lock:
            checks = list(self._checks.items())
        boxes: dict[str, list[CheckResult]] = {}
        started: list[tuple[str, _Registered, float]] = []
        results: list[CheckResult] = []
        for name, check in checks:
            if check.running is not None and check.running.is_alive():
                hung_for = time.monotonic() - check.started_at
                results.append(
                    CheckResult(name, "unhealthy", f"still running after {hung_for:.1f} s (hung)")
                )
                continue
            box: list[CheckResult] = []
            boxes[name] = box
            begin = time.monotonic()
            thread = threading.Thread(
                target=_run_into, args=(name, check.fn, box), name=f"ff-otel-health-{name}"
            )
            thread.daemon = True
            check.running, check.started_at = thread, begin
            thread.start()
            started.append((name, check, begin))
        for name, check, begin in started:
            assert check.running is not None
            check.running.join(max(0.0, begin + check.timeout_seconds - time.monotonic()))
            box = boxes[name]
            if box:
                results.append(box[0])
            else:
                results.append(
                    CheckResult(
                        name,
                        "unhealthy",
                        f"timed out after {check.timeout_seconds:g} s",
                        duration_ms=check.timeout_seconds * 1000,
                    )
                )
        return results


def _run_into(name: str, fn: HealthCheck, box: list[CheckResult]) -> None:
    begin = time.perf_counter()
    try:
        outcome = asyncio.run(fn()) if inspect.iscoroutinefunction(fn) else fn()
        if inspect.isawaitable(outcome):
            outcome = asyncio.run(_await(outcome))
        status, detail = _normalise(outcome)
    except Exception as exc:
        status, detail = "unhealthy", f"raised {type(exc).__name__}: {exc}"
    box.append(CheckResult(name, status, detail, (time.perf_counter() - begin) * 1000))


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _normalise(outcome: Any) -> tuple[HealthStatus, str]:
    if isinstance(outcome, bool):
        return ("healthy", "ok") if outcome else ("unhealthy", "check returned False")
    if isinstance(outcome, tuple) and len(outcome) == 2:
        status, detail = outcome
        if isinstance(status, bool):
            status = "healthy" if status else "unhealthy"
        if status in STATUS_ORDER:
            return status, str(detail)
    return "unhealthy", f"check returned {outcome!r}; expected a bool or (status, detail)"


registry = HealthRegistry()


def register_health_check(name: str, fn: HealthCheck, *, timeout_seconds: float = 5.0) -> None:
    """Run ``fn`` every collection interval; its result joins the system's health.

    ``fn()`` returns ``True``/``False`` or ``(status, detail)`` with status
    ``"healthy"``, ``"degraded"`` or ``"unhealthy"`` (or a bool); it may be
    ``async``. A check that raises is unhealthy with the exception as detail; one
    that runs past ``timeout_seconds`` is reported as timed out, not waited on.
    Registering a name again replaces the check.
    """
    registry.register(name, fn, timeout_seconds)
