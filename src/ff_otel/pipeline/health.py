"""Health checks: user checks on their own schedule, and statuses derived from what happened.

A check is ``fn() -> bool`` or ``fn() -> (status, detail)``, sync or async.
Checks run beside the pipeline's tick, never in it: a scheduler thread starts
each check every ``interval_seconds`` (by default the collection interval) on a
thread of its own, and the tick only reads the latest results. A check still
running is reported as running (with its last result's status), past its
timeout as timed out (unhealthy), and it is not started again until it
returns, so a stuck dependency can neither pile up threads nor hold up the
interval's readings and snapshots.
"""

from __future__ import annotations

import asyncio
import inspect
import os
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
    state: Literal["done", "running", "timed_out"] = "done"
    """A check's run: its result is in (``done``), in progress, or past its timeout."""

    def to_record(self) -> dict[str, Any]:
        record = {
            "component": self.name,
            "status": self.status,
            "detail": self.detail,
            "duration_ms": self.duration_ms,
            "source": self.source,
        }
        if self.state != "done":
            record["state"] = self.state
        return record


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
    interval_seconds: float | None
    running_since: float | None = None
    last: CheckResult | None = None
    next_due: float = 0.0


class HealthRegistry:
    """The process's registered checks and the scheduler thread that runs them."""

    def __init__(self) -> None:
        self._checks: dict[str, _Registered] = {}
        self._wake = threading.Condition()
        self._users = 0
        self._default_interval = 60.0
        self._scheduler: threading.Thread | None = None

    def register(
        self,
        name: str,
        fn: HealthCheck,
        timeout_seconds: float = 5.0,
        interval_seconds: float | None = None,
    ) -> None:
        if not name or not isinstance(name, str):
            raise ValueError("a health check needs a non-empty name")
        if not callable(fn):
            raise TypeError(f"health check {name!r} is not callable: {fn!r}")
        if timeout_seconds <= 0:
            raise ValueError(f"health check {name!r}: timeout_seconds must be > 0")
        if interval_seconds is not None and interval_seconds <= 0:
            raise ValueError(f"health check {name!r}: interval_seconds must be > 0")
        with self._wake:
            self._checks[name] = _Registered(fn, timeout_seconds, interval_seconds)
            self._wake.notify_all()

    def unregister(self, name: str) -> None:
        with self._wake:
            self._checks.pop(name, None)

    def names(self) -> list[str]:
        with self._wake:
            return list(self._checks)

    def start(self, default_interval_seconds: float) -> None:
        """Run the checks from now on (one call per running configuration; see :meth:`stop`)."""
        with self._wake:
            self._users += 1
            self._default_interval = default_interval_seconds
            if self._scheduler is None or not self._scheduler.is_alive():
                self._scheduler = threading.Thread(
                    target=self._schedule, name="ff-otel-health", daemon=True
                )
                self._scheduler.start()
            self._wake.notify_all()

    def stop(self) -> None:
        """One configuration stopped; the scheduler ends with the last one."""
        with self._wake:
            self._users = max(0, self._users - 1)
            self._wake.notify_all()

    def latest(self) -> list[CheckResult]:
        """Each check's latest result, as of now; never waits for a check.

        Without a running scheduler (a facade collecting on demand) the checks
        that are due are started here, so the next call has their results.
        """
        now = time.monotonic()
        with self._wake:
            if self._users == 0:
                self._start_due(now)
            return [_reported(name, check, now) for name, check in self._checks.items()]

    def _schedule(self) -> None:
        with self._wake:
            while self._users > 0:
                now = time.monotonic()
                self._start_due(now)
                waiting = [
                    c.next_due - now for c in self._checks.values() if c.running_since is None
                ]
                self._wake.wait(max(0.01, min(waiting)) if waiting else None)
            self._scheduler = None

    def _start_due(self, now: float) -> None:
        for name, check in self._checks.items():
            if check.running_since is None and now >= check.next_due:
                check.running_since = now
                check.next_due = now + (check.interval_seconds or self._default_interval)
                threading.Thread(
                    target=self._run, args=(name, check), name=f"ff-otel-health-{name}", daemon=True
                ).start()

    def _run(self, name: str, check: _Registered) -> None:
        result = _run_check(name, check.fn)
        with self._wake:
            check.last, check.running_since = result, None
            self._wake.notify_all()

    def _after_fork(self) -> None:
        # The child has none of the parent's threads: no scheduler, no run in progress.
        self._wake = threading.Condition()
        self._users, self._scheduler = 0, None
        for check in self._checks.values():
            check.running_since, check.next_due = None, 0.0


def _reported(name: str, check: _Registered, now: float) -> CheckResult:
    if check.running_since is None:
        if check.last is None:
            return CheckResult(name, "degraded", "not started yet", state="running")
        return check.last
    running = now - check.running_since
    if running > check.timeout_seconds:
        return CheckResult(
            name,
            "unhealthy",
            f"timed out after {check.timeout_seconds:g} s (still running after {running:.1f} s)",
            duration_ms=round(running * 1000, 1),
            state="timed_out",
        )
    if check.last is None:
        return CheckResult(
            name, "degraded", f"first run still running ({running:.1f} s)", state="running"
        )
    return CheckResult(
        name,
        check.last.status,
        f"running for {running:.1f} s; last result: {check.last.detail}",
        check.last.duration_ms,
        state="running",
    )


def _run_check(name: str, fn: HealthCheck) -> CheckResult:
    begin = time.perf_counter()
    try:
        outcome = asyncio.run(fn()) if inspect.iscoroutinefunction(fn) else fn()
        if inspect.isawaitable(outcome):
            outcome = asyncio.run(_await(outcome))
        status, detail = _normalise(outcome)
    except Exception as exc:
        status, detail = "unhealthy", f"raised {type(exc).__name__}: {exc}"
    return CheckResult(name, status, detail, round((time.perf_counter() - begin) * 1000, 3))


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
os.register_at_fork(after_in_child=registry._after_fork)


def register_health_check(
    name: str,
    fn: HealthCheck,
    *,
    timeout_seconds: float = 5.0,
    interval_seconds: float | None = None,
) -> None:
    """Run ``fn`` every ``interval_seconds`` (default: the collection interval), beside the tick.

    ``fn()`` returns ``True``/``False`` or ``(status, detail)`` with status
    ``"healthy"``, ``"degraded"`` or ``"unhealthy"`` (or a bool); it may be
    ``async``. A check that raises is unhealthy with the exception as detail.
    Each interval's health holds each check's latest result; a check still
    running is reported as running, past ``timeout_seconds`` as timed out
    (unhealthy), and it is not started again until it returns. Registering a
    name again replaces the check.
    """
    registry.register(name, fn, timeout_seconds, interval_seconds)
