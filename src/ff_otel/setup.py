"""``configure()``, ``force_flush()`` and ``shutdown()``: one call sets everything up.

``configure()`` validates the settings and creates the store before it touches
anything that is running, so a bad value leaves the previous configuration in
place. Calling it again builds a fresh set of OTel providers and switches the
process over to them; the old ones are flushed and shut down.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from ff_otel import _clock, _globals, _runtime
from ff_otel.alerting.engine import AlertEngine
from ff_otel.alerting.notifiers import FFNotificationSettingsDTO, NotificationDispatcher
from ff_otel.alerting.rules import AlertRule, builtin_rules
from ff_otel.analytics.mapping import USER_EVENT, user_event_lines
from ff_otel.analytics.recorder import UserEventRecorder
from ff_otel.analytics.sessions import SessionTracker
from ff_otel.compliance.trails import audit_act
from ff_otel.config import FFAnalyticsConfigDTO, FFBusinessInputsDTO
from ff_otel.exporters import (
    FlatfileLogExporter,
    FlatfileMetricExporter,
    FlatfileSpanExporter,
    otlp_exporters,
)
from ff_otel.exporters._guard import ExportStats
from ff_otel.exporters.circuit import (
    CircuitLogExporter,
    CircuitMetricExporter,
    CircuitSpanExporter,
    CollectorCircuit,
)
from ff_otel.exporters.logs import register_event_route
from ff_otel.exporters.scrubbing import (
    ScrubbingLogExporter,
    ScrubbingMetricExporter,
    ScrubbingSpanExporter,
)
from ff_otel.instrumentation import logging_bridge
from ff_otel.instrumentation.system_metrics import (
    SystemSampler,
    register_host_instruments,
    register_process_instruments,
)
from ff_otel.pipeline.reader import PipelineMetricReader
from ff_otel.pipeline.runner import Pipeline
from ff_otel.privacy.consent import ConsentRegistry
from ff_otel.privacy.keys import load_hash_key
from ff_otel.privacy.pseudonym import Pseudonymizer
from ff_otel.privacy.scrubber import Scrubber, ScrubbingOptions
from ff_otel.settings import ConfigError, FFOtelSettings, resolve_settings
from ff_otel.store.appender import append_records
from ff_otel.store.layout import StoreError, StoreLayout

_logger = logging.getLogger("ff_otel")
_lock = threading.RLock()
_current: FFOtel | None = None


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
    _configured_with: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def enabled(self) -> bool:
        return self.tracer_provider is not None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export everything recorded so far; True when every signal flushed in time."""
        if not self.enabled or self._closed:
            return True
        assert self.tracer_provider and self.meter_provider and self.logger_provider
        ok = self.tracer_provider.force_flush(timeout_millis)
        ok = self.logger_provider.force_flush(timeout_millis) and ok
        return self.meter_provider.force_flush(timeout_millis) and ok

    def shutdown(self) -> None:
        """Flush and stop this configuration's providers; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self.log_bridge is not None:
            logging_bridge.detach(self.log_bridge)
        if self.collector is not None:
            self.collector.closing()
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
            self.pipeline.close()
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
        _stop_inherited_export_threads(self)

    def export_stats(self) -> dict[str, ExportStats]:
        """Records exported and failures so far, by signal."""
        exporters = {
            "spans": self.span_exporter,
            "metrics": self.metric_exporter,
            "logs": self.log_exporter,
        }
        return {name: e.guard.stats for name, e in exporters.items() if e is not None}


def configure(
    *,
    base_path: str | Path | None = None,
    service_name: str | None = None,
    analytics: FFAnalyticsConfigDTO | None = None,
    otlp_endpoint: str | None = None,
    system_metrics: bool | None = None,
    scrubbing: ScrubbingOptions | None = None,
    business: FFBusinessInputsDTO | None = None,
    alert_rules: list[AlertRule] | None = None,
    notifications: FFNotificationSettingsDTO | None = None,
    logging: bool | None = None,
    logging_level: str | None = None,
) -> FFOtel:
    """Set up tracing, metrics and logs into the flatfile store (and OTLP when asked).

    Every argument also comes from the environment or the ``FF_OTEL_CONFIG``
    TOML file; code beats environment beats file. ``scrubbing`` adds patterns
    and a callback to the scrubber that runs before every exporter;
    ``business`` gives the BI cost and revenue inputs; ``alert_rules`` add to
    the built-in rules and ``notifications`` says how to reach people;
    ``logging`` sends standard ``logging`` records at ``logging_level`` and
    above to the store with their trace context. Raises
    :class:`~ff_otel.ConfigError` for an invalid value and
    :class:`~ff_otel.StoreError` when the store cannot be created, in both
    cases before changing what is already running.
    """
    global _current
    arguments: dict[str, Any] = {
        "base_path": base_path,
        "service_name": service_name,
        "analytics": analytics,
        "otlp_endpoint": otlp_endpoint,
        "system_metrics": system_metrics,
        "business": business,
        "alert_rules": alert_rules,
        "notifications": notifications,
        "logging": logging,
        "logging_level": logging_level,
    }
    settings = resolve_settings(arguments)
    layout = StoreLayout(settings.base_path)
    if settings.disabled:
        handle = FFOtel(settings=settings, layout=layout)
    else:
        layout.initialize(settings.analytics)
        layout.check_writable()
        handle = _build(settings, layout, scrubbing)
    handle._configured_with = {**arguments, "scrubbing": scrubbing}
    with _lock:
        previous, _current = _current, handle
        if handle.tracer_provider is not None:
            assert handle.meter_provider and handle.logger_provider
            _runtime.tracer = handle.tracer_provider.get_tracer("ff_otel")
            _globals.switch_providers(
                handle.tracer_provider, handle.meter_provider, handle.logger_provider
            )
            if settings.logging:
                handle.log_bridge = logging_bridge.attach(
                    handle.logger_provider, settings.logging_level
                )
        else:
            _runtime.tracer = None
            _globals.release_providers()
    if previous is not None:
        previous.shutdown()
    if handle.enabled:
        audit_act(
            layout,
            "configure",
            str(layout.base_path),
            service=settings.service_name,
            analytics_level=settings.analytics.analytics_level,
            otlp=bool(settings.otlp_endpoint),
            reconfigured=previous is not None,
        )
    return handle


def force_flush(timeout_millis: int = 30_000) -> bool:
    """Everything recorded so far is in the files when this returns True."""
    handle = _current
    return handle.force_flush(timeout_millis) if handle is not None else True


def shutdown() -> None:
    """Flush, stop background work and detach from the OTel globals; safe to call twice."""
    global _current
    with _lock:
        handle, _current = _current, None
        _runtime.tracer = None
        if handle is not None:
            _globals.release_providers()
    if handle is not None:
        handle.shutdown()


def current() -> FFOtel | None:
    """The running configuration, or None."""
    return _current


def store_layout(base_path: str | Path | None = None) -> StoreLayout:
    """The store at ``base_path``, or the configured one; clear errors when there is none."""
    if base_path is not None:
        layout = StoreLayout(base_path)
    elif _current is not None:
        layout = _current.layout
    else:
        raise RuntimeError("ff-otel is not configured: call configure() or pass base_path")
    if not layout.analytics_path.is_dir():
        raise StoreError(f"no ff-otel store at {layout.base_path}")
    return layout


def privacy_tools(
    settings: FFOtelSettings, layout: StoreLayout, scrubbing: ScrubbingOptions | None = None
) -> tuple[Pseudonymizer, Scrubber]:
    """The store's pseudonymizer and the scrubber that runs before every exporter."""
    privacy = settings.analytics.privacy_config
    pseudonymizer = Pseudonymizer(load_hash_key(layout.analytics_path))
    scrubber = Scrubber(
        pseudonymizer,
        exclude_sensitive_content=privacy.exclude_sensitive_content,
        pseudonymize_identifiers=privacy.hash_user_identifiers,
        options=scrubbing,
    )
    return pseudonymizer, scrubber


