"""``FlatfileLogExporter``: OTel log records become store lines.

Every record lands in ``system_metrics/logs.jsonl``; records at ERROR or above
also land in ``error_rates.jsonl``. Records whose ``event_name`` has a
registered route (user analytics, audit, security events) go where that
route says instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from ff_otel.exporters._guard import ExportGuard
from ff_otel.exporters._mapping import IsoCache, attributes_dict, service_of
from ff_otel.models import LogRecordRecord
from ff_otel.privacy.scrubber import Scrubber
from ff_otel.store.appender import append_records
from ff_otel.store.layout import StoreLayout

EventRoute = Callable[[LogRecordRecord, StoreLayout], list[tuple[Path, dict[str, Any]]]]
"""Maps one event record to the (file, record) lines it becomes."""

_routes: dict[str, EventRoute] = {}
_scrubbed_at_source: set[str] = set()


def register_event_route(
    event_name: str, route: EventRoute, *, scrubbed_at_source: bool = False
) -> None:
    """Send log records with ``event_name`` through ``route`` instead of ``logs.jsonl``.

    ``scrubbed_at_source`` says ff-otel's own code scrubbed these events before
    emitting them, so the exporter need not scrub them again.
    """
    _routes[event_name] = route
    if scrubbed_at_source:
        _scrubbed_at_source.add(event_name)
    else:
        _scrubbed_at_source.discard(event_name)


class FlatfileLogExporter(LogRecordExporter):
    """An OTel ``LogRecordExporter`` that appends records to the store; it never raises."""

    def __init__(self, layout: StoreLayout, scrubber: Scrubber) -> None:
        self.layout = layout
        self.scrubber = scrubber
        self.guard = ExportGuard("log")
        self._shutdown = False

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if self._shutdown:
            return LogRecordExportResult.FAILURE
        try:
            by_file: dict[Path, list[dict[str, Any]]] = defaultdict(list)
            for record in log_records(batch, self.scrubber):
                route = _routes.get(record["event_name"] or "")
                if route is not None:
                    for path, line in route(record, self.layout):
                        by_file[path].append(line)
                    continue
                by_file[self.layout.logs].append(dict(record))
                if record["severity_number"] >= SeverityNumber.ERROR.value:
                    by_file[self.layout.error_rates].append({**record, "record_type": "log_error"})
            for path, lines in by_file.items():
                append_records(path, lines)
        except Exception as exc:
            self.guard.failed(exc, dropped=len(batch))
            return LogRecordExportResult.FAILURE
        self.guard.succeeded(len(batch))
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        self._shutdown = True

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def log_records(batch: Sequence[ReadableLogRecord], scrubber: Scrubber) -> list[LogRecordRecord]:
    """Map OTel log records onto scrubbed store records."""
    iso = IsoCache()
    out: list[LogRecordRecord] = []
    for readable in batch:
        log = readable.log_record
        severity = log.severity_number or SeverityNumber.UNSPECIFIED
        scope = readable.instrumentation_scope
        attributes = attributes_dict(log.attributes)
        body = log.body
        if log.event_name not in _scrubbed_at_source:
            body = scrubber.body(body)
            attributes = scrubber.attributes_in_place(attributes)
        out.append(
            {
                "timestamp": iso(log.timestamp or log.observed_timestamp),
                "record_type": "log",
                "severity": log.severity_text or severity.name,
                "severity_number": severity.value,
                "event_name": log.event_name or None,
                "body": body,
                "attributes": attributes,
                "trace_id": f"{log.trace_id:032x}" if log.trace_id else None,
                "span_id": f"{log.span_id:016x}" if log.span_id else None,
                "service": service_of(readable.resource),
                "scope": scope.name if scope else "",
            }
        )
    return out
