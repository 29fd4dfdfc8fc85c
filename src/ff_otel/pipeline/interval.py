"""What happened in one interval, summarised from the span and log records it produced.

Definitions (the README repeats them; :func:`is_request` and :func:`failed` are
the one place every figure takes them from: snapshots, BI, reports,
``ff_otel.query``, the dashboard and ``ff-otel status``):
- a *request* is a span of kind ``server`` or a root span (no parent);
- a *failed request* is a request whose status is ``error`` or whose
  ``http.response.status_code`` (or legacy ``http.status_code``) is 500 or more;
  a 4xx answer is the client's error, not a failure of the service;
- a *failed span* is a span whose status is ``error``, or a failed request;
- the *error rate* of a window is its failed requests ÷ its requests;
- ``response_time_ms`` is the 95th percentile of request durations, and
  ``component_response_times`` the 95th percentile of each component's span
  durations: the tail a user feels and an alert should watch, not the mean;
- ``error_count`` counts failed spans plus log records at ERROR or above;
  ``warning_count`` counts log records at WARN;
- ``success_rate_percent`` is the share of requests that did not fail
  (100 when there were no requests: nothing failed);
- ``component_error_rates`` is each component's failed spans ÷ its spans, in percent.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

_WARN = 13
_ERROR = 17


def is_request(span: dict[str, Any]) -> bool:
    """A span of kind ``server``, or a root span: one request the service answered."""
    return span.get("kind") == "server" or not span.get("parent_span_id")


def failed(span: dict[str, Any]) -> bool:
    """Status ``error``, or a request answered with an HTTP status of 500 or more."""
    if span.get("status") == "error":
        return True
    if not is_request(span):
        return False
    attributes = span.get("attributes") or {}
    code = attributes.get("http.response.status_code", attributes.get("http.status_code"))
    try:
        return code is not None and int(code) >= 500
    except (TypeError, ValueError):
        return False


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by the nearest-rank method; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


@dataclass
class ComponentActivity:
    spans: int = 0
    errors: int = 0
    durations_ms: list[float] = field(default_factory=list)

    @property
    def error_rate_percent(self) -> float:
        return 100.0 * self.errors / self.spans if self.spans else 0.0

    @property
    def p95_ms(self) -> float:
        return percentile(self.durations_ms, 0.95)


@dataclass
class IntervalActivity:
    """Counts and durations of one interval's spans and logs."""

    seconds: float
    requests: int = 0
    failed_requests: int = 0
    request_durations_ms: list[float] = field(default_factory=list)
    failed_spans: int = 0
    error_logs: int = 0
    warning_logs: int = 0
    components: dict[str, ComponentActivity] = field(
        default_factory=lambda: defaultdict(ComponentActivity)
    )
    error_types: Counter[tuple[str, str]] = field(default_factory=Counter)

    @classmethod
    def from_records(
        cls, seconds: float, spans: Iterable[dict[str, Any]], logs: Iterable[dict[str, Any]]
    ) -> IntervalActivity:
        activity = cls(seconds=max(seconds, 1e-9))
        for span in spans:
            activity._add_span(span)
        for log in logs:
            number = log.get("severity_number") or 0
            if number >= _ERROR:
                activity.error_logs += 1
                activity.error_types[(str(log.get("scope") or "log"), "log_error")] += 1
            elif number >= _WARN:
                activity.warning_logs += 1
        return activity

    def _add_span(self, span: dict[str, Any]) -> None:
        span_failed = failed(span)
        duration = float(span.get("duration_ms") or 0.0)
        component = self.components[str(span.get("component") or "unknown")]
        component.spans += 1
        component.durations_ms.append(duration)
        if span_failed:
            component.errors += 1
            self.failed_spans += 1
            self.error_types[(str(span.get("component")), _error_type(span))] += 1
        if is_request(span):
            self.requests += 1
            self.request_durations_ms.append(duration)
            if span_failed:
                self.failed_requests += 1

    @property
    def error_count(self) -> int:
        return self.failed_spans + self.error_logs

    @property
    def success_rate_percent(self) -> float:
        if not self.requests:
            return 100.0
        return 100.0 * (self.requests - self.failed_requests) / self.requests

    @property
    def throughput_requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def response_time_p95_ms(self) -> float:
        return percentile(self.request_durations_ms, 0.95)

    def summary_record(self, detailed: bool) -> dict[str, Any]:
        """The ``error_rates.jsonl`` line for this interval (``record_type: interval_summary``)."""
        record: dict[str, Any] = {
            "record_type": "interval_summary",
            "interval_seconds": round(self.seconds, 3),
            "requests": self.requests,
            "failed_requests": self.failed_requests,
            "error_count": self.error_count,
            "warning_count": self.warning_logs,
            "error_rate_percent": round(100 - self.success_rate_percent, 3),
            "component_error_rates": {
                name: round(c.error_rate_percent, 3) for name, c in self.components.items()
            },
        }
        if detailed:
            record["top_errors"] = [
                {"component": component, "error_type": error_type, "count": count}
                for (component, error_type), count in self.error_types.most_common(10)
            ]
        return record


def _error_type(span: dict[str, Any]) -> str:
    for event in span.get("events") or ():
        if event.get("name") == "exception":
            return str(event.get("attributes", {}).get("exception.type", "exception"))
    return "error"
