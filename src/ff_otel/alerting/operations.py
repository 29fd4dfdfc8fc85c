"""What operators do to alerts: list, acknowledge, resolve, silence.

Each is a line appended to ``alerts.jsonl`` (so it survives restarts and is
seen by every process on the store); reads rebuild the current state from the
same file.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ff_otel.alerting.state import OPEN_STATES, AlertState, Silence, replay
from ff_otel.compliance.trails import audit_act
from ff_otel.core import clock
from ff_otel.spec.models import FFAnalyticsAlertDTO, stamped_id
from ff_otel.store.appender import append_records
from ff_otel.store.layout import StoreLayout
from ff_otel.store.reader import read_records

_DTO_FIELDS = frozenset(FFAnalyticsAlertDTO.model_fields)


def current_alerts(path: Path) -> dict[str, dict[str, Any]]:
    """Every alert's current record, by id."""
    return replay(read_records(path))[0]


def in_state(
    alerts: dict[str, dict[str, Any]], state: AlertState | None, severity: str | None = None
) -> list[dict[str, Any]]:
    """The ``alerts`` in ``state`` (every one for None), newest first; ``severity`` filters.

    The one selection behind ``get_active_alerts()``, ``ff-otel alerts list``,
    ``ff-otel status`` and the dashboard, so they name the same alerts.
    """
    chosen = [
        record
        for record in alerts.values()
        if (state is None or record.get("state") == state)
        and (severity is None or record.get("severity") == severity)
    ]
    chosen.sort(key=lambda r: str(r.get("fired_at") or r.get("timestamp")), reverse=True)
    return chosen


def active_alerts(path: Path, severity: str | None = None) -> list[FFAnalyticsAlertDTO]:
    """Firing alerts (acknowledged ones included), newest first; ``severity`` filters exactly."""
    return [as_dto(r) for r in in_state(current_alerts(path), AlertState.FIRING, severity)]


def as_dto(record: dict[str, Any]) -> FFAnalyticsAlertDTO:
    return FFAnalyticsAlertDTO.model_validate({k: v for k, v in record.items() if k in _DTO_FIELDS})


def acknowledge(path: Path, alert_id: str, acknowledged_by: str) -> bool:
    """Mark a firing alert acknowledged (stops escalation); False for an unknown or closed id."""
    record = current_alerts(path).get(alert_id)
    if record is None or record.get("state") not in OPEN_STATES:
        return False
    _append(path, record, "acknowledged", acknowledged=True, assigned_to=acknowledged_by)
    audit_act(_layout_of(path), "alert_acknowledge", alert_id, actor=acknowledged_by)
    return True


def resolve(
    path: Path, alert_id: str, resolution_notes: str, resolved_by: str | None = None
) -> bool:
    """Resolve an open alert by hand; False for an unknown or closed (resolved, cancelled) id.

    The audit record names ``resolved_by`` (default: the process's OS user).
    """
    record = current_alerts(path).get(alert_id)
    if record is None or record.get("state") not in OPEN_STATES:
        return False
    now = time.time()
    fired = record.get("fired_at_epoch")
    _append(
        path,
        record,
        "resolved",
        state=AlertState.RESOLVED,
        resolved=True,
        manually_resolved=True,
        resolution_notes=resolution_notes,
        resolution_time_seconds=int(now - fired) if isinstance(fired, (int, float)) else None,
        resolved_at_epoch=now,
    )
    audit_act(
        _layout_of(path), "alert_resolve", alert_id, actor=resolved_by, notes=resolution_notes
    )
    return True


def silence(
    path: Path,
    matchers: dict[str, str],
    *,
    ends_at: datetime | str | None = None,
    duration_minutes: float | None = None,
    starts_at: datetime | str | None = None,
    created_by: str,
    comment: str = "",
) -> str:
    """Silence alerts whose labels (``rule``, ``component``, ``severity``, ...) match.

    Give ``ends_at`` or ``duration_minutes``. Returns the silence id.
    """
    if not matchers:
        raise ValueError("a silence needs at least one matcher, e.g. {'rule': 'slow_responses'}")
    start = clock.now() if starts_at is None else clock.parse_instant(starts_at)
    if ends_at is not None:
        end = clock.parse_instant(ends_at)
    elif duration_minutes is not None:
        end = start + timedelta(minutes=duration_minutes)
    else:
        raise ValueError("a silence needs ends_at or duration_minutes")
    if end <= start:
        raise ValueError(f"a silence must end after it starts ({end} <= {start})")
    silence_id = stamped_id("silence")
    append_records(
        path,
        [
            {
                "timestamp": clock.now_iso(),
                "event": "silence_created",
                "silence_id": silence_id,
                "matchers": {str(k): str(v) for k, v in matchers.items()},
                "starts_at": clock.format_iso(start),
                "ends_at": clock.format_iso(end),
                "created_by": created_by,
                "comment": comment,
            }
        ],
    )
    audit_act(
        _layout_of(path),
        "alert_silence",
        silence_id,
        actor=created_by,
        matchers=matchers,
        ends_at=clock.format_iso(end),
        comment=comment,
    )
    return silence_id


def _layout_of(alerts_path: Path) -> StoreLayout:
    # alerts.jsonl lives at <base>/analytics/system_metrics/alerts.jsonl
    return StoreLayout(alerts_path.parent.parent.parent)


def active_silences(path: Path) -> list[Silence]:
    now = time.time()
    return [s for s in replay(read_records(path))[1] if s.ends_at > now]


def _append(path: Path, record: dict[str, Any], event: str, **changes: Any) -> None:
    append_records(path, [{**record, **changes, "event": event, "timestamp": clock.now_iso()}])
