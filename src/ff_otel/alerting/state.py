"""The alert log's state: replaying ``alerts.jsonl``, silences, and the series rules watch.

The current state of an alert is the last line written for it, except that an
acknowledgement sticks (the engine may write a line of its own between an
operator's acknowledgement and its next evaluation). Silences are lines of
their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ff_otel import _clock
from ff_otel.models import FFSystemMetricsDTO

ALERT_STATES: dict[str, str] = {
    "pending": "its condition holds, for less than the rule's for_seconds so far",
    "firing": "its condition has held for for_seconds; notified (acknowledged ones too)",
    "suppressed": "it would fire, but max_alerts_per_hour was reached (recorded, not notified)",
    "cancelled": "it was pending and its condition stopped holding before it fired",
    "resolved": "it fired and its condition stopped holding (or an operator resolved it)",
}
"""Every state an alert can be in, with its meaning: the one set every command shows."""

_LEGACY_STATES = {"inactive": "cancelled"}  # the name earlier versions wrote


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
            if record.get("state") in _LEGACY_STATES:
                record = {**record, "state": _LEGACY_STATES[record["state"]]}
            previous = alerts.get(record["alert_id"])
            alerts[record["alert_id"]] = merge_operator_changes(previous, record)
    return alerts, silences


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
        starts_at=_clock.parse_instant(record["starts_at"]).timestamp(),
        ends_at=_clock.parse_instant(record["ends_at"]).timestamp(),
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
