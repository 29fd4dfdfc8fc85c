"""Security events: auth failures, permission denials, suspicious input.

``record_security_event`` appends to ``compliance/security_events.jsonl`` with
its details scrubbed like every other attribute, users named by subject
references (:mod:`ff_otel.privacy.subjects`), so erasure leaves nothing here.
The collector counts each interval's events by type, so alert rules can watch
``metric:security.<type>`` (the built-in ``auth_failure_burst`` fires on 10 or
more ``auth_failure`` events in an interval).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ff_otel import _clock, setup
from ff_otel.compliance.spool import append_compliance, bounded_details, write_fault
from ff_otel.config import AlertSeverity
from ff_otel.privacy.subjects import SubjectScrubber

SEVERITIES = frozenset(s.value for s in AlertSeverity)


def record_security_event(event_type: str, severity: str = "warning", **details: Any) -> bool:
    """Record a security event; True when it is in the file.

    False when ff-otel is not configured, or when it could not be written now
    (it waits in the compliance spool, see :mod:`ff_otel.compliance.spool`);
    never raises for the disk or the details. Raises ``ValueError`` for an
    empty event type or an unknown severity.
    """
    if not isinstance(event_type, str) or not event_type:
        raise ValueError(f"event_type must be a non-empty string, got {event_type!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}; use one of {sorted(SEVERITIES)}")
    handle = setup.current()
    if handle is None or handle.scrubber is None:
        return False
    try:
        subjects = handle.scrubber.twin(SubjectScrubber)
        record = {
            "timestamp": _clock.now_iso(),
            "event_type": subjects.free_text(event_type),
            "severity": severity,
            "service": handle.settings.service_name,
            "details": subjects.body(bounded_details(details, handle.settings.limits), "details"),
        }
    except Exception as exc:
        return write_fault("record_security_event", exc)
    return append_compliance(handle.layout.security_events, record)


def interval_counts(events: list[dict[str, Any]]) -> dict[str, float]:
    """``security.<type>`` counts of an interval's events, as application metric values."""
    counts = Counter(str(e.get("event_type")) for e in events)
    return {f"security.{kind}": float(n) for kind, n in counts.items()}
