"""The types readers may rely on in stored records, checked as each record is read.

A stream is written by ff-otel, but a file can be edited, restored from
elsewhere or written by an older version. A field whose value has the wrong
type (``"duration_ms": "fast"``, ``{"name": 7}``) is removed from the record
as it is read, as if it were absent, and counted: per stream and field in
:data:`INVALID_FIELDS` (the collector's health record shows the count as the
``store.records`` component, which ``ff-otel status`` lists) and in the
reading's own stats. ``None`` stays: readers treat it as absent already.
Only the fields readers compute with or group by are checked.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

_TEXT = (str,)
_NUMBER = (int, float)
_INTEGER = (int,)
_MAP = (dict,)
_LIST = (list,)

FIELD_TYPES: dict[str, dict[str, tuple[type, ...]]] = {
    "spans": {
        "timestamp": _TEXT,
        "end_timestamp": _TEXT,
        "trace_id": _TEXT,
        "span_id": _TEXT,
        "name": _TEXT,
        "kind": _TEXT,
        "component": _TEXT,
        "duration_ms": _NUMBER,
        "status": _TEXT,
        "attributes": _MAP,
        "events": _LIST,
        "service": _TEXT,
    },
    "logs": {
        "timestamp": _TEXT,
        "severity": _TEXT,
        "severity_number": _INTEGER,
        "attributes": _MAP,
        "service": _TEXT,
    },
    "error_rates": {"timestamp": _TEXT, "component": _TEXT, "name": _TEXT, "service": _TEXT},
    "metrics": {
        "timestamp": _TEXT,
        "name": _TEXT,
        "type": _TEXT,
        "attributes": _MAP,
        "value": _NUMBER,
        "sum": _NUMBER,
        "count": _INTEGER,
    },
    "behavior_patterns": {
        "timestamp": _TEXT,
        "event_type": _TEXT,
        "user_hash": _TEXT,
        "session_id": _TEXT,
        "data": _MAP,
    },
    "feature_usage": {"timestamp": _TEXT, "feature": _TEXT, "user_hash": _TEXT},
    "session_analytics": {"timestamp": _TEXT, "user_hash": _TEXT},
    "performance": {"timestamp": _TEXT, "response_time_ms": _NUMBER, "error_rate": _NUMBER},
}
"""Checked fields by stream (the file name without ``.jsonl`` and segment stamp)."""

INVALID_FIELDS: Counter[str] = Counter()
"""``"<stream>.<field>"`` -> fields removed for a wrong type, in this process."""
_lock = threading.Lock()


def fields_of(stream: str) -> tuple[tuple[str, tuple[type, ...]], ...] | None:
    """The checked fields of a stream, or None when it has none."""
    types = FIELD_TYPES.get(stream)
    return tuple(types.items()) if types else None


def stream_of(file_name: str) -> str:
    """``spans`` for ``spans.jsonl``, ``spans.20261207T000000.jsonl.gz`` and the like."""
    return file_name.split(".", 1)[0]


def drop_invalid(
    record: dict[str, Any], stream: str, fields: tuple[tuple[str, tuple[type, ...]], ...]
) -> int:
    """Remove the fields of ``record`` whose value has the wrong type; returns how many."""
    # Every record of a checked stream passes here and nearly all are clean: a
    # plain loop answers that without building a list (a comprehension cost
    # several times the record's own parse).
    for name, kinds in fields:
        value = record.get(name)
        if value is not None and type(value) not in kinds:
            break
    else:
        return 0
    bad = [
        name
        for name, kinds in fields
        if (value := record.get(name)) is not None
        and (type(value) not in kinds or (kinds is _NUMBER and type(value) is bool))
    ]
    if not bad:
        return 0
    with _lock:
        for name in bad:
            del record[name]
            INVALID_FIELDS[f"{stream}.{name}"] += 1
    return len(bad)


def invalid_fields() -> dict[str, int]:
    """A copy of :data:`INVALID_FIELDS`."""
    with _lock:
        return dict(INVALID_FIELDS)
