"""The pipeline: store-wide work done once per interval by the store's collector.

After every metric collection the periodic reader calls :meth:`Pipeline.tick`.
The process holding the store's collector lease then folds the interval's new
span and log records, takes a resource reading, runs the health checks and
writes ``resource_usage.jsonl``, ``health_checks.jsonl``, ``performance.jsonl``
and an interval summary in ``error_rates.jsonl`` (as the analytics level and
the switches of :mod:`ff_otel.pipeline.levels` say).
Other processes sharing the store only try for the lease. A failing tick is
logged and counted; the next one runs as usual.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ff_otel.alerting.engine import AlertEngine
from ff_otel.analytics.sessions import SessionTracker
from ff_otel.compliance import regulatory, retention, security
from ff_otel.core import clock
from ff_otel.core.gc import gc_paused
from ff_otel.exporters.guard import ExportStats
from ff_otel.instrumentation.system_metrics import ResourceReading, SystemSampler
from ff_otel.pipeline import reports, snapshot
from ff_otel.pipeline.health import (
    CheckResult,
    registry,
    worst,
)
from ff_otel.pipeline.interval import ComponentActivity, IntervalActivity
from ff_otel.pipeline.levels import policy_for
from ff_otel.pipeline.status import (
    DataQuality,
    SystemHealth,
    component_health,
    exporter_health,
    record_types_health,
    store_health,
)
from ff_otel.spec.config import FFAnalyticsConfigDTO, FFBusinessInputsDTO
from ff_otel.spec.models import FFSystemMetricsDTO
from ff_otel.store.appender import Placed, append_records
from ff_otel.store.documents import read_json, write_json_atomic
from ff_otel.store.layout import StoreLayout
from ff_otel.store.lease import CollectorLease
from ff_otel.store.reader import read_records
from ff_otel.store.schema import invalid_fields
from ff_otel.store.tail import StreamTail

_logger = logging.getLogger("ff_otel.pipeline")
_WINDOW_INTERVALS = 5
_RETENTION_EVERY_SECONDS = 3600.0
_REGULATORY_EVERY_SECONDS = 86_400.0


@dataclass
class PipelineStats:
    ticks: int = 0
    failures: int = 0
    last_error: str | None = None
    _last_logged: float = field(default=0.0, repr=False)


class Pipeline:
    """Interval snapshots, health and resource records for one store."""

    def __init__(
        self,
        layout: StoreLayout,
        analytics: FFAnalyticsConfigDTO,
        sampler: SystemSampler | None,
        export_stats: Callable[[], dict[str, ExportStats]],
        on_leadership: Callable[[], None] | None = None,
        sessions: SessionTracker | None = None,
        business: FFBusinessInputsDTO | None = None,
        alerts: AlertEngine | None = None,
    ) -> None:
        self.business = business
        self.alerts = alerts
        self.layout = layout
        self.analytics = analytics
        self.sampler = sampler
        self.policy = policy_for(analytics)
        self.stats = PipelineStats()
        self.latest_metrics: FFSystemMetricsDTO | None = None
        self.latest_health: SystemHealth | None = None
        self._export_stats = export_stats
        self._on_leadership = on_leadership
        self._lease = CollectorLease(layout.analytics_path / ".collector.lock")
        self._resumed = False
        self._checkpoint_path = layout.analytics_path / ".pipeline_checkpoint.json"
        self._spans = StreamTail(layout.spans)
        self._logs = StreamTail(layout.logs)
        self._events = StreamTail(layout.behavior_patterns)
        self._metrics = StreamTail(layout.metrics)
        self._security = StreamTail(layout.security_events)
        self._last_retention = 0.0
        self._periods_without_data: dict[tuple[str, datetime], datetime] = {}
        self.sessions = sessions
        self._window: deque[dict[str, ComponentActivity]] = deque(maxlen=_WINDOW_INTERVALS)
        self._quality = DataQuality()
        # The counter is process-wide: a pipeline reports what was skipped
        # since it started, not what an earlier configuration's readers met.
        self._invalid_at_start = invalid_fields()
        self._last_collect = time.monotonic()
        self._lock = threading.Lock()
        self._running = True
        self._host = socket.gethostname()

    @property
    def running(self) -> bool:
        return self._running

    @property
    def is_collector(self) -> bool:
        return self._lease.held

    def start(self) -> None:
        self._running = True

    def stop(self) -> None:
        self._running = False

    def close(self) -> None:
        self._running = False
        self.release_collector()

    def release_collector(self) -> None:
        self._lease.release()
        self._resumed = False

    def claim_collector(self) -> None:
        """Take the lease now, if it is free; the takeover itself waits for the first tick.

        Called when a configuration starts, before the process can fork: the
        process that configures first (a gunicorn master) is then the
        collector, not whichever of it and its workers happens to tick first.
        """
        self._lease.try_acquire()

    def tick(self) -> None:
        """One interval's work, if this process is the store's collector. Never raises."""
        if not self._running:
            return
        try:
            if self.acquire_collector():
                self.collect(store=True)
        except Exception as exc:
            self._count_failure(exc)

    def acquire_collector(self) -> bool:
        """Hold (or try to take) the store's collector lease."""
        if self._resumed and self._lease.held:
            return True
        if not self._lease.try_acquire():
            return False
        # Taking over from an earlier collector: go on from where it stopped
        # rather than summarise again what it already did.
        try:
            checkpoint = read_json(self._checkpoint_path)
        except (FileNotFoundError, ValueError):
            checkpoint = {}
        for name, tail in self._tails():
            if isinstance(checkpoint.get(name), dict):
                tail.resume(checkpoint[name])
        if self.alerts is not None:
            self.alerts.reload()
            if isinstance(checkpoint.get("anomaly"), dict):
                self.alerts.anomalies.restore(checkpoint["anomaly"])
        if self.sessions is not None:
            for session in read_records(self.layout.session_analytics):
                self.sessions.learn(session)
            if isinstance(checkpoint.get("sessions"), dict):
                self.sessions.restore(checkpoint["sessions"])
        if self._on_leadership is not None:
            self._on_leadership()
        self._resumed = True
        return True

    def collect(self, *, store: bool) -> FFSystemMetricsDTO:
        """Summarise the interval since the last collection; write its records when ``store``."""
        # The collector stays paused for the whole tick (see ff_otel.core.gc): the
        # interval's parsed records and closed sessions are all freed, by
        # their counts, when ``_collect`` returns, before it runs again. Paused
        # only around the parse and the fold, its first collection after them
        # walked every record still held (0.4 s per 200,000 events, twice).
        with self._lock, gc_paused():
            return self._collect(store)

    def _collect(self, store: bool) -> FFSystemMetricsDTO:
        now = time.monotonic()
        seconds, self._last_collect = now - self._last_collect, now
        spans, events = self._spans.read_new(), self._events.read_new()
        activity = IntervalActivity.from_records(seconds, spans, self._logs.read_new())
        self._window.append(dict(activity.components))
        closed = self._fold_user_events(events)
        self._forget_periods_without_data(spans, events)
        reading = self.sampler.reading() if self.sampler is not None else None
        results = self._health_results(reading)
        metrics = snapshot.interval_metrics(activity, reading, results, self._data_quality())
        ratings = self.sessions.take_interval_ratings() if self.sessions else []
        if self.sessions is not None:
            metrics.active_sessions = self.sessions.active_sessions
            metrics.concurrent_users = self.sessions.concurrent_users
        if ratings:
            metrics.user_satisfaction_score = round(sum(ratings) / len(ratings), 3)
        health = SystemHealth(
            status=worst([r.status for r in results]),
            checked_at=clock.format_iso(metrics.timestamp),
            components=results,
            metrics=metrics,
        )
        self.latest_metrics, self.latest_health = metrics, health
        self.stats.ticks += 1
        metric_values = snapshot.application_metric_values(self._metrics.read_new())
        metric_values.update(security.interval_counts(self._security.read_new()))
        if store and self.alerts is not None:
            self.alerts.evaluate(metrics, metric_values, time.time())
        if store:
            snapshot.write_interval_records(
                self.layout,
                self.policy,
                self._host,
                metrics,
                health,
                activity,
                reading,
                has_ratings=bool(ratings),
                tracks_sessions=self.sessions is not None,
            )
            self._write_sessions(closed)
            self._save_checkpoint()
            self._write_due_reports()
            self._compliance_housekeeping()
        return metrics

    def _compliance_housekeeping(self) -> None:
        # Hourly retention; the regulatory report when it is a day old or missing.
        now = time.time()
        if now - self._last_retention >= _RETENTION_EVERY_SECONDS:
            self._last_retention = now
            retention.run_retention(self.layout, self.analytics)
        report = self.layout.regulatory_reports_path
        try:
            stale = now - report.stat().st_mtime >= _REGULATORY_EVERY_SECONDS
        except FileNotFoundError:
            stale = True
        if stale:
            regulatory.write(self.layout, self.analytics)

    def _write_due_reports(self) -> None:
        analytics = self.analytics
        for period, start, stop in reports.due_reports(
            self.layout, analytics, clock.now(), self._periods_without_data
        ):
            report = reports.build_report(
                self.layout, analytics, period, start, stop, self.business
            )
            reports.write_report(self.layout, report, analytics.report_output_formats)

    def _save_checkpoint(self) -> None:
        checkpoint: dict[str, Any] = {name: tail.position() for name, tail in self._tails()}
        if self.sessions is not None:
            checkpoint["sessions"] = self.sessions.state()
        if self.alerts is not None:
            checkpoint["anomaly"] = self.alerts.anomalies.states()
        if self.sessions is None or self.alerts is None:
            # A pipeline without session tracking or alerting (the facade's
            # collector in a process of its own) keeps the open
            # sessions and the anomaly detectors the service's collector left,
            # for the next collector to restore.
            try:
                previous = read_json(self._checkpoint_path)
            except (FileNotFoundError, ValueError):
                previous = {}
            if not isinstance(previous, dict):
                previous = {}
            for kept in ("sessions", "anomaly"):
                if kept not in checkpoint and isinstance(previous.get(kept), dict):
                    checkpoint[kept] = previous[kept]
        write_json_atomic(self._checkpoint_path, checkpoint)

    def _tails(self) -> list[tuple[str, StreamTail]]:
        return [
            ("spans", self._spans),
            ("logs", self._logs),
            ("events", self._events),
            ("metrics", self._metrics),
            ("security", self._security),
        ]

    def adopt_user_events(self, placed: Placed, records: list[dict[str, Any]]) -> None:
        """User events this process just stored (``placed`` says where their lines are):
        while it is the store's collector, the next tick folds them as they are, not
        parsed back from the file. They differ from what their lines parse to only
        inside ``data`` (a value orjson stores as its text, a tuple as a list), which
        the fold does not read. Called from the user-event writer's thread."""
        # Whatever the tail's position (a checkpoint resumed or not yet), it
        # takes only records whose lines it reaches: held only by a running
        # collector, which ticks and so reads them.
        if self._running and self._lease.held and self.sessions is not None:
            self._events.adopt(placed.inode, placed.start, placed.ends, records)

    def _forget_periods_without_data(self, *new: list[dict[str, Any]]) -> None:
        # A period found empty is not looked at again (see reports.due_reports)
        # unless a span or user event of it arrived since (a backfill).
        if not self._periods_without_data:
            return
        until = clock.format_iso(max(self._periods_without_data.values()))
        for records in new:
            for record in records:
                stamp = record.get("timestamp")
                if isinstance(stamp, str) and stamp < until:
                    self._periods_without_data.clear()
                    return

    def _fold_user_events(self, events: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        if self.sessions is None:
            return []
        closed: list[tuple[str, dict[str, Any]]] = []
        add = self.sessions.add
        for event in events:
            closed.extend(add(event))
        closed.extend(self.sessions.expire())
        return closed

    def _write_sessions(self, closed: list[tuple[str, dict[str, Any]]]) -> None:
        sessions = [record for kind, record in closed if kind == "session"]
        engagement = [record for kind, record in closed if kind == "engagement"]
        if sessions:
            append_records(self.layout.session_analytics, sessions)
        if engagement:
            append_records(self.layout.engagement_metrics, engagement)

    def forget_user(self, user_hash: str) -> None:
        """Drop what the collector holds in memory about an erased user."""
        with self._lock:
            if self.sessions is not None:
                self.sessions.forget_user(user_hash)

    def _data_quality(self) -> float:
        read = (self._spans.stats, self._logs.stats)
        return self._quality.next_interval(
            self._export_stats(),
            torn=sum(stats.torn_lines for stats in read),
            records=sum(stats.records for stats in read),
        )

    def _health_results(self, reading: ResourceReading | None) -> list[CheckResult]:
        results = registry.latest()
        results.append(store_health(self.layout, self.analytics))
        results.append(record_types_health(self._invalid_at_start))
        for signal, stats in self._export_stats().items():
            results.append(exporter_health(signal, stats))
        results.extend(component_health(self._window, self.analytics))
        return results

    def _count_failure(self, exc: Exception) -> None:
        stats = self.stats
        stats.failures += 1
        stats.last_error = f"{type(exc).__name__}: {exc}"
        now = time.monotonic()
        if stats._last_logged and now - stats._last_logged < 60:
            return
        stats._last_logged = now
        _logger.error(
            "ff-otel pipeline tick failed (%d so far): %s",
            stats.failures,
            stats.last_error,
            exc_info=exc,
        )
