"""Recording user events: consent, pseudonyms and scrubbing at the call, then an OTel event.

Everything privacy-related happens here, on the caller's thread, before the
event enters any queue: the raw user id and session id are replaced by keyed
pseudonyms, event data is scrubbed, and events of users who opted out, sent
Do-Not-Track, have not consented (when consent is required) or fall outside
the per-user sample are dropped (all events, when the configuration records
none: user analytics off, level ``minimal`` or ``track_user_behavior=False``;
that is logged once). The event then travels as an OTel log event
(``event_name="ff.user_event"``), so it is batched on a background thread;
the flatfile log exporter routes it into ``user_analytics/``, and OTLP
collectors get it only as ``enable_external_analytics`` allows
(:mod:`ff_otel.privacy.external`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from opentelemetry._logs import Logger, SeverityNumber

from ff_otel import _clock
from ff_otel.analytics.mapping import USER_EVENT
from ff_otel.config import FFAnalyticsConfigDTO
from ff_otel.privacy.consent import ConsentRegistry
from ff_otel.privacy.pseudonym import Pseudonymizer
from ff_otel.privacy.scrubber import Scrubber
from ff_otel.store.limits import DROPPED_FIELD, Notes, RecordLimits, bound_value

_logger = logging.getLogger("ff_otel.analytics")
_DNT_KEYS = ("dnt", "do_not_track")
_TRUTHY = (True, 1, "1", "true", "yes", "on")
_INFO = SeverityNumber.INFO  # an enum member look-up costs more than the rest of a line


def validate_event(
    user_id: object,
    session_id: object,
    event_type: object,
    event_data: object,
    timestamp: object,
) -> tuple[str, str, str, dict[str, Any], int | None]:
    """Check a user event's arguments; raise ``TypeError``/``ValueError`` naming the bad one."""
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    if not isinstance(user_id, str) or not user_id:
        raise ValueError(f"user_id must be a non-empty string, got {user_id!r}")
    if session_id is None:
        session_id = ""
    if not isinstance(session_id, str):
        raise TypeError(f"session_id must be a string, got {type(session_id).__name__}")
    if not isinstance(event_type, str) or not event_type:
        raise ValueError(f"event_type must be a non-empty string, got {event_type!r}")
    if event_data is None:
        event_data = {}
    if type(event_data) is not dict and not isinstance(event_data, Mapping):
        raise TypeError(f"event_data must be a mapping, got {type(event_data).__name__}")
    epoch_ns: int | None = None
    if timestamp is not None:
        if not isinstance(timestamp, (datetime, str)):
            raise TypeError(f"timestamp must be a datetime or ISO-8601 string, got {timestamp!r}")
        try:
            instant = _clock.parse_instant(timestamp)
        except ValueError as exc:
            raise ValueError(f"timestamp: {exc}") from None
        epoch_ns = int(instant.timestamp() * 1_000_000) * 1000
    return user_id, session_id, event_type, dict(event_data), epoch_ns


class UserEventRecorder:
    """Turns user events into pseudonymous, scrubbed OTel log events."""

    def __init__(
        self,
        analytics: FFAnalyticsConfigDTO,
        pseudonymizer: Pseudonymizer,
        scrubber: Scrubber,
        consent: ConsentRegistry,
        logger: Logger,
        limits: RecordLimits | None = None,
    ) -> None:
        self.analytics = analytics
        self.privacy = analytics.privacy_config
        self.pseudonymizer = pseudonymizer
        self.scrubber = scrubber
        self.consent = consent
        self._logger = logger
        self.limits = limits or RecordLimits()
        self.off_reason = _off_reason(analytics)
        self.enabled = self.off_reason is None
        self.dropped: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(
        self,
        user_id: str,
        session_id: str,
        event_type: str,
        event_data: dict[str, Any],
        epoch_ns: int | None,
    ) -> bool:
        """True when the event was accepted for storage; False when policy kept it out."""
        if self.off_reason is not None:
            return self._drop_switched_off(self.off_reason)
        privacy = self.privacy
        if privacy.honor_do_not_track and event_data and _do_not_track(event_data):
            return self._drop("do not track")
        reference = self.pseudonymizer.reference("consent", user_id)
        state = self.consent.state(reference)
        if state == "opted_out" and privacy.allow_user_opt_out:
            return self._drop("opted out")
        if privacy.require_explicit_consent and state != "opted_in":
            return self._drop("no consent")
        user_hash = self.pseudonymizer.user(user_id)
        if self.analytics.enable_data_sampling and not _in_sample(
            user_hash, self.analytics.sampling_rate
        ):
            return self._drop("sampled out")
        stored_user = user_hash if privacy.anonymize_user_data else user_id
        session = (
            self.pseudonymizer.session(session_id)
            if session_id and privacy.hash_user_identifiers
            else session_id
        )
        if event_data:
            for key in _DNT_KEYS:
                event_data.pop(key, None)
            event_data = self._bounded(event_data)
        self._logger.emit(
            timestamp=epoch_ns if epoch_ns is not None else time.time_ns(),
            severity_number=_INFO,
            severity_text="INFO",
            event_name=USER_EVENT,
            body=self.scrubber.body(event_data, "event_data"),
            attributes={
                "user.hash": stored_user,
                "session.id": session,
                # Scrubbed like free text: rollups count events by type.
                "ff.event.type": self.scrubber.free_text(event_type),
            },
        )
        return True

    def _bounded(self, event_data: dict[str, Any]) -> dict[str, Any]:
        # Within the record limits before the scrubber walks it: data nested
        # thousands deep or keyed by non-strings is cut here, and says so.
        notes = Notes()
        bounded: dict[str, Any] = bound_value(event_data, self.limits, notes, "event_data")
        if notes.entries:
            bounded[DROPPED_FIELD] = notes.entries
        return bounded

    def _drop(self, reason: str) -> bool:
        with self._lock:
            self.dropped[reason] += 1
        return False

    def _drop_switched_off(self, reason: str) -> bool:
        # The configuration, not the user, keeps every event out: say so once,
        # so that a False return does not look like lost data.
        with self._lock:
            first = not self.dropped[reason]
            self.dropped[reason] += 1
        if first:
            _logger.warning("ff-otel: user events are not recorded: %s", reason)
        return False


def _off_reason(analytics: FFAnalyticsConfigDTO) -> str | None:
    """Why the configuration records no user event at all, or None when it records them."""
    if not analytics.enable_user_analytics:
        return "enable_user_analytics is false"
    if analytics.analytics_level == "minimal":
        return "analytics_level is minimal"
    if not analytics.track_user_behavior:
        return "track_user_behavior is false"
    return None


def _do_not_track(event_data: dict[str, Any]) -> bool:
    # Two look-ups in line: a generator here measured a microsecond per event.
    return event_data.get("dnt") in _TRUTHY or event_data.get("do_not_track") in _TRUTHY


def _in_sample(user_hash: str, rate: float) -> bool:
    # The pseudonym is uniformly distributed: its leading bits decide, so a
    # user is always in or always out of the sample, never per event.
    return int(user_hash[2:10], 16) < rate * 0x1_0000_0000
