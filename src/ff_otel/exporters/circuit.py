"""Pause sending to a collector that is down, so its outage costs nothing and exits stay short.

The standard OTLP exporters retry each batch with backoff until
``OTEL_EXPORTER_OTLP_TIMEOUT`` (10 s by default) runs out. Against a collector
that is down, every batch of every signal pays that in turn: the export
threads fall behind, their queues overflow, and a flush or the flush at
process exit waits one timeout per queued batch (the SDK gives each processor
up to 30 s at shutdown).

One :class:`CollectorCircuit` per collector is shared by the span, log and
metric exporters sending to it. After a batch fails (after the exporter's own
retries), batches of every signal fail at once, unsent, for a pause that
doubles from 1 s up to 10 s; the first batch after a pause is sent for real,
and its success resumes normal sending. Each real attempt keeps the SDK's
retries and timeout; only attempts that would repeat a known failure are
skipped: while the collector is down, a retry first checks that it accepts
connections at all. When the process shuts down, a collector already found down is not
tried again and an attempt under way stops retrying, so exit waits for it at
most the one RPC in flight. The local store is unaffected (its exporters do
not go through here), and every span batch's outcome is written to the
delivery ledger (:mod:`ff_otel.exporters.ledger`), which makes
``ff-otel replay --gaps`` the way to send exactly what the collector missed.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.environment_variables import OTEL_EXPORTER_OTLP_TIMEOUT
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ff_otel.core import clock
from ff_otel.exporters.ledger import DeliveryLedger

FIRST_PAUSE_SECONDS = 1.0
MAX_PAUSE_SECONDS = 10.0
_DEFAULT_TIMEOUT_SECONDS = 10.0

_logger = logging.getLogger("ff_otel.exporters")


@dataclass
class CircuitStats:
    """What a collector's exporters did: batches that failed, records not sent while paused."""

    failed_batches: int = 0
    skipped_batches: int = 0
    skipped_records: int = 0
    down_since: str | None = None
    """When the current outage's first failed batch ended (store timestamp form); None while up."""
    last_success: str | None = None


class CollectorCircuit:
    """Whether to send to one collector now; shared by its three exporters (thread-safe)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.stats = CircuitStats()
        self._lock = threading.Lock()
        self._pause = 0.0
        self._closed_until = 0.0  # monotonic; sending is allowed from then on
        self._skipped_this_outage = 0
        self._gap_start: str | None = None
        self._closing = False
        self._stops: list[_Once] = []
        self._probe = _probe_address(endpoint)
        self._probe_timeout = _timeout_seconds()

    def allows(self) -> bool:
        """True when a batch should be sent; False while paused after a failure."""
        if self._closing and self._gap_start is not None:
            return False
        return time.monotonic() >= self._closed_until

    @property
    def down(self) -> bool:
        """True from a failed batch until a batch succeeds again."""
        return self._gap_start is not None

    def listening(self) -> bool:
        """Whether the collector accepts connections (True where that cannot be checked).

        While it is down, each retry asks this first: a TCP connect, refused
        at once by a host whose collector is not running. Without it, every
        retry would hold the export thread for the exporter's whole retry
        schedule, during which the SDK's queue overflows and it logs a
        warning for each span it drops, in the application's own threads.
        """
        if self._probe is None:
            return True
        try:
            with socket.create_connection(self._probe, timeout=self._probe_timeout):
                return True
        except OSError:
            return False

    def closing(self) -> None:
        """The process is shutting down: a collector already found down is not waited for.

        No batch is sent to it any more, and an attempt under way stops
        retrying (its exporters are shut down now). Its telemetry is in the
        local store; another timeout at exit would only delay the process.
        """
        self._closing = True
        if self._gap_start is not None:
            for stop in self._stops:
                stop()

    def register(self, stop_inner: Callable[[], None]) -> Callable[[], None]:
        """``stop_inner`` made safe to call twice: at closing, and by the processor after."""
        once = _Once(stop_inner, self.endpoint)
        self._stops.append(once)
        return once

    def skipped(self, records: int) -> None:
        with self._lock:
            self.stats.skipped_batches += 1
            self.stats.skipped_records += records
            self._skipped_this_outage += records

    def succeeded(self) -> None:
        with self._lock:
            gap_start = self._gap_start
            skipped = self._skipped_this_outage
            self._pause = 0.0
            self._closed_until = 0.0
            self._skipped_this_outage = 0
            self._gap_start = None
            self.stats.down_since = None
            self.stats.last_success = clock.now_iso()
        if gap_start is not None:
            _logger.warning(
                "ff-otel: the collector at %s accepts telemetry again; %d record(s) were "
                "not sent to it since %s and are in the local store. To send the spans it "
                "never accepted: ff-otel replay --to %s --gaps",
                self.endpoint,
                skipped,
                gap_start,
                self.endpoint,
            )

    def failed(self, records: int) -> None:
        with self._lock:
            first = self._gap_start is None
            self._pause = min(MAX_PAUSE_SECONDS, max(FIRST_PAUSE_SECONDS, self._pause * 2))
            self._closed_until = time.monotonic() + self._pause
            self.stats.failed_batches += 1
            self._skipped_this_outage += records
            if first:
                self.stats.down_since = clock.now_iso()
                # Spans that ended after the last delivery may not have reached
                # the collector: the gap to replay starts there.
                self._gap_start = self.stats.last_success or self.stats.down_since
        if first:
            _logger.warning(
                "ff-otel: the collector at %s did not accept a batch of %d record(s); "
                "sending to it pauses (retried every %g-%g s) while the local store keeps "
                "recording. The spans it does not accept can be sent later with: "
                "ff-otel replay --to %s --gaps",
                self.endpoint,
                records,
                FIRST_PAUSE_SECONDS,
                MAX_PAUSE_SECONDS,
                self.endpoint,
            )


class CircuitSpanExporter(SpanExporter):
    """Sends through ``inner`` unless the collector's circuit is paused.

    Each batch's outcome (accepted, or failed / not sent) goes into
    ``ledger``, so that ``ff-otel replay`` sends exactly the spans the
    collector never accepted.
    """

    def __init__(
        self, inner: SpanExporter, circuit: CollectorCircuit, ledger: DeliveryLedger | None = None
    ) -> None:
        self._inner = inner
        self._circuit = circuit
        self._ledger = ledger
        self._stop_inner = circuit.register(inner.shutdown)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ok = _send(
            self._circuit,
            len(spans),
            lambda: self._inner.export(spans),
            SpanExportResult.SUCCESS,
        )
        if self._ledger is not None:
            self._ledger.record(spans, ok)
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._stop_inner()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


class CircuitLogExporter(LogRecordExporter):
    """Sends through ``inner`` unless the collector's circuit is paused."""

    def __init__(self, inner: LogRecordExporter, circuit: CollectorCircuit) -> None:
        self._inner = inner
        self._circuit = circuit
        self._stop_inner = circuit.register(inner.shutdown)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        ok = _send(
            self._circuit,
            len(batch),
            lambda: self._inner.export(batch),
            LogRecordExportResult.SUCCESS,
        )
        return LogRecordExportResult.SUCCESS if ok else LogRecordExportResult.FAILURE

    def shutdown(self) -> None:
        self._stop_inner()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


