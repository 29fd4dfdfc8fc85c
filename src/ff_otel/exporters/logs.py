"""``FlatfileLogExporter``: OTel log records become store lines.

Every record lands in ``system_metrics/logs.jsonl``; records at ERROR or above
also land in ``error_rates.jsonl``. Records whose ``event_name`` has a
registered route (user analytics, audit, security events) go where that
route says instead.

Each record is mapped and routed on its own: a body the scrubber cannot walk
(nested thousands deep, non-string keys) is mapped again within the record
limits, and a record that still fails is left out alone and counted; its
neighbours are stored.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from ff_otel.exporters._standalone import StoreTarget, exporter_store
from ff_otel.exporters.guard import ExportGuard
from ff_otel.exporters.mapping import IsoCache, attributes_dict, each_alone, service_of
from ff_otel.privacy.scrubber import Scrubber
from ff_otel.spec.models import LogRecordRecord
from ff_otel.store.appender import append_records
from ff_otel.store.layout import StoreLayout
from ff_otel.store.limits import Notes, RecordLimits, bound_attributes, bound_value

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
    """An OTel ``LogRecordExporter`` that appends records to the store; it never raises.

    ``FlatfileLogExporter(base_path)`` plugs the store into a ``LoggerProvider``
    of your own, scrubbing with the defaults; ``configure()`` builds it from
    its layout and scrubber.
    """

    def __init__(
        self,
        base_path: StoreTarget,
        scrubber: Scrubber | None = None,
        *,
        limits: RecordLimits | None = None,
    ) -> None:
        self.layout, self.scrubber, self.limits = exporter_store(base_path, scrubber, limits)
        self.guard = ExportGuard("log")
        self._shutdown = False

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if self._shutdown:
            return LogRecordExportResult.FAILURE
        guard, limits = self.guard, self.limits
        records = each_alone(
            batch,
            lambda part: log_records(part, self.scrubber),
            guard,
            lambda readable: _bounded_log(readable, limits),
        )
        unmapped = len(batch) - len(records)
        cut = 0
        by_file: dict[Path, list[dict[str, Any]]] = defaultdict(list)
        for record in records:
            try:
                route = _routes.get(record["event_name"] or "")
                if route is not None:
                    for path, line in route(record, self.layout):
                        by_file[path].append(line)
                    continue
                cut += _limit_log_record(record, limits)
                by_file[self.layout.logs].append(dict(record))
                if record["severity_number"] >= SeverityNumber.ERROR.value:
                    by_file[self.layout.error_rates].append({**record, "record_type": "log_error"})
            except Exception as exc:
                unmapped += 1
                guard.record_fault(exc)
        lost = 0
        for path, lines in by_file.items():
            try:
                append_records(path, lines, guard.faults)
            except Exception as exc:
                guard.failed(exc, dropped=len(lines))
                lost += len(lines)
        lost += guard.settle(cut)
        guard.succeeded(max(0, len(records) - lost))
        if lost or unmapped:
            return LogRecordExportResult.FAILURE
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        self._shutdown = True

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """False when a record exported since the previous call was not stored."""
        return self.guard.flush_ok()


_PRE_CUT = "ff.dropped_values"
"""Carries what :func:`_bounded_log` cut from a record to its stored ``dropped_values``."""


def _limit_log_record(record: LogRecordRecord, limits: RecordLimits) -> int:
    """Apply the record limits to a mapped (scrubbed) log record; 1 when it was cut."""
    attributes = record["attributes"]
    notes = bound_attributes(attributes, limits, None, "attributes") or Notes()
    for entry in attributes.pop(_PRE_CUT, ()):
        field, _, reason = str(entry).partition(": ")
        notes.add(field, reason)
    body = record["body"]
    if body is not None and type(body) is not int and type(body) is not float:
        record["body"] = bound_value(body, limits, notes, "body")
    if not notes.entries:
        return 0
    notes.attach(record)  # type: ignore[arg-type]
    return 1


def _bounded_log(readable: ReadableLogRecord, limits: RecordLimits) -> ReadableLogRecord:
    """A copy of a record the scrubber could not walk, its body within the limits and
    its keys made strings; what was cut travels in an attribute to the stored record."""
    log = copy.copy(readable.log_record)
    notes = Notes()
    log.body = bound_value(log.body, limits, notes, "body")
    cut = tuple(f"{note['field']}: {note['reason']}" for note in notes.entries)
    log.attributes = {**(log.attributes or {}), _PRE_CUT: cut or ("body: could not be scrubbed",)}
    return dataclasses.replace(readable, log_record=log)


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
