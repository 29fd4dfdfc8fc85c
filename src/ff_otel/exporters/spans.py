"""``FlatfileSpanExporter``: finished spans become ``system_metrics/spans.jsonl`` lines.

Failed spans are also summarised in ``error_rates.jsonl`` so an operator sees
every error in one place. All mapping, serialising and I/O happens here, on
the batch processor's thread, never in the instrumented call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode

from ff_otel.exporters._guard import ExportGuard
from ff_otel.exporters._mapping import COMPONENT_ATTRIBUTE, IsoCache, attributes_dict, service_of
from ff_otel.models import SpanEventRecord, SpanRecord
from ff_otel.store.appender import append_records
from ff_otel.store.layout import StoreLayout

_KIND_NAMES = {kind: kind.name.lower() for kind in SpanKind}
_STATUS_NAMES: dict[StatusCode, Any] = {
    StatusCode.OK: "ok",
    StatusCode.ERROR: "error",
    # OTel leaves a successful span UNSET unless code says OK; for the store
    # both mean "did not fail".
    StatusCode.UNSET: "ok",
}


class FlatfileSpanExporter(SpanExporter):
    """An OTel ``SpanExporter`` that appends spans to the store; it never raises."""

    def __init__(self, layout: StoreLayout) -> None:
        self.layout = layout
        self.guard = ExportGuard("span")
        self._shutdown = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        try:
            records = span_records(spans)
            append_records(self.layout.spans, records)
            errors = [error_record(r) for r in records if r["status"] == "error"]
            if errors:
                append_records(self.layout.error_rates, errors)
        except Exception as exc:
            self.guard.failed(exc, dropped=len(spans))
            return SpanExportResult.FAILURE
        self.guard.succeeded(len(spans))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._shutdown = True

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        # Each export is written before it returns; there is nothing buffered here.
        return True


def span_records(spans: Sequence[ReadableSpan]) -> list[SpanRecord]:
    """Map finished spans onto store records (see :class:`~ff_otel.models.SpanRecord`)."""
    iso = IsoCache()
    records: list[SpanRecord] = []
    append = records.append
    for span in spans:
        context = span.context
        parent = span.parent
        status = span.status
        start = span.start_time or 0
        end = span.end_time or start
        attributes = attributes_dict(span.attributes)
        scope = span.instrumentation_scope
        append(
            {
                "timestamp": iso(start),
                "end_timestamp": iso(end),
                "trace_id": f"{context.trace_id:032x}" if context else "",
                "span_id": f"{context.span_id:016x}" if context else "",
                "parent_span_id": f"{parent.span_id:016x}" if parent else None,
                "name": span.name,
                "kind": _KIND_NAMES[span.kind],
                "component": str(attributes.get(COMPONENT_ATTRIBUTE) or _component_of(span)),
                "duration_ms": (end - start) / 1e6,
                "status": _STATUS_NAMES[status.status_code],
                "status_message": status.description,
                "attributes": attributes,
                "events": [_event_record(event, iso) for event in span.events],
                "service": service_of(span.resource),
                "scope": scope.name if scope else "",
            }
        )
    return records


def error_record(span: SpanRecord) -> dict[str, Any]:
    """The ``error_rates.jsonl`` line for a failed span."""
    exception = next((e for e in span["events"] if e["name"] == "exception"), None)
    exc_attrs = exception["attributes"] if exception else {}
    return {
        "timestamp": span["end_timestamp"],
        "record_type": "span_error",
        "service": span["service"],
        "component": span["component"],
        "name": span["name"],
        "trace_id": span["trace_id"],
        "span_id": span["span_id"],
        "error_type": exc_attrs.get("exception.type"),
        "message": exc_attrs.get("exception.message") or span["status_message"],
    }


def _component_of(span: ReadableSpan) -> str:
    # Spans from third-party instrumentation carry no ff.component; their
    # instrumentation scope (e.g. "opentelemetry.instrumentation.flask") says
    # which library made them, which is the closest thing to a component.
    scope = span.instrumentation_scope
    name = scope.name if scope else ""
    return name.rsplit(".", 1)[-1] if name else "unknown"


def _event_record(event: Any, iso: IsoCache) -> SpanEventRecord:
    return {
        "name": event.name,
        "timestamp": iso(event.timestamp),
        "attributes": attributes_dict(event.attributes),
    }
