"""Figures too slow for a request, computed off the request path: BI and audit verification.

Business intelligence reads up to 60 days of events and the window's spans
in SQL (about a second on a compacted month of a million events) and verifying the audit chain reads
the whole trail, so neither runs inside a request. One worker thread computes
them; a request gets the latest result at once (and, when it is older than
its refresh age, starts the next computation), or waits a moment for the
first one and otherwise answers "computing".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ff_otel.compliance.audit import verify
from ff_otel.core import clock
from ff_otel.dashboard.context import StoreView
from ff_otel.pipeline import bi
from ff_otel.store.reader import segment_paths

_logger = logging.getLogger(__name__)

BI_MAX_AGE_SECONDS = 120.0
AUDIT_MAX_AGE_SECONDS = 300.0
FIRST_WAIT_SECONDS = 0.15


@dataclass
class Result:
    """A computed figure, when it was computed and how long it took (or why it failed)."""

    value: Any
    computed_at: str
    seconds: float
    key: Any = None
    error: str | None = None
    began: float = 0.0
    """``time.monotonic()`` when the computation began (what its age is measured from)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "computed_at": self.computed_at,
            "compute_seconds": self.seconds,
            "error": self.error,
        }


class SlowFigures:
    """The latest result of each slow computation, refreshed by one worker thread."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ff-otel-dashboard")
        self._lock = threading.Lock()
        self._results: dict[str, Result] = {}
        self._running: dict[str, Future[None]] = {}

    def get(
        self,
        name: str,
        compute: Callable[[], Any],
        *,
        max_age: float,
        key: Any = None,
        wait: float = FIRST_WAIT_SECONDS,
    ) -> Result | None:
        """The latest result of ``name``; starts a computation when there is none, it is
        older than ``max_age`` seconds, or it was computed for another ``key``."""
        with self._lock:
            result = self._results.get(name)
            due = result is None or result.key != key or time.monotonic() - result.began > max_age
            future = self._running.get(name)
            if due and future is None:
                future = self._running[name] = self._pool.submit(self._run, name, compute, key)
        if result is None and future is not None:
            future_done = _wait(future, wait)
            if future_done:
                with self._lock:
                    result = self._results.get(name)
        return result

    def _run(self, name: str, compute: Callable[[], Any], key: Any) -> None:
        began = time.monotonic()
        try:
            value, error = compute(), None
        except Exception as exc:  # a failed figure is shown as failed, never crashes the server
            _logger.exception("ff-otel dashboard: computing %s failed", name)
            value, error = None, f"{type(exc).__name__}: {exc}"
        seconds = round(time.monotonic() - began, 3)
        result = Result(value, clock.now_iso(), seconds, key, error, began)
        with self._lock:
            self._results[name] = result
            self._running.pop(name, None)

    def warm(self, work: Callable[[], Any]) -> None:
        """Run ``work`` on the worker thread for its side effects (filling caches)."""

        def run() -> None:
            try:
                work()
            except Exception:
                _logger.exception("ff-otel dashboard: warming up failed")

        self._pool.submit(run)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _wait(future: Future[None], seconds: float) -> bool:
    try:
        future.result(timeout=seconds)
    except TimeoutError:
        return False
    return True


def business_intelligence(view: StoreView, period: str) -> dict[str, Any]:
    """The BI summary of the ``period`` ending now, computed in SQL (not stored)."""
    result = bi.generate(
        view.layout,
        view.settings.analytics,
        period,
        None,
        view.settings.business,
        query_url=view.query_url,
    )
    dto = result.dto

    def present(name: str) -> Any:
        return None if name in result.absent else getattr(dto, name)

    return {
        "period": period,
        "window_start": result.extras["window_start"],
        "window_end": result.extras["window_end"],
        "active_users": dto.active_users,
        "new_users": dto.new_users,
        "returning_users": dto.returning_users,
        "total_users": dto.total_users,
        "user_growth_rate_percent": present("user_growth_rate_percent"),
        "average_session_duration_minutes": present("average_session_duration_minutes"),
        "peak_usage_hours": dto.peak_usage_hours,
        "features": dto.most_used_features,
        "feature_abandonment_rates": dto.feature_abandonment_rates,
        "satisfaction_by_day": dto.user_satisfaction_trends,
        "lifecycle": result.extras["lifecycle"],
        "stickiness": result.extras["stickiness"],
        "retention_cohorts": result.extras.get("retention_cohorts"),
        "requests": result.extras["requests"],
        "bottlenecks": dto.performance_bottlenecks,
        "churn_risk_indicators": dto.churn_risk_indicators,
    }


def audit_state(view: StoreView) -> tuple[tuple[str, int, int], ...]:
    """What the audit trail's files look like now: a new record changes it."""
    state = []
    for path in segment_paths(view.layout.audit_logs):
        try:
            status = path.stat()
        except FileNotFoundError:
            continue
        state.append((path.name, status.st_size, status.st_mtime_ns))
    return tuple(state)


def verify_audit(view: StoreView) -> dict[str, Any]:
    checked = verify(view.layout.audit_logs)
    return {
        "ok": checked.ok,
        "records": checked.records,
        "first_bad_index": checked.first_bad_index,
        "reason": checked.reason,
        "sealed": checked.sealed,
    }
