"""Send stored spans to an OTLP collector afterwards: the store as a local-first buffer.

A collector that was down, or added after the fact, can be given what the
store recorded meanwhile. :func:`replay_spans` reads ``spans.jsonl`` (rotated
and compressed segments included) through the one reader, rebuilds each
record as an SDK ``ReadableSpan`` and sends them in batches through the
standard OTLP span exporter, so headers, TLS, compression and timeouts come
from the standard ``OTEL_EXPORTER_OTLP_*`` variables exactly as for live
export.

What arrives as it was recorded: trace id, span id, parent span id, name,
kind, status (error with its message; a span that did not fail is sent UNSET,
since the store keeps OK and UNSET alike as ``ok``), attributes, events, the
resource's ``service.name`` and the instrumentation scope's name. Start and
end times to the microsecond (the store's precision), the duration to the
nanosecond. What the store does not keep is not sent: links, trace state,
other resource attributes, the scope's version.

Spans the collector already accepted (live or by an earlier replay, as the
delivery ledger records) are not sent again unless forced, so replaying
fills a gap exactly once. Stored records are already scrubbed, so nothing is
scrubbed again. Only spans
are replayed: ``logs.jsonl`` holds just the log records that have no more
specific home (user events, audit and security events are stored as their
own records, not as logs) and metric points are stored as deltas, so
replaying either would give a collector a partial or differently shaped
picture.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from ff_otel.core import clock
from ff_otel.exporters.ledger import (
    DeliveryLedger,
    accepted_span_ids,
    first_failed_start,
    ledger_path,
)
from ff_otel.exporters.otlp import otlp_protocol, otlp_span_exporter
from ff_otel.settings.running import store_layout
from ff_otel.store.reader import read_records

DEFAULT_BATCH_SIZE = 512
"""Spans per request: the SDK's batch size, far below a collector's 4 MiB default limit."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_KINDS = {kind.name.lower(): kind for kind in SpanKind}
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_EXPORTER_LOGGER = "opentelemetry.exporter.otlp"


@dataclass
class ReplayReport:
    """What a replay read and what the collector accepted."""

    endpoint: str
    protocol: str
    since: str | None
    until: str | None
    sent: int = 0
    """Spans the collector accepted."""
    unsent: int = 0
    """Spans in the range not delivered: the batch that failed and everything after it."""
    malformed: int = 0
    """Records that are not spans (no valid ids or times); counted, never sent."""
    torn_lines: int = 0
    batches: int = 0
    segments: int = 0
    """Files read: rotated and compressed segments, then the active file."""
    error: str | None = None
    """Why the collector did not accept a batch (the exporter's last error), if one failed."""
    already_accepted: int = 0
    """Spans in the range the delivery ledger says the collector accepted: not sent again."""

    @property
    def ok(self) -> bool:
        return self.unsent == 0


