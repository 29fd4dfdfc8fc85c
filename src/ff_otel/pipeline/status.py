"""The system's health: built-in checks and statuses derived from what happened.

The store is ``unhealthy`` when it is not writable or has under 100 MiB free,
``degraded`` past the disk threshold; an exporter is ``unhealthy`` when its last
export failed; a span component is ``degraded`` above the error-rate or p95
thresholds and ``unhealthy`` above twice the error-rate threshold, over the
last intervals; the store's records are ``degraded`` when readers skipped
fields of the wrong type. ``system_reliability_score`` = request success ratio
times the checks' mean score; ``data_quality_score`` is :class:`DataQuality`'s.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ff_otel.exporters.guard import ExportStats
from ff_otel.pipeline.health import STATUS_SCORE, CheckResult, HealthStatus, worst
from ff_otel.pipeline.interval import ComponentActivity, IntervalActivity
from ff_otel.spec.config import FFAnalyticsConfigDTO
from ff_otel.spec.models import FFSystemMetricsDTO
from ff_otel.store.layout import StoreLayout
from ff_otel.store.schema import invalid_fields

_LOW_DISK_BYTES = 100 * 1024 * 1024


@dataclass
class SystemHealth:
    """Overall status, each component with its reason, and the latest metrics."""

    status: HealthStatus
    checked_at: str
    components: list[CheckResult]
    metrics: FFSystemMetricsDTO | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checked_at": self.checked_at,
            "components": {
                r.name: {"status": r.status, "detail": r.detail, "source": r.source}
                for r in self.components
            },
            "metrics": self.metrics.to_dict() if self.metrics else None,
        }


def store_health(layout: StoreLayout, analytics: FFAnalyticsConfigDTO) -> CheckResult:
    """Writable, and with disk left (degraded past the alerting config's disk threshold)."""
    folder = layout.analytics_path
    if not os.access(folder, os.W_OK | os.X_OK):
        return CheckResult("store", "unhealthy", f"{folder} is not writable", None, "builtin")
    usage = shutil.disk_usage(folder)
    used_percent = 100.0 * usage.used / usage.total if usage.total else 0.0
    threshold = analytics.alerting_config.disk_usage_threshold_percent
    free = f"{usage.free / 2**30:.1f} GiB free ({100 - used_percent:.1f}%)"
    if usage.free < _LOW_DISK_BYTES:
        return CheckResult("store", "unhealthy", f"almost no disk left: {free}", None, "builtin")
    if used_percent >= threshold:
        return CheckResult(
            "store",
            "degraded",
            f"disk {used_percent:.1f}% used ≥ {threshold:g}%; {free}",
            None,
            "builtin",
        )
    return CheckResult("store", "healthy", f"writable; {free}", None, "builtin")


def component_health(
    window: Iterable[dict[str, ComponentActivity]], analytics: FFAnalyticsConfigDTO
) -> list[CheckResult]:
    """Each span component's status over the window of recent intervals."""

    alerting = analytics.alerting_config
    totals: dict[str, tuple[int, int, float]] = {}
    window = list(window)
    for interval in window:
        for name, c in interval.items():
            spans, errors, p95 = totals.get(name, (0, 0, 0.0))
            totals[name] = (spans + c.spans, errors + c.errors, max(p95, c.p95_ms))
    results = []
    for name, (spans, errors, p95) in sorted(totals.items()):
        rate = 100.0 * errors / spans if spans else 0.0
        reasons: list[str] = []
        status: HealthStatus = "healthy"
        if rate > 2 * alerting.error_rate_threshold_percent:
            status = "unhealthy"
            reasons.append(
                f"error rate {rate:.1f}% > 2 x {alerting.error_rate_threshold_percent:g}%"
            )
        elif rate > alerting.error_rate_threshold_percent:
            status = "degraded"
            reasons.append(f"error rate {rate:.1f}% > {alerting.error_rate_threshold_percent:g}%")
        if p95 > alerting.response_time_threshold_ms:
            status = worst([status, "degraded"])
            reasons.append(f"p95 {p95:.0f} ms > {alerting.response_time_threshold_ms:g} ms")
        summary = (
            f"{spans} spans in the last {len(window)} intervals, {rate:.1f}% failed, "
            f"p95 {p95:.1f} ms"
        )
        detail = "; ".join(reasons) + f" ({summary})" if reasons else summary
        results.append(CheckResult(name, status, detail, None, "component"))
    return results


def exporter_health(signal: str, stats: ExportStats) -> CheckResult:
    name = f"exporter.{signal}"
    if stats.last_export_ok is False:
        return CheckResult(
            name, "unhealthy", f"last export failed: {stats.last_error}", None, "builtin"
        )
    if stats.last_export_ok is None:
        return CheckResult(name, "healthy", "nothing exported yet", None, "builtin")
    return CheckResult(
        name, "healthy", f"{stats.exported} exported, {stats.failures} failures", None, "builtin"
    )


def reliability(activity: IntervalActivity, results: list[CheckResult]) -> float:
    """Request success ratio times the checks' mean score (healthy 1, degraded .5, unhealthy 0)."""
    checks = [STATUS_SCORE[r.status] for r in results if r.source != "component"]
    check_score = sum(checks) / len(checks) if checks else 1.0
    return round(activity.success_rate_percent / 100 * check_score, 4)


@dataclass
class DataQuality:
    """The counts at the previous interval, from which the next interval's quality is taken.

    An interval's quality is the share of its records the exporters stored (not
    dropped) times the share of the lines read back that were whole (not torn).
    """

    exported: int = 0
    dropped: int = 0
    torn: int = 0
    records: int = 0

    def next_interval(
        self, export_stats: dict[str, ExportStats], *, torn: int, records: int
    ) -> float:
        """The quality since the previous call, given the totals so far."""
        exported = sum(stats.exported for stats in export_stats.values())
        dropped = sum(stats.dropped for stats in export_stats.values())
        d_exported, d_dropped = exported - self.exported, dropped - self.dropped
        d_torn, d_read = torn - self.torn, records - self.records
        self.exported, self.dropped, self.torn, self.records = exported, dropped, torn, records
        written_share = d_exported / (d_exported + d_dropped) if d_exported + d_dropped else 1.0
        valid_share = d_read / (d_read + d_torn) if d_read + d_torn else 1.0
        return round(written_share * valid_share, 4)


def record_types_health(at_start: dict[str, int]) -> CheckResult:
    """The stored fields of the wrong type that readers in this process skipped (see
    store/schema.py) since ``at_start`` (:func:`~ff_otel.store.schema.invalid_fields`
    when the pipeline started): degraded, since some answers lack those values."""
    invalid = {
        name: n - at_start.get(name, 0)
        for name, n in invalid_fields().items()
        if n > at_start.get(name, 0)
    }
    if not invalid:
        return CheckResult(
            "store.records", "healthy", "every field read had its type", None, "builtin"
        )
    worst_fields = ", ".join(f"{name} {n}" for name, n in sorted(invalid.items())[:5])
    return CheckResult(
        "store.records",
        "degraded",
        f"{sum(invalid.values())} stored field(s) of the wrong type skipped ({worst_fields})",
        None,
        "builtin",
    )
