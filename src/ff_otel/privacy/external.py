"""Which exporters beside the store receive user events (``enable_external_analytics``).

User events (``ff.user_event`` log records) describe what a person did. Even
pseudonymised they stay in the store unless the privacy config says otherwise:
with ``enable_external_analytics=False`` (the spec's default) no exporter
beside the store gets them, while spans, metrics and other logs still go to
the collectors the user configured. With it on, ``allowed_external_services``
(when not empty) names the collectors that may have them, by host:

- ``collector.example.com`` matches an endpoint on that host, any port;
- ``collector.example.com:4317`` matches only that port (the endpoint must
  name the port);
- ``*.example.com`` matches any host under ``example.com`` (not the bare domain);
- a URL (``https://collector.example.com:4318``) stands for its host and port.

Hosts compare case-insensitively, IP addresses literally. An exporter whose
endpoint ff-otel cannot tell (one named by ``OTEL_LOGS_EXPORTER``) matches no
entry. The decision is made once per configuration, and the filter sits in
front of the exporter's batch queue, so a withheld event is never queued.
"""

from __future__ import annotations

from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from ff_otel.spec.models import USER_EVENT
from ff_otel.spec.privacy_config import FFAnalyticsPrivacyConfigDTO, parse_service


def sends_user_events(privacy: FFAnalyticsPrivacyConfigDTO, endpoint: str | None) -> bool:
    """Whether an exporter sending to ``endpoint`` (None: unknown) may receive user events."""
    if not privacy.enable_external_analytics:
        return False
    if not privacy.allowed_external_services:
        return True
    if not endpoint:
        return False
    try:
        host, port = parse_service(endpoint)
    except ValueError:
        return False
    for entry in privacy.allowed_external_services:
        allowed_host, allowed_port = parse_service(entry)
        if allowed_port is not None and allowed_port != port:
            continue
        if allowed_host.startswith("*."):
            if host.endswith(allowed_host[1:]):
                return True
        elif host == allowed_host:
            return True
    return False


def gate_user_events(
    processor: LogRecordProcessor, privacy: FFAnalyticsPrivacyConfigDTO, endpoint: str | None
) -> LogRecordProcessor:
    """``processor`` itself when it may receive user events, else a filter in front of it."""
    if sends_user_events(privacy, endpoint):
        return processor
    return WithoutUserEvents(processor)


class WithoutUserEvents(LogRecordProcessor):
    """Passes every log record to ``inner`` except user events."""

    def __init__(self, inner: LogRecordProcessor) -> None:
        self._inner = inner

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        if log_record.log_record.event_name != USER_EVENT:
            self._inner.on_emit(log_record)

    def enabled(
        self,
        *,
        context: Context | None = None,
        instrumentation_scope: InstrumentationScope | None = None,
        severity_number: SeverityNumber | None = None,
        event_name: str | None = None,
    ) -> bool:
        if event_name == USER_EVENT:
            return False
        return self._inner.enabled(
            context=context,
            instrumentation_scope=instrumentation_scope,
            severity_number=severity_number,
            event_name=event_name,
        )

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)
