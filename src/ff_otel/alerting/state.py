"""The alert log's state: replaying ``alerts.jsonl``, silences, and the series rules watch.

The current state of an alert is the last line written for it, except that an
acknowledgement sticks (the engine may write a line of its own between an
operator's acknowledgement and its next evaluation). Silences are lines of
their own.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ff_otel.core import clock
from ff_otel.spec.models import FFSystemMetricsDTO


class AlertState(StrEnum):
    """Every state an alert can be in: the one set every command and page shows.

    ``acknowledged`` and ``silenced`` are not states but marks on an alert in
    one of these (an acknowledged alert is still ``firing``).
    """

    PENDING = "pending"
    FIRING = "firing"
    SUPPRESSED = "suppressed"
    CANCELLED = "cancelled"
    RESOLVED = "resolved"

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    AlertState.PENDING: "its condition holds, for less than the rule's for_seconds so far",
    AlertState.FIRING: (
        "its condition has held for for_seconds; notified "
        "(acknowledged ones stay firing, marked acknowledged)"
    ),
    AlertState.SUPPRESSED: (
        "it would fire, but max_alerts_per_hour was reached: recorded, not notified"
    ),
    AlertState.CANCELLED: (
        "it was pending and its condition stopped holding before it fired "
        "(stores written by earlier versions say inactive; it reads as cancelled)"
    ),
    AlertState.RESOLVED: (
        "it fired and its condition stopped holding (or its series has no data, "
        "or an operator resolved it), with resolution_time_seconds"
    ),
}
OPEN_STATES = frozenset({AlertState.PENDING, AlertState.FIRING, AlertState.SUPPRESSED})
"""States an operator can still act on (acknowledge, resolve)."""
_LEGACY_STATES = {"inactive": AlertState.CANCELLED}  # the name earlier versions wrote
_logger = logging.getLogger("ff_otel.alerting")


@dataclass
class Silence:
    silence_id: str
    matchers: dict[str, str]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str

    def covers(self, labels: dict[str, str], now: float) -> bool:
        return self.starts_at <= now < self.ends_at and all(
            labels.get(key) == value for key, value in self.matchers.items()
        )


def replay(records: Iterable[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[Silence]]:
    """The current state of every alert, and every silence, from ``alerts.jsonl`` lines.

    The latest record of an alert wins, except that an acknowledgement sticks:
    the engine may write a record of its own between an operator's
    acknowledgement and its next evaluation.
    """
    alerts: dict[str, dict[str, Any]] = {}
    silences: list[Silence] = []
    for record in records:
        if record.get("event") == "silence_created":
            silences.append(silence_of(record))
        elif record.get("event") in ("notified", "notification_failed"):
            continue
        elif isinstance(record.get("alert_id"), str):
            state = _state_of(record)
            if state is None:
                continue
            if record["state"] != state:
                record = {**record, "state": state.value}
            previous = alerts.get(record["alert_id"])
            alerts[record["alert_id"]] = merge_operator_changes(previous, record)
    return alerts, silences


def _state_of(record: dict[str, Any]) -> AlertState | None:
    named = record.get("state")
    if named in _LEGACY_STATES:
        return _LEGACY_STATES[named]
    try:
        return AlertState(str(named))
    except ValueError:
        # A line this version cannot place: the alert keeps the state it had.
        _logger.warning(
            "ff-otel: alert %s line at %s has no known state (%r); skipped",
            record["alert_id"],
            record.get("timestamp"),
            named,
        )
        return None


def count_by_state(alerts: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many of ``alerts`` are in each state, every state named (zeros too), in order."""
    counts = Counter(str(alert.get("state")) for alert in alerts)
    return {state.value: counts[state.value] for state in AlertState}


def merge_operator_changes(
    previous: dict[str, Any] | None, record: dict[str, Any]
) -> dict[str, Any]:
    """``record``, keeping an earlier acknowledgement (and who took the alert)."""
    if previous is None or not previous.get("acknowledged") or record.get("acknowledged"):
        return record
    return {**record, "acknowledged": True, "assigned_to": previous.get("assigned_to")}


def silence_of(record: dict[str, Any]) -> Silence:
    return Silence(
        silence_id=str(record["silence_id"]),
        matchers={str(k): str(v) for k, v in (record.get("matchers") or {}).items()},
        starts_at=clock.parse_instant(record["starts_at"]).timestamp(),
        ends_at=clock.parse_instant(record["ends_at"]).timestamp(),
        created_by=str(record.get("created_by") or ""),
        comment=str(record.get("comment") or ""),
    )


def series_values(
    snapshot: FFSystemMetricsDTO, metric_values: dict[str, float]
) -> dict[tuple[str, str], float]:
    """Every value a rule can watch this interval, keyed by (series, component)."""
    data = snapshot.model_dump(exclude_unset=False)
    values: dict[tuple[str, str], float] = {}
    for name, value in data.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values[(name, "")] = float(value)
    values[("error_rate_percent", "")] = 100.0 - snapshot.success_rate_percent
    for component, rate in snapshot.component_error_rates.items():
        values[("component_error_rate_percent", component)] = rate
    for component, latency in snapshot.component_response_times.items():
        values[("component_response_time_ms", component)] = latency
    for name, value in metric_values.items():
        values[(f"metric:{name}", "")] = value
    return values