class ExtraExports(NamedTuple):
    """Export paths added beside the store; each exporter in them already scrubs."""

    spans: list[SpanProcessor]
    logs: list[LogRecordProcessor]
    metrics: list[MetricReader]


ExtraExporters = Callable[[FFOtelSettings, Scrubber], ExtraExports]
_extra_exporters: ExtraExporters | None = None


def set_extra_exporters(build: ExtraExporters | None) -> None:
    """Every later ``configure()`` also exports through what ``build`` returns.

    The ``ff_otel`` OpenTelemetry configurator uses this for the exporters
    that ``OTEL_TRACES_EXPORTER`` and friends name; ``build`` is called again
    on each configuration (a forked worker's too), so nothing is shared.
    """
    global _extra_exporters
    _extra_exporters = build


def _build(
    settings: FFOtelSettings, layout: StoreLayout, scrubbing: ScrubbingOptions | None
) -> FFOtel:
    resource_attributes = {SERVICE_NAME: settings.service_name} if settings.service_name else {}
    resource = Resource.create(resource_attributes)
    pseudonymizer, scrubber = privacy_tools(settings, layout, scrubbing)
    span_exporter = FlatfileSpanExporter(layout, scrubber)
    metric_exporter = FlatfileMetricExporter(layout, scrubber)
    log_exporter = FlatfileLogExporter(layout, scrubber)
    interval_ms = settings.analytics.collection_interval_seconds * 1000
    sampler = SystemSampler(layout.base_path) if settings.system_metrics else None

    tracer_provider = TracerProvider(
        resource=resource, sampler=_sampler(settings.analytics), shutdown_on_exit=False
    )
    # Spans and logs reach the files within half an interval (at most the SDK's
    # usual 5 s), so each interval's snapshot sees the interval's own activity.
    batch_delay_ms = min(5000, interval_ms // 2)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(span_exporter, schedule_delay_millis=batch_delay_ms)
    )
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    # User events come in bursts far larger than application logs do: a
    # deeper queue and bigger batches keep them from being dropped.
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(
            log_exporter,
            schedule_delay_millis=batch_delay_ms,
            max_queue_size=_LOG_QUEUE_SIZE,
            max_export_batch_size=_LOG_BATCH_SIZE,
        )
    )
    consent = ConsentRegistry(layout)
    recorder = UserEventRecorder(
        settings.analytics,
        pseudonymizer,
        scrubber,
        consent,
        logger_provider.get_logger("ff_otel.analytics"),
    )
    sessions = (
        SessionTracker(settings.session_idle_timeout_minutes * 60) if recorder.enabled else None
    )
    handle = FFOtel(
        settings=settings,
        layout=layout,
        pseudonymizer=pseudonymizer,
        scrubber=scrubber,
        consent=consent,
        analytics=recorder,
        tracer_provider=tracer_provider,
        logger_provider=logger_provider,
        span_exporter=span_exporter,
        metric_exporter=metric_exporter,
        log_exporter=log_exporter,
    )
    pipeline = Pipeline(
        layout,
        settings.analytics,
        sampler,
        handle.export_stats,
        on_leadership=lambda: _register_host_instruments(handle, sampler),
        sessions=sessions,
        business=settings.business,
        alerts=_alert_engine(settings, layout),
    )
    readers: list[MetricReader] = [
        PipelineMetricReader(metric_exporter, interval_ms, after_collect=pipeline.tick)
    ]
    if settings.otlp_endpoint:
        try:
            otlp = otlp_exporters(settings.otlp_endpoint)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        # Outermost, so that nothing is scrubbed for a collector known to be down.
        circuit = handle.collector = CollectorCircuit(settings.otlp_endpoint)
        tracer_provider.add_span_processor(
            BatchSpanProcessor(
                CircuitSpanExporter(ScrubbingSpanExporter(otlp.spans, scrubber), circuit)
            )
        )
        logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(
                CircuitLogExporter(ScrubbingLogExporter(otlp.logs, scrubber), circuit)
            )
        )
        readers.append(
            PeriodicExportingMetricReader(
                CircuitMetricExporter(ScrubbingMetricExporter(otlp.metrics, scrubber), circuit),
                export_interval_millis=interval_ms,
            )
        )
    if _extra_exporters is not None:
        extra = _extra_exporters(settings, scrubber)
        for span_processor in extra.spans:
            tracer_provider.add_span_processor(span_processor)
        for log_processor in extra.logs:
            logger_provider.add_log_record_processor(log_processor)
        readers.extend(extra.metrics)
    handle.meter_provider = MeterProvider(
        resource=resource, metric_readers=readers, shutdown_on_exit=False
    )
    handle.pipeline = pipeline
    _record_privacy_settings(layout, settings)
    if sampler is not None and pipeline.policy.process_metrics:
        register_process_instruments(handle.meter_provider.get_meter(_SYSTEM_METER), sampler)
    return handle


