"""Alerts fleet-wide: the store's alert rules evaluated against the fleet's telemetry.

``ff-otel monitor --query-url URL`` builds, every interval, the snapshot a
store's collector builds from its own records, from the fleet's spans, logs
and metric points in ClickHouse over the interval just ended, and feeds it to
the same :class:`~ff_otel.alerting.engine.AlertEngine`: the same built-in and
configured rules, per-component alerts, anomaly detection, noise control,
silences and notifications.

The snapshot's request figures use BI's span statement
(:func:`ff_otel.pipeline.bi_figures.span_activity`), so latencies are the
1%-accurate sketch's percentiles; error and warning logs count as in
:mod:`ff_otel.pipeline.interval`; ``metric:<name>`` rules read the interval's
metric points (:func:`ff_otel.pipeline.snapshot.application_metric_values`).
Resource readings are each host's own: the resource rules see no value and
never fire fleet-wide.

State is the monitor's own store (``--base-path``): ``alerts.jsonl`` as for a
collector, so ``ff-otel alerts`` lists, acknowledges and silences there. The
monitor evaluates only while it holds that store's collector lease, so a second
monitor (or a service) on the same store stands by and takes over within an
interval when the first stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ff_otel.alerting.engine import AlertEngine
from ff_otel.pipeline.bi_figures import span_activity
from ff_otel.pipeline.snapshot import application_metric_values
from ff_otel.settings.model import FFOtelSettings
from ff_otel.spec.models import FFSystemMetricsDTO
from ff_otel.sql.engine import sql
from ff_otel.sql.safety import QueryError
from ff_otel.store.layout import StoreLayout
from ff_otel.store.lease import CollectorLease

_RANGE = '"timestamp" >= $start AND "timestamp" < $stop'
_LOGS_SQL = f"""
SELECT count(*) AS n, severity_number FROM logs WHERE {_RANGE} AND severity_number >= 13
GROUP BY severity_number
"""
_METRICS_SQL = f"""
SELECT "timestamp", name, type, temporality, value, sum, count, scope FROM metrics
WHERE {_RANGE} ORDER BY "timestamp"
"""
_ERROR = 17


@dataclass
class FleetSnapshot:
    """One interval of the fleet: the snapshot the rules watch and the metric values."""

    metrics: FFSystemMetricsDTO
    metric_values: dict[str, float]
    requests: int


def fleet_snapshot(
    layout: StoreLayout, query_url: str, start: datetime, stop: datetime
) -> FleetSnapshot:
    """What the fleet did in ``[start, stop)`` (aware or naive-UTC instants)."""
    first, last = _naive(start), _naive(stop)
    seconds = max((last - first).total_seconds(), 1e-9)
    spans = span_activity(layout.base_path, first, last, query_url)
    window = {"start": first, "stop": last}
    error_logs = warning_logs = 0
    for row in sql(_LOGS_SQL, window, base_path=layout.base_path, query_url=query_url):
        if row["severity_number"] >= _ERROR:
            error_logs += row["n"]
        else:
            warning_logs += row["n"]
    points = sql(_METRICS_SQL, window, base_path=layout.base_path, query_url=query_url)
    requests = spans.requests
    count, failed = requests["count"], requests["errors"]
    components = spans.components
    metrics = FFSystemMetricsDTO(
        collection_period_seconds=max(1, round(seconds)),
        response_time_ms=round(requests["latency"].quantile(0.95) or 0.0, 3),
        throughput_requests_per_second=round(count / seconds, 3),
        error_count=sum(c["errors"] for c in components.values()) + error_logs,
        warning_count=warning_logs,
        success_rate_percent=round(100.0 * (count - failed) / count, 3) if count else 100.0,
        component_response_times={
            name: round(c["latency"].quantile(0.95) or 0.0, 3) for name, c in components.items()
        },
        component_error_rates={
            name: round(100.0 * c["errors"] / c["count"], 3) if c["count"] else 0.0
            for name, c in components.items()
        },
    )
    return FleetSnapshot(metrics, application_metric_values(points), count)


class FleetMonitor:
    """The alert engine of one monitor store, fed from the fleet's ClickHouse."""

    def __init__(
        self, layout: StoreLayout, settings: FFOtelSettings, engine: AlertEngine, query_url: str
    ) -> None:
        self.layout = layout
        self.query_url = query_url
        self.interval = timedelta(seconds=settings.analytics.collection_interval_seconds)
        self.engine = engine
        self._lease = CollectorLease(layout.analytics_path / ".collector.lock")
        self._was_holder = False

    @property
    def active(self) -> bool:
        """Whether this monitor holds its store's lease (and so evaluates)."""
        return self._lease.held

    def tick(self, now: datetime) -> list[dict[str, Any]] | None:
        """Evaluate the interval ending at ``now``; None while another process holds the store.

        Returns the alert records of every change. A query that fails (the
        backend down, a timeout) raises :class:`~ff_otel.QueryError`; the next
        tick tries again.
        """
        if not self._lease.try_acquire():
            return None
        if not self._was_holder:
            # Taking over from another monitor: its alerts are the state to continue from.
            self.engine.reload()
            self._was_holder = True
        snapshot = fleet_snapshot(self.layout, self.query_url, now - self.interval, now)
        return self.engine.evaluate(snapshot.metrics, snapshot.metric_values, now.timestamp())

    def run(self, stop: threading.Event, on_error: Callable[[QueryError], None]) -> None:
        """Tick every interval until ``stop`` is set; ``on_error(exc)`` for a failed tick."""
        while not stop.is_set():
            try:
                self.tick(datetime.now(UTC))
            except QueryError as exc:
                on_error(exc)
            stop.wait(self.interval.total_seconds())

    def close(self) -> None:
        self.engine.dispatcher.close()
        self._lease.release()


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