def replay_spans(
    endpoint: str,
    *,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    base_path: str | Path | None = None,
    protocol: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    gaps: bool = False,
    force: bool = False,
) -> ReplayReport:
    """Send the stored spans that started in ``[since, until)`` to the collector at ``endpoint``.

    Reads the store at ``base_path``, or the configured one. ``endpoint`` is
    the collector's base URL, as for ``otlp_endpoint``; ``protocol`` is
    ``grpc`` or ``http/protobuf`` (default: the standard
    ``OTEL_EXPORTER_OTLP_PROTOCOL``, else ``grpc``). The first batch the
    collector refuses or cannot be reached for (after the exporter's own
    retries within ``OTEL_EXPORTER_OTLP_TIMEOUT``) ends the replay: the
    remaining spans are counted as unsent rather than each waiting out the
    same timeout.

    Spans the delivery ledger (:mod:`ff_otel.exporters.ledger`) says this
    endpoint already accepted, live or by an earlier replay, are not sent
    again (counted in ``already_accepted``) unless ``force``; every batch this
    replay sends is recorded there too, so a second run sends nothing.
    ``gaps`` with no ``since`` starts the range at the first span the endpoint
    did not accept live (nothing to send when it accepted everything).
    ``progress`` is called with the number of spans in each accepted batch.
    Raises ``ValueError`` for a bad time range, protocol or batch size and
    :class:`~ff_otel.StoreError` when there is no store.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1 (got {batch_size})")
    spans_path = store_layout(base_path).spans
    ledger = DeliveryLedger(ledger_path(spans_path), endpoint, source="replay")
    report = ReplayReport(
        endpoint=endpoint, protocol=otlp_protocol(protocol), since=None, until=None
    )
    if gaps and since is None:
        since = first_failed_start(ledger.path, endpoint)
        if since is None:
            return report  # the collector accepted every batch it was sent
    records = read_records(spans_path, since, until)
    report.since, report.until = records.start, records.end
    delivered = set() if force else accepted_span_ids(ledger.path, endpoint, records.start)
    exporter = otlp_span_exporter(endpoint, report.protocol)
    errors = _LastError()
    exporter_logger = logging.getLogger(_EXPORTER_LOGGER)
    exporter_logger.addHandler(errors)
    try:
        for batch in _batches(_spans(records, report, delivered), batch_size):
            if report.unsent:
                report.unsent += len(batch)
                continue
            report.batches += 1
            accepted = exporter.export(batch) is SpanExportResult.SUCCESS
            ledger.record(batch, accepted)
            if accepted:
                report.sent += len(batch)
                if progress is not None:
                    progress(len(batch))
            else:
                report.unsent += len(batch)
                report.error = errors.message or "the collector did not accept the batch"
    finally:
        exporter_logger.removeHandler(errors)
        exporter.shutdown()
    report.torn_lines = records.stats.torn_lines
    report.segments = records.stats.segments
    return report


def span_from_record(
    record: dict[str, Any],
    resources: dict[str, Resource] | None = None,
    scopes: dict[str, InstrumentationScope] | None = None,
) -> ReadableSpan:
    """The SDK span a ``spans.jsonl`` record was made from (as far as the store keeps it).

    ``resources`` and ``scopes`` cache one object per service and scope name,
    so the OTLP encoder groups a batch's spans under them. Raises
    ``ValueError``, ``KeyError`` or ``TypeError`` for a record that is not a span.
    """
    resources = {} if resources is None else resources
    scopes = {} if scopes is None else scopes
    trace_id = _hex_id(record["trace_id"], 32)
    context = SpanContext(trace_id, _hex_id(record["span_id"], 16), False, _SAMPLED)
    parent_id = record.get("parent_span_id")
    parent = SpanContext(trace_id, _hex_id(parent_id, 16), False, _SAMPLED) if parent_id else None
    start = _iso_to_ns(record["timestamp"])
    duration_ms = record.get("duration_ms")
    if isinstance(duration_ms, (int, float)):
        end = start + round(duration_ms * 1_000_000)
    else:
        end = _iso_to_ns(record.get("end_timestamp") or record["timestamp"])
    service = str(record.get("service") or "unknown_service")
    resource = resources.get(service)
    if resource is None:
        # Only what was stored: the replaying process's own resource
        # (OTEL_RESOURCE_ATTRIBUTES, host) must not be attached to another's spans.
        resource = resources[service] = Resource({SERVICE_NAME: service})
    scope_name = str(record.get("scope") or "")
    scope = scopes.get(scope_name)
    if scope is None:
        scope = scopes[scope_name] = InstrumentationScope(scope_name)
    failed = record.get("status") == "error"
    return ReadableSpan(
        name=str(record["name"]),
        context=context,
        parent=parent,
        resource=resource,
        attributes=dict(record.get("attributes") or {}),
        events=[
            Event(
                str(event["name"]),
                dict(event.get("attributes") or {}),
                _iso_to_ns(event["timestamp"]),
            )
            for event in record.get("events") or ()
        ],
        kind=_KINDS[str(record.get("kind") or "internal")],
        status=Status(StatusCode.ERROR, record.get("status_message"))
        if failed
        else Status(StatusCode.UNSET),
        start_time=start,
        end_time=end,
        instrumentation_scope=scope,
    )


def _spans(records: Any, report: ReplayReport, delivered: set[str]) -> Iterator[ReadableSpan]:
    resources: dict[str, Resource] = {}
    scopes: dict[str, InstrumentationScope] = {}
    for record in records:
        span_id = record.get("span_id")
        if isinstance(span_id, str) and span_id in delivered:
            report.already_accepted += 1
            continue
        try:
            yield span_from_record(record, resources, scopes)
        except (KeyError, TypeError, ValueError, AttributeError):
            report.malformed += 1


def _batches(spans: Iterator[ReadableSpan], size: int) -> Iterator[list[ReadableSpan]]:
    batch: list[ReadableSpan] = []
    for span in spans:
        batch.append(span)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _hex_id(value: Any, digits: int) -> int:
    if not isinstance(value, str) or len(value) != digits:
        raise ValueError(f"not a {digits}-digit hex id: {value!r}")
    number = int(value, 16)
    if number == 0:
        raise ValueError("an all-zero id is invalid in OTLP")
    return number


def _iso_to_ns(value: Any) -> int:
    if not isinstance(value, str):
        raise TypeError(f"not a timestamp: {value!r}")
    # Integer arithmetic: a float epoch would round the microseconds.
    return (clock.parse_instant(value) - _EPOCH) // _MICROSECOND * 1000


class _LastError(logging.Handler):
    """Keeps the OTLP exporter's last error message: the reason a batch was refused."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.message = record.getMessage()
