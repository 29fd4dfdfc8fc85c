"""Scrub telemetry on its way to OTLP, so a collector never receives what the store would not.

The flatfile exporters scrub while they map (no extra copy); these wrappers do
the same for the standard OTLP exporters by handing them scrubbed copies. A
batch that cannot be scrubbed is dropped, never sent as it was.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

from ff_otel.privacy.scrubber import Scrubber

_logger = logging.getLogger("ff_otel.exporters")


class ScrubbingSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, scrubber: Scrubber) -> None:
        self._inner = inner
        self._scrubber = scrubber

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            scrubbed = [scrub_span(span, self._scrubber) for span in spans]
        except Exception:
            _logger.exception("ff-otel: could not scrub %d spans; not sending them", len(spans))
            return SpanExportResult.FAILURE
        return self._inner.export(scrubbed)

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


def scrub_span(span: ReadableSpan, scrubber: Scrubber) -> ReadableSpan:
    status = span.status
    return ReadableSpan(
        name=scrubber.text(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=scrubber.attributes(span.attributes or {}),
        events=[
            Event(
                scrubber.free_text(event.name),
                scrubber.attributes(event.attributes or {}),
                event.timestamp,
            )
            for event in span.events
        ],
        links=span.links,
        kind=span.kind,
        status=Status(
            status.status_code,
            scrubber.free_text(status.description) if status.description else None,
        ),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class ScrubbingLogExporter(LogRecordExporter):
    def __init__(self, inner: LogRecordExporter, scrubber: Scrubber) -> None:
        self._inner = inner
        self._scrubber = scrubber

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        try:
            scrubbed = [self._scrub(record) for record in batch]
        except Exception:
            _logger.exception("ff-otel: could not scrub %d logs; not sending them", len(batch))
            return LogRecordExportResult.FAILURE
        return self._inner.export(scrubbed)

    def _scrub(self, readable: ReadableLogRecord) -> ReadableLogRecord:
        record = copy.copy(readable.log_record)
        record.body = self._scrubber.body(record.body)
        record.attributes = self._scrubber.attributes(record.attributes or {})
        return dataclasses.replace(readable, log_record=record)

    def shutdown(self) -> None:
        self._inner.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


class ScrubbingMetricExporter(MetricExporter):
    def __init__(self, inner: MetricExporter, scrubber: Scrubber) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self._inner = inner
        self._scrubber = scrubber

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        try:
            scrubbed = self._scrub(metrics_data)
        except Exception:
            _logger.exception("ff-otel: could not scrub metrics; not sending them")
            return MetricExportResult.FAILURE
        return self._inner.export(scrubbed, timeout_millis=timeout_millis, **kwargs)

    def _scrub(self, data: MetricsData) -> MetricsData:
        scrub = self._scrubber.attributes

        def points(metric: Any) -> Any:
            return dataclasses.replace(
                metric.data,
                data_points=[
                    dataclasses.replace(p, attributes=scrub(p.attributes or {}))
                    for p in metric.data.data_points
                ],
            )

        return dataclasses.replace(
            data,
            resource_metrics=[
                dataclasses.replace(
                    rm,
                    scope_metrics=[
                        dataclasses.replace(
                            sm,
                            metrics=[dataclasses.replace(m, data=points(m)) for m in sm.metrics],
                        )
                        for sm in rm.scope_metrics
                    ],
                )
                for rm in data.resource_metrics
            ],
        )

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._inner.shutdown(timeout_millis=timeout_millis, **kwargs)
