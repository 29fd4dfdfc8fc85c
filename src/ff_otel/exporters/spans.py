"""``FlatfileSpanExporter``: finished spans become ``system_metrics/spans.jsonl`` lines.

Failed spans are also summarised in ``error_rates.jsonl`` so an operator sees
every error in one place. All mapping, serialising and I/O happens here, on
the batch processor's thread, never in the instrumented call.

A span that cannot be mapped is left out alone and counted, never its
neighbours; the record limits are applied to the scrubbed records before they
are serialised (see :mod:`ff_otel.store.limits`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util.types import Attributes

from ff_otel.exporters._standalone import StoreTarget, exporter_store
from ff_otel.exporters.guard import ExportGuard
from ff_otel.exporters.mapping import (
    COMPONENT_ATTRIBUTE,
    IsoCache,
    attributes_dict,
    each_alone,
    limit_text,
    service_of,
)
from ff_otel.privacy.scrubber import Scrubber
from ff_otel.spec.models import SpanRecord
from ff_otel.store.appender import Oversize, append_records
from ff_otel.store.limits import Notes, RecordLimits, bound_attributes

# Keyed by member name: an Enum member hashes through a Python-level
# __hash__, a str through its cached hash.
_KIND_NAMES = {kind.name: kind.name.lower() for kind in SpanKind}
_UNSEEN = object()
"""Stands for "no resource or scope seen yet" (None is a valid value of both)."""


class FlatfileSpanExporter(SpanExporter):
    """An OTel ``SpanExporter`` that appends spans to the store; it never raises.

    ``FlatfileSpanExporter(base_path)`` plugs the store into a ``TracerProvider``
    of your own, scrubbing with the defaults (the store is created when
    missing); ``configure()`` builds it from its layout and scrubber.
    """

    def __init__(
        self,
        base_path: StoreTarget,
        scrubber: Scrubber | None = None,
        *,
        limits: RecordLimits | None = None,
    ) -> None:
        self.layout, self.scrubber, self.limits = exporter_store(base_path, scrubber, limits)
        self.guard = ExportGuard("span")
        self._shutdown = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        guard = self.guard
        records = each_alone(spans, lambda part: span_records(part, self.scrubber), guard)
        cut = [0]
        limits = self.limits

        def shrink(record: SpanRecord) -> bool:
            changed = limit_span_record(record, limits)
            cut[0] += changed
            return changed

        for record in records:
            if len(record["attributes"]) > limits.max_attributes or len(record["events"]) > 0:
                cut[0] += limit_span_record(record, limits)
        try:
            append_records(
                self.layout.spans,
                records,
                guard.faults,
                Oversize(limits.max_value_length, shrink),
            )
        except Exception as exc:
            guard.settle()
            guard.failed(exc, dropped=len(records))
            return SpanExportResult.FAILURE
        lost = guard.settle(cut[0])
        errors = [error_record(r) for r in records if r["status"] == "error"]
        if errors:
            try:
                append_records(self.layout.error_rates, errors, guard.faults)
            except Exception as exc:
                guard.failed(exc, dropped=len(errors))
            lost += guard.settle()
        guard.succeeded(len(records) - lost)
        if lost or len(records) < len(spans):
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._shutdown = True

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """False when a span exported since the previous call was not stored.

        Each export is written before it returns; nothing is buffered here.
        """
        return self.guard.flush_ok()


def limit_span_record(record: SpanRecord, limits: RecordLimits) -> bool:
    """Apply the record limits to one mapped span, in place; True when it was cut."""
    longest = limits.max_value_length
    notes: Notes | None = bound_attributes(record["attributes"], limits, None, "attributes")
    for event in record["events"]:
        notes = bound_attributes(event["attributes"], limits, notes, "events.attributes")
    if len(record["name"]) > longest:
        notes = limit_text(record, "name", longest, notes)
    message = record["status_message"]
    if message is not None and len(message) > longest:
        notes = limit_text(record, "status_message", longest, notes)
    if notes is None:
        return False
    notes.attach(record)  # type: ignore[arg-type]
    return True


def span_records(spans: Sequence[ReadableSpan], scrubber: Scrubber) -> list[SpanRecord]:
    """Map finished spans onto store records (see :class:`~ff_otel.spec.models.SpanRecord`)."""
    iso = IsoCache()
    records: list[SpanRecord] = []
    append = records.append
    error_code = StatusCode.ERROR
    # A batch's spans nearly always share one resource and one scope, a
    # trace's spans arrive together and siblings end one after another: what
    # is derived from those is computed when they change, not once per span.
    last_resource: object = _UNSEEN
    last_scope: object = _UNSEEN
    service = scope_name = scope_component = ""
    last_trace_id: int | None = None
    last_parent_id: int | None = None
    trace_hex = parent_hex = ""
    for span in spans:
        context = span.context
        parent = span.parent
        status = span.status
        start = span.start_time or 0
        end = span.end_time or start
        stored_attributes, events = _stored_attributes_and_events(span)
        attributes = scrubber.attributes_in_place(attributes_dict(stored_attributes))
        resource = span.resource
        if resource is not last_resource:
            last_resource = resource
            service = service_of(resource)
        scope = span.instrumentation_scope
        if scope is not last_scope:
            last_scope = scope
            scope_name = scope.name if scope else ""
            scope_component = _component_of(span)
        # %-formatting an int measured twice as fast as an f-string with a
        # format spec (the bytes are the same).
        if context and context.trace_id != last_trace_id:
            last_trace_id = context.trace_id
            trace_hex = "%032x" % last_trace_id  # noqa: UP031
        if parent and parent.span_id != last_parent_id:
            last_parent_id = parent.span_id
            parent_hex = "%016x" % last_parent_id  # noqa: UP031
        append(
            {
                "timestamp": iso(start),
                "end_timestamp": iso(end),
                "trace_id": trace_hex if context else "",
                "span_id": "%016x" % context.span_id if context else "",  # noqa: UP031
                "parent_span_id": parent_hex if parent else None,
                "name": scrubber.text(span.name),
                "kind": _KIND_NAMES[span.kind._name_],
                "component": str(attributes.get(COMPONENT_ATTRIBUTE) or scope_component),
                "duration_ms": (end - start) / 1e6,
                # OTel leaves a successful span UNSET unless code says OK; for
                # the store both mean "did not fail".
                "status": "error" if status.status_code is error_code else "ok",
                "status_message": (
                    scrubber.free_text(status.description) if status.description else None
                ),
                "attributes": attributes,
                "events": [
                    {
                        "name": scrubber.free_text(event.name),
                        "timestamp": iso(event.timestamp),
                        "attributes": scrubber.attributes_in_place(
                            attributes_dict(event.attributes)
                        ),
                    }
                    for event in events
                ]
                if events
                else [],
                "service": service,
                "scope": scope_name,
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


def _stored_attributes_and_events(span: ReadableSpan) -> tuple[Attributes, Sequence[Event]]:
    # The public properties copy on every read: ``attributes`` wraps the
    # SDK's BoundedAttributes in a new MappingProxyType (hiding the plain dict
    # attributes_dict copies fast) and ``events`` copies the event list into a
    # new tuple under a lock, even when it is empty, as most spans' are.
    # Spans the SDK hands to exporters are exactly ReadableSpan, ended and no
    # longer changing, so their storage is read as is; any other span type
    # goes through the properties.
    if type(span) is not ReadableSpan:
        return span.attributes, span.events
    events = span._events
    if type(events) is BoundedList:
        # BoundedList's __len__ and __iter__ are Python-level; the deque
        # inside answers both natively (and the list itself still would).
        events = getattr(events, "_dq", events)
    return span._attributes, events