def _alert_engine(settings: FFOtelSettings, layout: StoreLayout) -> AlertEngine:
    analytics = settings.analytics
    service = settings.service_name or "unknown_service"

    def delivered(
        record: dict[str, Any],
        channel: str,
        target: str,
        ok: bool,
        error: str | None,
        attempts: int,
    ) -> None:
        append_records(
            layout.alerts,
            [
                {
                    "timestamp": _clock.now_iso(),
                    "event": "notified" if ok else "notification_failed",
                    "alert_id": record.get("alert_id"),
                    "alert_event": record.get("event"),
                    "channel": channel,
                    "target": target,
                    "attempts": attempts,
                    "error": error,
                }
            ],
        )

    dispatcher = NotificationDispatcher(
        analytics.alerting_config, settings.notifications, service, delivered
    )
    rules = builtin_rules(analytics.alerting_config, analytics.collection_interval_seconds)
    return AlertEngine(
        layout.alerts,
        analytics.alerting_config,
        [*rules, *settings.alert_rules],
        dispatcher,
        service,
    )


def _record_privacy_settings(layout: StoreLayout, settings: FFOtelSettings) -> None:
    # Switching pseudonymisation off is the user's explicit choice; it is
    # recorded where a privacy officer looks, each time a process starts so.
    privacy = settings.analytics.privacy_config
    events = []
    if not privacy.anonymize_user_data:
        events.append("anonymization_disabled")
    if not privacy.hash_user_identifiers:
        events.append("identifier_hashing_disabled")
    if events:
        stamp = _clock.now_iso()
        append_records(
            layout.privacy_events,
            [
                {"timestamp": stamp, "event_type": event, "service": settings.service_name}
                for event in events
            ],
        )