class CircuitMetricExporter(MetricExporter):
    """Sends through ``inner`` unless the collector's circuit is paused."""

    def __init__(self, inner: MetricExporter, circuit: CollectorCircuit) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self._inner = inner
        self._circuit = circuit
        self._stop_inner = circuit.register(inner.shutdown)

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        points = sum(
            len(metric.data.data_points)
            for resource in metrics_data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        )
        ok = _send(
            self._circuit,
            points,
            lambda: self._inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs),
            MetricExportResult.SUCCESS,
        )
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._stop_inner()


def _send(
    circuit: CollectorCircuit, records: int, export: Callable[[], Enum], success: Enum
) -> bool:
    if not circuit.allows():
        circuit.skipped(records)
        return False
    if circuit.down and not circuit.listening():
        circuit.failed(records)
        return False
    try:
        ok = export() is success
    except Exception:
        # The SDK's exporters report failure by result; anything raised is a
        # fault that must not reach the processor's thread either.
        _logger.exception("ff-otel: exporting to the collector at %s raised", circuit.endpoint)
        ok = False
    if ok:
        circuit.succeeded()
    else:
        circuit.failed(records)
    return ok


def _probe_address(endpoint: str) -> tuple[str, int] | None:
    """Where the collector listens, to check before retrying; None to always retry for real.

    None behind a proxy (the collector may only be reachable through it) and
    for an endpoint without an explicit port.
    """
    # gRPC reads grpc_proxy in lower case, as well as the *_proxy variables.
    if urllib.request.getproxies() or os.environ.get("grpc_proxy"):  # noqa: SIM112
        return None
    parsed = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    try:
        port = parsed.port
    except ValueError:
        return None
    if parsed.hostname is None or port is None:
        return None
    return parsed.hostname, port


def _timeout_seconds() -> float:
    # The connect check waits as long as the exporter would for one batch.
    try:
        return float(os.environ.get(OTEL_EXPORTER_OTLP_TIMEOUT) or _DEFAULT_TIMEOUT_SECONDS)
    except ValueError:
        return _DEFAULT_TIMEOUT_SECONDS


class _Once:
    """Calls a shutdown once, whoever asks first; a fault is logged, never raised."""

    def __init__(self, stop: Callable[[], None], endpoint: str) -> None:
        self._stop = stop
        self._endpoint = endpoint
        self._lock = threading.Lock()
        self._done = False

    def __call__(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        try:
            self._stop()
        except Exception:
            _logger.exception("ff-otel: shutting down the exporter to %s failed", self._endpoint)
