"""Security events as alert metrics: each interval's events counted by type.

``record_security_event`` (:mod:`ff_otel.sdk.compliance`) appends them to
``compliance/security_events.jsonl``; the collector counts each interval's
events by type here, so alert rules can watch ``metric:security.<type>`` (the
built-in ``auth_failure_burst`` fires on 10 or more ``auth_failure`` events in
an interval).
"""

from __future__ import annotations

from collections import Counter
from typing import Any


def interval_counts(events: list[dict[str, Any]]) -> dict[str, float]:
    """``security.<type>`` counts of an interval's events, as application metric values."""
    counts = Counter(str(e.get("event_type")) for e in events)
    return {f"security.{kind}": float(n) for kind, n in counts.items()}
