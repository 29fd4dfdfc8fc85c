"""Build one configuration: providers, the store's exporters, OTLP beside them, the pipeline.

``ff_otel.configure()`` resolves and validates the settings and creates the
store; :func:`build` then assembles what runs. Exporters named by the
environment (the ``ff_otel`` OpenTelemetry configurator) join through
:func:`set_extra_exporters`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from ff_otel.alerting.engine import AlertEngine
from ff_otel.alerting.notifiers import NotificationDispatcher
from ff_otel.alerting.rules import builtin_rules
from ff_otel.analytics.recorder import UserEventRecorder, recording_off_reason
from ff_otel.analytics.sessions import SessionTracker
from ff_otel.analytics.writer import UserEventWriter
from ff_otel.compliance.audit import AnchorPublisher, publish_anchors
from ff_otel.core import clock
from ff_otel.exporters import (
    FlatfileLogExporter,
    FlatfileMetricExporter,
    FlatfileSpanExporter,
    otlp_exporters,
)
from ff_otel.exporters.circuit import (
    CircuitLogExporter,
    CircuitMetricExporter,
    CircuitSpanExporter,
    CollectorCircuit,
)
from ff_otel.exporters.ledger import DeliveryLedger, ledger_path
from ff_otel.exporters.logs import register_event_route
from ff_otel.exporters.mapping import service_of
from ff_otel.exporters.otlp import OtlpExporters
from ff_otel.exporters.scrubbing import (
    ScrubbingLogExporter,
    ScrubbingMetricExporter,
    ScrubbingSpanExporter,
)
from ff_otel.instrumentation.system_metrics import (
    SystemSampler,
    register_host_instruments,
    register_process_instruments,
    resource_sampler,
)
from ff_otel.pipeline.health import registry as health_registry
from ff_otel.pipeline.reader import PipelineMetricReader
from ff_otel.pipeline.runner import Pipeline
from ff_otel.privacy.consent import ConsentRegistry
from ff_otel.privacy.external import WithoutUserEvents, gate_user_events, sends_user_events
from ff_otel.privacy.scrubber import Scrubber, ScrubbingOptions
from ff_otel.privacy.tools import privacy_tools
from ff_otel.sdk.handle import FFOtel
from ff_otel.settings.model import ConfigError, FFOtelSettings
from ff_otel.spec.config import FFAnalyticsConfigDTO
from ff_otel.store.appender import append_records
from ff_otel.store.layout import StoreLayout


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


def build(
    settings: FFOtelSettings, layout: StoreLayout, scrubbing: ScrubbingOptions | None
) -> FFOtel:
    # The OTLP exporters are made first: a bad OTEL_EXPORTER_OTLP_* value then
    # fails configure() before any provider has started a thread.
    otlp = _otlp(settings.otlp_endpoint) if settings.otlp_endpoint else None
    resource_attributes = {SERVICE_NAME: settings.service_name} if settings.service_name else {}
    resource = Resource.create(resource_attributes)
    pseudonymizer, scrubber = privacy_tools(settings.analytics.privacy_config, layout, scrubbing)
    limits = settings.limits
    span_exporter = FlatfileSpanExporter(layout, scrubber, limits=limits)
    metric_exporter = FlatfileMetricExporter(layout, scrubber, limits=limits)
    log_exporter = FlatfileLogExporter(layout, scrubber, limits=limits)
    analytics = settings.analytics
    interval_ms = analytics.collection_interval_seconds * 1000
    sampler = resource_sampler(layout.base_path, analytics, system_metrics=settings.system_metrics)

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
    # User events reach the store through their own writer, never this queue
    # (they are emitted to the logger only for collectors allowed to have them).
    logger_provider.add_log_record_processor(
        WithoutUserEvents(
            BatchLogRecordProcessor(log_exporter, schedule_delay_millis=batch_delay_ms)
        )
    )
    consent = ConsentRegistry(layout)
    extra = _extra_exporters(settings, scrubber) if _extra_exporters is not None else None
    recorder = UserEventRecorder(
        settings.analytics,
        pseudonymizer,
        consent,
        None
        if recording_off_reason(analytics) is not None
        else UserEventWriter(
            layout,
            scrubber,
            limits,
            service_of(resource),
            track_features=analytics.track_feature_usage,
            delay_seconds=batch_delay_ms / 1000,
            external=logger_provider.get_logger("ff_otel.analytics")
            if _user_events_leave(settings, extra)
            else None,
        ),
    )
    sessions = (
        SessionTracker(
            settings.session_idle_timeout_minutes * 60, track_features=analytics.track_feature_usage
        )
        if recorder.enabled and analytics.track_session_quality
        else None
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
        alerts=alert_engine(settings, layout),
    )
    if recorder.writer is not None:
        recorder.writer.on_stored = pipeline.adopt_user_events
    readers: list[MetricReader] = [
        PipelineMetricReader(metric_exporter, interval_ms, after_collect=pipeline.tick)
    ]
    if otlp is not None and settings.otlp_endpoint:
        # Outermost, so that nothing is scrubbed for a collector known to be down.
        circuit = handle.collector = CollectorCircuit(settings.otlp_endpoint)
        tracer_provider.add_span_processor(
            BatchSpanProcessor(
                CircuitSpanExporter(
                    ScrubbingSpanExporter(otlp.spans, scrubber),
                    circuit,
                    DeliveryLedger(ledger_path(layout.spans), settings.otlp_endpoint),
                )
            )
        )
        logger_provider.add_log_record_processor(
            gate_user_events(
                BatchLogRecordProcessor(
                    CircuitLogExporter(ScrubbingLogExporter(otlp.logs, scrubber), circuit)
                ),
                analytics.privacy_config,
                settings.otlp_endpoint,
            )
        )
        readers.append(
            PeriodicExportingMetricReader(
                CircuitMetricExporter(ScrubbingMetricExporter(otlp.metrics, scrubber), circuit),
                export_interval_millis=interval_ms,
            )
        )
    if extra is not None:
        for span_processor in extra.spans:
            tracer_provider.add_span_processor(span_processor)
        for log_processor in extra.logs:
            # Their endpoints are the exporters' own business: unknown here.
            logger_provider.add_log_record_processor(
                gate_user_events(log_processor, analytics.privacy_config, None)
            )
        readers.extend(extra.metrics)
    handle.meter_provider = MeterProvider(
        resource=resource, metric_readers=readers, shutdown_on_exit=False
    )
    handle.pipeline = pipeline
    _record_privacy_settings(layout, settings)
    if sampler is not None and pipeline.policy.process_metrics:
        register_process_instruments(handle.meter_provider.get_meter(_SYSTEM_METER), sampler)
    pipeline.claim_collector()
    health_registry.start(analytics.collection_interval_seconds)
    # The anchor is stored in its own file; the log record is only for the collector.
    register_event_route(AUDIT_ANCHOR_EVENT, lambda record, layout: [], scrubbed_at_source=True)
    publish_anchors(
        layout.audit_logs,
        _anchor_publisher(handle) if otlp is not None and settings.audit_anchor_to_otlp else None,
    )
    return handle


AUDIT_ANCHOR_EVENT = "ff.audit_anchor"
"""The log record taking the audit chain's head to the collector (FF_OTEL_AUDIT_ANCHOR_TO_OTLP)."""