_SYSTEM_METER = "ff_otel.system"
_LOG_QUEUE_SIZE = 32_768
_LOG_BATCH_SIZE = 4_096

register_event_route(USER_EVENT, user_event_lines, scrubbed_at_source=True)


def _register_host_instruments(handle: FFOtel, sampler: SystemSampler | None) -> None:
    # Host-wide readings come from the store's collector only, so that workers
    # sharing a store report the host once.
    if sampler is not None and handle.meter_provider is not None and not handle._closed:
        register_host_instruments(handle.meter_provider.get_meter(_SYSTEM_METER), sampler)


def _sampler(analytics: FFAnalyticsConfigDTO) -> Sampler | None:
    # None lets the SDK read OTEL_TRACES_SAMPLER as usual.
    if analytics.enable_data_sampling:
        return ParentBased(TraceIdRatioBased(analytics.sampling_rate))
    return None


def _shutdown_at_exit(*_: Any) -> None:
    shutdown()


atexit.register(_shutdown_at_exit)


def _configure_forked_child() -> None:
    # A forked child (a gunicorn worker, a multiprocessing child) has none of
    # the parent's threads, a copy of its queues and the parent's process
    # identity in its samplers: it drops that configuration unflushed and
    # configures afresh with the same arguments, so each worker records its
    # own telemetry into the shared store (the collector lease stays the
    # parent's; see store/lease.py).
    global _current, _lock
    _lock = threading.RLock()
    inherited, _current = _current, None
    if inherited is None:
        return
    inherited._abandon()
    _runtime.tracer = None
    try:
        configure(**inherited._configured_with)
    except Exception:
        _globals.release_providers()
        _logger.exception("ff-otel: process %d (forked) could not configure itself", os.getpid())


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


os.register_at_fork(after_in_child=_configure_forked_child)
