"""User events as store records: the spec's ``FFUserAnalyticsDTO`` fields, by event type.

The spec's four event types fill the DTO fields they carry (a ``session_end``
its duration and actions, a ``content_interaction`` its message, document,
tool and search counts, ...); custom event types are kept with their data.
Each event becomes a ``behavior_patterns.jsonl`` line, and each feature it
reports a ``feature_usage.jsonl`` line. Fields an event does not carry are
absent, not zero.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ff_otel.store.layout import StoreLayout

SPEC_EVENT_TYPES = ("session_start", "session_end", "feature_usage", "content_interaction")

# (DTO field, event data keys that may carry it, type)
_FIELDS: dict[str, tuple[tuple[str, tuple[str, ...], type], ...]] = {
    "session_start": (
        ("time_to_first_action_seconds", ("time_to_first_action",), int),
        ("user_agent", ("user_agent",), str),
        ("platform", ("platform",), str),
        ("language", ("language",), str),
        ("timezone", ("timezone",), str),
    ),
    "session_end": (
        ("session_duration_seconds", ("duration", "duration_seconds"), int),
        ("actions_performed", ("actions",), int),
        ("session_quality_score", ("quality_score",), float),
    ),
    "feature_usage": (("interaction_frequency", ("frequency",), float),),
    "content_interaction": (
        ("messages_sent", ("messages",), int),
        ("documents_processed", ("documents",), int),
        ("tools_executed", ("tools",), int),
        ("searches_performed", ("searches",), int),
    ),
}
_ANY_EVENT: tuple[tuple[str, tuple[str, ...], type], ...] = (
    ("satisfaction_rating", ("satisfaction_rating", "rating"), int),
    ("pages_viewed", ("pages",), int),
)


_PLANS = {event_type: (*fields, *_ANY_EVENT) for event_type, fields in _FIELDS.items()}
"""Per event type, every (DTO field, keys, type) to look for: built once, not per event."""


def features_of(event_type: str, data: dict[str, Any]) -> list[str]:
    """The features an event reports using."""
    features = data.get("features")
    found = [str(f) for f in features] if isinstance(features, list) else []
    if isinstance(data.get("feature"), str):
        found.append(data["feature"])
    if event_type == "feature_usage" and not found and isinstance(data.get("name"), str):
        found.append(data["name"])
    return found


def spec_fields(
    event_type: str, data: dict[str, Any], *, track_features: bool = True
) -> dict[str, Any]:
    """The DTO fields this event carries, converted to the DTO's types."""
    out: dict[str, Any] = {}
    get = data.get
    for field, keys, kind in _PLANS.get(event_type, _ANY_EVENT):
        for key in keys:
            value = get(key)
            if value is None or value.__class__ is bool:
                continue
            try:
                out[field] = kind(value)
            except (TypeError, ValueError):
                continue
            break
    features = features_of(event_type, data) if track_features else []
    if features:
        out["features_used"] = features
    if event_type == "conversion" or isinstance(data.get("conversion"), str):
        out["conversion_events"] = [str(data.get("conversion") or data.get("name") or "")]
    if event_type == "page_view":
        out["pages_viewed"] = out.get("pages_viewed", 0) + 1
    return out


def user_event_lines(
    layout: StoreLayout,
    timestamp: str,
    event_type: str,
    user_hash: str,
    session_id: str,
    data: dict[str, Any],
    service: str,
    *,
    track_features: bool = True,
) -> list[tuple[Path, dict[str, Any]]]:
    """The store lines one user event (already pseudonymised and scrubbed) becomes.

    With ``track_features=False`` (``track_feature_usage=False``) nothing is
    derived from the features an event reports: no ``features_used`` field and
    no ``feature_usage.jsonl`` line (the event's own ``data`` is kept as sent).
    """
    line = {
        "timestamp": timestamp,
        "record_type": "event",
        "event_type": event_type,
        "user_hash": user_hash,
        "session_id": session_id,
        **spec_fields(event_type, data, track_features=track_features),
        "data": data,
        "service": service,
    }
    lines: list[tuple[Path, dict[str, Any]]] = [(layout.behavior_patterns, line)]
    for feature in line.get("features_used", ()):
        lines.append(
            (
                layout.feature_usage,
                {
                    "timestamp": timestamp,
                    "record_type": "feature_use",
                    "feature": feature,
                    "user_hash": user_hash,
                    "session_id": session_id,
                },
            )
        )
    return lines
