"""The alert engine: rule states, noise control, anomalies, and the alert log.

Each rule (per component for per-component series) moves through the states
of :class:`~ff_otel.alerting.state.AlertState`: pending -> firing -> resolved,
as in Prometheus: pending while the condition has held for less than
``for_seconds``, firing after, resolved when it stops holding
(``resolution_time_seconds`` = resolved - fired); cancelled when it stops
holding while still pending. A firing alert is one alert per rule and
component however long it lasts.

Noise control, as in Alertmanager: after an alert resolves, the same rule and
component do not open a new alert for ``alert_cooldown_minutes`` (a relapse in
that time re-fires the same alert, without a second notification); beyond
``max_alerts_per_hour`` new alerts in an hour, further ones are recorded as
``suppressed`` and one ``alert_storm`` summary alert says how many; a firing
alert nobody acknowledged escalates every ``escalation_delay_minutes`` (severity
up one level, ``escalated``, notified again); silences (label matchers with a
start and an end) keep matching alerts from notifying while still recording them.

Every change is a line in ``system_metrics/alerts.jsonl``: the full alert (the
spec's ``FFAnalyticsAlertDTO`` fields) plus ``event``, ``state``, ``rule``,
``labels`` and ``silenced``. The current state is the last line per alert id,
so it is rebuilt from the file on start, and acknowledgements, resolutions and
silences written by any process reach the engine at its next evaluation.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

from ff_otel.alerting.anomaly_watch import (
    AnomalyWatch,
    anomaly_details,
    anomaly_rule,
    anomaly_rule_name,
    worth_alert,
)
from ff_otel.alerting.notifiers import NotificationDispatcher
from ff_otel.alerting.state import (
    OPEN_STATES,
    AlertState,
    Silence,
    merge_operator_changes,
    replay,
    series_values,
    silence_of,
)
from ff_otel.core import clock
from ff_otel.spec.alerting_config import (
    PER_COMPONENT_SERIES,
    AlertRule,
    FFAnalyticsAlertingConfigDTO,
)
from ff_otel.spec.enums import AlertSeverity
from ff_otel.spec.models import FFAnalyticsAlertDTO, FFSystemMetricsDTO, stamped_id
from ff_otel.store.appender import append_records
from ff_otel.store.reader import read_records
from ff_otel.store.tail import StreamTail

SEVERITIES = ("info", "warning", "error", "critical")
_HOUR = 3600.0
_OPERATOR_FIELDS = (
    "acknowledged",
    "assigned_to",
    "resolved",
    "resolution_notes",
    "resolution_time_seconds",
    "manually_resolved",
    "resolved_at_epoch",
    "state",
)


class AlertEngine:
    """Evaluates rules and anomaly detectors on every interval snapshot (the collector only)."""

    def __init__(
        self,
        alerts_path: Path,
        alerting: FFAnalyticsAlertingConfigDTO,
        rules: list[AlertRule],
        dispatcher: NotificationDispatcher,
        service: str,
    ) -> None:
        self.path = alerts_path
        self.alerting = alerting
        self.rules = rules
        self.dispatcher = dispatcher
        self.service = service
        self.alerts: dict[str, dict[str, Any]] = {}
        self.by_key: dict[tuple[str, str], str] = {}
        self.silences: list[Silence] = []
        self.anomalies = AnomalyWatch()
        self._fired_times: deque[float] = deque()
        self._storm_hour: float | None = None
        self._pending: list[dict[str, Any]] = []
        self._tail = StreamTail(self.path)
        self._load()

    def reload(self) -> None:
        """Rebuild the state from ``alerts.jsonl`` (on becoming the store's collector)."""
        self.alerts.clear()
        self.by_key.clear()
        self._fired_times.clear()
        self._tail = StreamTail(self.path)
        self._load()

    def _load(self) -> None:
        alerts, silences = replay(read_records(self.path))
        self.silences = silences
        for alert_id, record in alerts.items():
            self._adopt(alert_id, record)
        hour_ago = time.time() - _HOUR
        for record in alerts.values():
            fired = record.get("fired_at_epoch")
            if isinstance(fired, (int, float)) and fired >= hour_ago:
                self._fired_times.append(float(fired))

    def _adopt(self, alert_id: str, record: dict[str, Any]) -> None:
        # The latest alert of a rule and component stays reachable by key, so a
        # resolved one can be re-fired during its cooldown.
        self.alerts[alert_id] = merge_operator_changes(self.alerts.get(alert_id), record)
        key = (str(record.get("rule")), str(record.get("affected_component") or ""))
        self.by_key[key] = alert_id

    def evaluate(
        self, snapshot: FFSystemMetricsDTO, metric_values: dict[str, float], now: float
    ) -> list[dict[str, Any]]:
        """One evaluation; returns (and appends) the records of every change."""
        self._apply_operator_changes()
        self.silences = [s for s in self.silences if s.ends_at > now]
        values = series_values(snapshot, metric_values)
        per_component: dict[str, dict[str, float | None]] = {}
        for (series, component), value in values.items():
            if component:
                per_component.setdefault(series, {})[component] = value
        open_components: dict[str, set[str]] = {}
        for (name, component), alert_id in self.by_key.items():
            if component and self.alerts[alert_id].get("state") in OPEN_STATES:
                open_components.setdefault(name, set()).add(component)
        for rule in self.rules:
            if rule.series in PER_COMPONENT_SERIES:
                found: dict[str, float | None] = dict(per_component.get(rule.series, {}))
                # A component with an open alert and no spans this interval: no
                # data, which resolves its alert as it would in Prometheus.
                for component in open_components.get(rule.name, ()):
                    found.setdefault(component, None)
                if rule.component is not None:
                    found = {rule.component: found.get(rule.component)}
                for component, reading in found.items():
                    self._step(rule, component, reading, now)
            else:
                self._step(rule, rule.component or "", values.get((rule.series, "")), now)
        self._anomalies(values, now)
        self._escalate(now)
        records, self._pending = self._pending, []
        if records:
            append_records(self.path, records)
        return records

    def _apply_operator_changes(self) -> None:
        # Lines written by operators (any process) since the last evaluation;
        # the engine's own lines are read back too and change nothing.
        for record in self._tail.read_new():
            event = record.get("event")
            if event == "silence_created":
                self.silences.append(silence_of(record))
            elif event == "acknowledged" or (
                event == "resolved" and record.get("manually_resolved")
            ):
                alert_id = record.get("alert_id")
                if isinstance(alert_id, str) and alert_id in self.alerts:
                    self.alerts[alert_id].update(
                        {k: record[k] for k in _OPERATOR_FIELDS if k in record}
                    )

    def _step(self, rule: AlertRule, component: str, value: float | None, now: float) -> None:
        key = (rule.name, component)
        alert_id = self.by_key.get(key)
        alert = self.alerts.get(alert_id) if alert_id else None
        state = alert.get("state") if alert else None
        if value is not None and rule.holds(value):
            if alert is not None and state in (AlertState.FIRING, AlertState.SUPPRESSED):
                self._touch(alert, value)
            elif alert is not None and state == AlertState.PENDING:
                if now - alert["pending_since_epoch"] >= rule.for_seconds:
                    self._fire(alert, value, now)
            elif alert is not None and state == AlertState.RESOLVED and self._cooling(alert, now):
                if not alert.get("manually_resolved"):
                    self._record(
                        alert, "refired", AlertState.FIRING, now, value=value, resolved=False
                    )
            else:
                created = self._new(rule, component, value, now)
                if rule.for_seconds <= 0:
                    self._fire(created, value, now)
        elif alert is None:
            return
        elif state == AlertState.PENDING:
            self._record(alert, "cancelled", AlertState.CANCELLED, now, value=value)
            del self.by_key[key]
        elif state in (AlertState.FIRING, AlertState.SUPPRESSED):
            self._resolve(alert, now, value)

    def _new(self, rule: AlertRule, component: str, value: float, now: float) -> dict[str, Any]:
        labels = {
            "rule": rule.name,
            "component": component,
            "alert_type": rule.alert_type,
            **rule.labels,
        }
        subject = f" in {component}" if component else ""
        dto = FFAnalyticsAlertDTO(
            alert_id=stamped_id("alert", now),
            severity=rule.severity,
            alert_type=rule.alert_type,
            title=f"{rule.name}{subject}",
            message=(
                f"{rule.series}{subject} {rule.comparison} {rule.threshold:g}"
                + (f" for {rule.for_seconds:g} s" if rule.for_seconds else "")
            ),
            affected_component=component,
            metric_name=rule.series,
            current_value=value,
            threshold_value=rule.threshold,
            recommended_actions=list(rule.recommended_actions),
            documentation_links=[rule.runbook_url] if rule.runbook_url else [],
        )
        alert = {
            **dto.to_dict(),
            "rule": rule.name,
            "labels": labels,
            "pending_since_epoch": now,
        }
        self.alerts[dto.alert_id] = alert
        self.by_key[(rule.name, component)] = dto.alert_id
        self._record(alert, "pending", AlertState.PENDING, now, value=value)
        return alert

    def _fire(self, alert: dict[str, Any], value: float, now: float) -> None:
        while self._fired_times and self._fired_times[0] < now - _HOUR:
            self._fired_times.popleft()
        if len(self._fired_times) >= self.alerting.max_alerts_per_hour:
            self._record(alert, "suppressed", AlertState.SUPPRESSED, now, value=value)
            self._storm(now)
            return
        self._fired_times.append(now)
        self._record(
            alert,
            "fired",
            AlertState.FIRING,
            now,
            value=value,
            notify=True,
            fired_at=clock.epoch_to_iso(now),
            fired_at_epoch=now,
        )

    def _resolve(self, alert: dict[str, Any], now: float, value: float | None) -> None:
        fired = alert.get("fired_at_epoch")
        seconds = int(now - fired) if isinstance(fired, (int, float)) else None
        self._record(
            alert,
            "resolved",
            AlertState.RESOLVED,
            now,
            value=value,
            notify=alert["state"] == AlertState.FIRING,
            resolved=True,
            resolution_time_seconds=seconds,
            resolved_at_epoch=now,
        )

    def _storm(self, now: float) -> None:
        hour = now - now % _HOUR
        suppressed = sum(
            1
            for a in self.alerts.values()
            if a.get("state") == AlertState.SUPPRESSED and a.get("updated_epoch", 0) >= hour
        )
        if self._storm_hour == hour:
            return
        self._storm_hour = hour
        dto = FFAnalyticsAlertDTO(
            severity=AlertSeverity.CRITICAL,
            alert_type="alert_storm",
            title="alert storm: max_alerts_per_hour reached",
            message=(
                f"more than {self.alerting.max_alerts_per_hour} alerts this hour; "
                f"{suppressed} suppressed so far (all are in alerts.jsonl)"
            ),
            recommended_actions=["Read alerts.jsonl for the suppressed alerts"],
        )
        storm = {**dto.to_dict(), "rule": "alert_storm", "labels": {"rule": "alert_storm"}}
        self.alerts[dto.alert_id] = storm
        self._record(storm, "fired", AlertState.FIRING, now, notify=True, fired_at_epoch=now)
        self._record(
            storm, "resolved", AlertState.RESOLVED, now, resolved=True, resolution_time_seconds=0
        )

    def _escalate(self, now: float) -> None:
        delay = self.alerting.escalation_delay_minutes * 60
        for alert in list(self.alerts.values()):
            if alert.get("state") != AlertState.FIRING or alert.get("acknowledged"):
                continue
            since = alert.get("escalated_at_epoch") or alert.get("fired_at_epoch")
            if not isinstance(since, (int, float)) or now - since < delay:
                continue
            level = SEVERITIES.index(str(alert.get("severity", "warning")))
            if level == len(SEVERITIES) - 1 and alert.get("escalated"):
                continue
            self._record(
                alert,
                "escalated",
                AlertState.FIRING,
                now,
                notify=True,
                escalated=True,
                severity=SEVERITIES[min(level + 1, len(SEVERITIES) - 1)],
                escalated_at_epoch=now,
            )

    def _anomalies(self, values: dict[tuple[str, str], float], now: float) -> None:
        for series, value, anomaly in self.anomalies.readings(values, now):
            alert_id = self.by_key.get((anomaly_rule_name(series), ""))
            alert = self.alerts.get(alert_id) if alert_id else None
            open_alert = alert is not None and alert.get("state") == AlertState.FIRING
            if anomaly is None:
                if alert is not None and open_alert:
                    self._resolve(alert, now, value)
                continue
            if open_alert or not worth_alert(series, value, anomaly):
                continue
            if alert is not None and self._cooling(alert, now):
                # A relapse within the cooldown re-fires the same alert, unnotified.
                if not alert.get("manually_resolved"):
                    self._record(
                        alert, "refired", AlertState.FIRING, now, value=value, resolved=False
                    )
            else:
                created = self._new(anomaly_rule(series, anomaly), "", value, now)
                created.update(anomaly_details(series, value, anomaly))
                self._fire(created, value, now)

    def _cooling(self, alert: dict[str, Any], now: float) -> bool:
        resolved = alert.get("resolved_at_epoch")
        cooldown = self.alerting.alert_cooldown_minutes * 60
        return isinstance(resolved, (int, float)) and now - resolved < cooldown

    def _touch(self, alert: dict[str, Any], value: float) -> None:
        alert["current_value"] = value

    def _record(
        self,
        alert: dict[str, Any],
        event: str,
        state: AlertState,
        now: float,
        *,
        value: float | None = None,
        notify: bool = False,
        **changes: Any,
    ) -> None:
        alert.update(changes)
        if value is not None:
            alert["current_value"] = value
        alert["state"] = state.value
        alert["event"] = event
        alert["updated_epoch"] = now
        alert["timestamp"] = clock.epoch_to_iso(now)
        labels = alert.get("labels") or {}
        alert["silenced"] = any(
            s.covers({**labels, "severity": str(alert.get("severity"))}, now) for s in self.silences
        )
        record = dict(alert)
        self._pending.append(record)
        if notify and not alert["silenced"]:
            self.dispatcher.notify(record)
