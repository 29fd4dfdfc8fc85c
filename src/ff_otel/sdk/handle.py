"""The handle ``configure()`` returns: what one configuration runs and where it writes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider

from ff_otel.analytics.recorder import UserEventRecorder
from ff_otel.analytics.writer import UserEventWriter
from ff_otel.compliance.spool import SPOOL
from ff_otel.exporters import FlatfileLogExporter, FlatfileMetricExporter, FlatfileSpanExporter
from ff_otel.exporters.circuit import CollectorCircuit
from ff_otel.exporters.guard import ExportStats
from ff_otel.instrumentation import logging_bridge
from ff_otel.privacy.consent import ConsentRegistry
from ff_otel.privacy.pseudonym import Pseudonymizer
from ff_otel.privacy.scrubber import Scrubber
from ff_otel.settings.model import FFOtelSettings
from ff_otel.store.layout import StoreLayout

if TYPE_CHECKING:
    from ff_otel.pipeline.runner import Pipeline

_logger = logging.getLogger("ff_otel")


@dataclass
class FFOtel:
    """The handle ``configure()`` returns: what is running and where it writes."""

    settings: FFOtelSettings
    layout: StoreLayout
    pseudonymizer: Pseudonymizer | None = None
    scrubber: Scrubber | None = None
    consent: ConsentRegistry | None = None
    analytics: UserEventRecorder | None = None
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    logger_provider: LoggerProvider | None = None
    span_exporter: FlatfileSpanExporter | None = None
    metric_exporter: FlatfileMetricExporter | None = None
    log_exporter: FlatfileLogExporter | None = None
    pipeline: Pipeline | None = None
    collector: CollectorCircuit | None = None
    """The OTLP collector's circuit (batches failed or not sent while it was down), if any."""
    log_bridge: logging_bridge.LoggingBridge | None = None
    _closed: bool = field(default=False, repr=False)
    _flushed_drops: dict[str, int] = field(default_factory=dict, repr=False)
    _configured_with: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def enabled(self) -> bool:
        return self.tracer_provider is not None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export everything recorded so far; True when every signal flushed in time and
        no record exported since the previous flush was left out of the store."""
        if not self.enabled or self._closed:
            return True
        assert self.tracer_provider and self.meter_provider and self.logger_provider
        # User events first: their writer hands some to the logger (for OTLP).
        writer = self._user_event_writer()
        ok = writer.flush() if writer is not None else True
        ok = self.tracer_provider.force_flush(timeout_millis) and ok
        ok = self.logger_provider.force_flush(timeout_millis) and ok
        ok = self.meter_provider.force_flush(timeout_millis) and ok
        ok = SPOOL.drain() and ok  # compliance records waiting for the disk
        return self._nothing_dropped_since_last_flush() and ok

    def _nothing_dropped_since_last_flush(self) -> bool:
        # The SDK's processors report only whether they flushed in time, not
        # whether their exporter stored what it was given: the exporters'
        # counts say that.
        clean = True
        for name, exporter in self._store_exporters().items():
            dropped = exporter.guard.dropped_total()
            if dropped != self._flushed_drops.get(name, 0):
                clean = False
            self._flushed_drops[name] = dropped
        return clean

    def _user_event_writer(self) -> UserEventWriter | None:
        return self.analytics.writer if self.analytics is not None else None

    def _store_exporters(
        self,
    ) -> dict[str, FlatfileSpanExporter | FlatfileMetricExporter | FlatfileLogExporter]:
        exporters = {
            "spans": self.span_exporter,
            "metrics": self.metric_exporter,
            "logs": self.log_exporter,
        }
        return {name: e for name, e in exporters.items() if e is not None}

    def shutdown(self) -> None:
        """Flush and stop this configuration's providers; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self.log_bridge is not None:
            logging_bridge.detach(self.log_bridge)
        if self.collector is not None:
            self.collector.closing()
        writer = self._user_event_writer()
        if writer is not None:
            writer.close()
        # Spans and logs first, so that the final metric collection (which
        # runs the pipeline one last time) sees everything.
        for provider in (self.tracer_provider, self.logger_provider, self.meter_provider):
            if provider is None:
                continue
            try:
                provider.shutdown()
            except Exception:
                _logger.exception("ff-otel: shutting down %s failed", type(provider).__name__)
        if self.pipeline is not None:
            # Here, not at the top: importing ff_otel.pipeline loads the whole
            # pipeline, which importing the handle (and setup) need not; a
            # handle with a pipeline has loaded it already.
            from ff_otel.pipeline.health import registry as health_registry

            self.pipeline.close()
            health_registry.stop()
            if self.pipeline.alerts is not None:
                self.pipeline.alerts.dispatcher.close()

    def _abandon(self) -> None:
        """In a forked child: stop this (the parent's) configuration here without flushing it.

        The queued records and metric state the child inherited are the
        parent's to export. The SDK restarts its export threads in a child
        (its fork hooks run after ours), so each is first marked shut down and
        its restarted thread exits without exporting anything.
        """
        self._closed = True
        if self.log_bridge is not None:
            logging_bridge.detach(self.log_bridge)
        if self.pipeline is not None:
            self.pipeline.stop()
        for exporter in (self.span_exporter, self.log_exporter):
            if exporter is not None:
                exporter.shutdown()
        writer = self._user_event_writer()
        if writer is not None:
            writer.abandon()
        _stop_inherited_export_threads(self)

    def export_stats(self) -> dict[str, ExportStats]:
        """Records exported and failures so far, by signal (``user_events``: the user-event
        writer, a full queue counted as dropped)."""
        stats = {name: e.guard.stats for name, e in self._store_exporters().items()}
        writer = self._user_event_writer()
        if writer is not None:
            stats["user_events"] = writer.guard.stats
        return stats


def _stop_inherited_export_threads(handle: FFOtel) -> None:
    # Reaches into the SDK's processors and readers: it offers no public way
    # to stop them without a final flush. A missing attribute leaves only an
    # idle thread behind (the exporters are already shut down).
    processors = [
        *getattr(
            getattr(handle.tracer_provider, "_active_span_processor", None), "_span_processors", ()
        ),
        *getattr(
            getattr(handle.logger_provider, "_multi_log_record_processor", None),
            "_log_record_processors",
            (),
        ),
    ]
    for processor in processors:
        batch = getattr(processor, "_batch_processor", None)
        if batch is not None:
            batch._shutdown = True
    readers = getattr(getattr(handle.meter_provider, "_sdk_config", None), "metric_readers", ())
    for reader in readers:
        if isinstance(reader, PeriodicExportingMetricReader):
            reader._shutdown_event.set()
            # Its restarted thread collects once more on its way out.
            reader.collect = _collect_nothing  # type: ignore[method-assign,misc]


def _collect_nothing(timeout_millis: float = 0) -> None:
    return None
