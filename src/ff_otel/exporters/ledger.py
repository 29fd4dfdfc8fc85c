"""Which stored spans a collector accepted: the delivery ledger beside the store.

The OTLP span exporter appends one line per batch to
``system_metrics/otlp_deliveries.jsonl``: the collector's endpoint, whether
the batch was ``accepted`` or ``failed`` (refused, unreachable, or not sent
while the collector was paused), by whom (``export`` or ``replay``), its span
ids and the first and last span start time. Lines go through the one
appender (one locked append each: several processes share the ledger, and a
line torn by a crash is skipped by the one reader), so the ledger is
append-only and crash-safe. A span counts as delivered to an endpoint once a
line says a batch holding it was accepted there; ``ff-otel replay`` sends only
the stored spans that no such line covers. A span the SDK dropped before it
reached the exporter (its queue full) is in no line, so it is replayed too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan

from ff_otel.core import clock
from ff_otel.store.appender import append_records
from ff_otel.store.reader import read_records

LEDGER_NAME = "otlp_deliveries.jsonl"
_logger = logging.getLogger("ff_otel.exporters")


def ledger_path(spans: Path) -> Path:
    """The ledger beside a store's ``spans.jsonl``."""
    return spans.with_name(LEDGER_NAME)


def same_endpoint(endpoint: str) -> str:
    """The form endpoints are compared in: ``http://c:4317/`` and ``http://c:4317`` are one."""
    return endpoint.strip().rstrip("/")


class DeliveryLedger:
    """Records each batch's outcome for one endpoint; never raises into an export thread."""

    def __init__(self, path: Path, endpoint: str, source: str = "export") -> None:
        self.path = path
        self.endpoint = same_endpoint(endpoint)
        self.source = source
        self.unrecorded_batches = 0
        """Batches whose outcome could not be written (the disk full, say): they are replayed."""

    def record(self, spans: Sequence[ReadableSpan], accepted: bool) -> None:
        if not spans:
            return
        starts = [span.start_time or 0 for span in spans]
        entry = {
            "timestamp": clock.now_iso(),
            "endpoint": self.endpoint,
            "outcome": "accepted" if accepted else "failed",
            "source": self.source,
            "spans": len(spans),
            "first_start": clock.ns_to_iso(min(starts)),
            "last_start": clock.ns_to_iso(max(starts)),
            "span_ids": [f"{span.context.span_id:016x}" for span in spans if span.context],
        }
        try:
            append_records(self.path, [entry])
        except OSError:
            self.unrecorded_batches += 1
            _logger.exception("ff-otel: could not record a batch's delivery in %s", self.path)


def accepted_span_ids(path: Path, endpoint: str, since: str | None = None) -> set[str]:
    """Ids of the spans ``endpoint`` accepted, from batches ending at or after ``since``."""
    endpoint = same_endpoint(endpoint)
    accepted: set[str] = set()
    for entry in read_records(path):
        if entry.get("endpoint") != endpoint or entry.get("outcome") != "accepted":
            continue
        last = entry.get("last_start")
        if since is not None and isinstance(last, str) and last < since:
            continue
        ids = entry.get("span_ids")
        if isinstance(ids, list):
            accepted.update(span_id for span_id in ids if isinstance(span_id, str))
    return accepted


def first_failed_start(path: Path, endpoint: str) -> str | None:
    """The earliest start time of a span in a batch ``endpoint`` did not accept; None if none."""
    endpoint = same_endpoint(endpoint)
    earliest: str | None = None
    for entry in read_records(path):
        if entry.get("endpoint") != endpoint or entry.get("outcome") != "failed":
            continue
        first = entry.get("first_start")
        if isinstance(first, str) and (earliest is None or first < earliest):
            earliest = first
    return earliest