def _anchor_publisher(handle: FFOtel) -> AnchorPublisher:
    assert handle.logger_provider is not None
    logger = handle.logger_provider.get_logger("ff_otel.audit")

    def publish(document: dict[str, Any]) -> None:
        if not handle._closed:
            logger.emit(
                event_name=AUDIT_ANCHOR_EVENT,
                severity_number=SeverityNumber.INFO,
                severity_text="INFO",
                body=document,
            )

    return publish


def _otlp(endpoint: str) -> OtlpExporters:
    try:
        return otlp_exporters(endpoint)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def alert_engine(settings: FFOtelSettings, layout: StoreLayout) -> AlertEngine:
    """The store's alert engine: the built-in and configured rules, notifying as configured."""
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
                    "timestamp": clock.now_iso(),
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
        stamp = clock.now_iso()
        append_records(
            layout.privacy_events,
            [
                {"timestamp": stamp, "event_type": event, "service": settings.service_name}
                for event in events
            ],
        )


_SYSTEM_METER = "ff_otel.system"


def _user_events_leave(settings: FFOtelSettings, extra: ExtraExports | None) -> bool:
    """Whether any exporter beside the store may receive user events."""
    privacy = settings.analytics.privacy_config
    if settings.otlp_endpoint and sends_user_events(privacy, settings.otlp_endpoint):
        return True
    return bool(extra is not None and extra.logs and sends_user_events(privacy, None))


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
