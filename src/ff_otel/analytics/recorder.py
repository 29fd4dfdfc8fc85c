"""Recording user events: the decision and the pseudonyms at the call, then a queue.

On the caller's thread, before the event enters the queue: the raw user id
and session id are replaced by keyed pseudonyms, and events of users who
opted out, sent Do-Not-Track, have not consented (when consent is required)
or fall outside the per-user sample are dropped (all events, when the
configuration records none: user analytics off, level ``minimal`` or
``track_user_behavior=False``; that is logged once). What is decided per user
(consent, sample, pseudonym) and per session (pseudonym) is cached, bounded;
a user's cached decision holds only while the consent registry's generation
stays the same, so an opt-out, here or read from another process's record
(at most a quarter second later), applies to the next event. The event data
is scrubbed and the lines built by :mod:`ff_otel.analytics.writer` on its
thread; OTLP collectors get the events only as ``enable_external_analytics``
allows (:mod:`ff_otel.privacy.external`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ff_otel.analytics.writer import UserEventWriter
from ff_otel.core import clock
from ff_otel.privacy.consent import ConsentRegistry
from ff_otel.privacy.pseudonym import Pseudonymizer
from ff_otel.spec.config import FFAnalyticsConfigDTO

_logger = logging.getLogger("ff_otel.analytics")
_TRUTHY = (True, 1, "1", "true", "yes", "on")


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
            instant = clock.parse_instant(timestamp)
        except ValueError as exc:
            raise ValueError(f"timestamp: {exc}") from None
        epoch_ns = int(instant.timestamp() * 1_000_000) * 1000
    return user_id, session_id, event_type, dict(event_data), epoch_ns


class UserEventRecorder:
    """Decides, at the call, whether a user event is stored, and queues it for the writer."""

    def __init__(
        self,
        analytics: FFAnalyticsConfigDTO,
        pseudonymizer: Pseudonymizer,
        consent: ConsentRegistry,
        writer: UserEventWriter | None,
    ) -> None:
        self.analytics = analytics
        self.privacy = analytics.privacy_config
        self.pseudonymizer = pseudonymizer
        self.consent = consent
        self.writer = writer
        """None when the configuration records no user event (see ``off_reason``)."""
        self.off_reason = recording_off_reason(analytics)
        self.enabled = self.off_reason is None
        self.dropped: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._honor_dnt = self.privacy.honor_do_not_track
        self._users: dict[str, tuple[int, str | None, str]] = {}
        self._sessions: dict[str, str] = {}

    def record(
        self,
        user_id: str,
        session_id: str,
        event_type: str,
        event_data: dict[str, Any],
        epoch_ns: int | None,
    ) -> bool:
        """True when the event was queued for storage; False when policy kept it out
        or the queue was full (counted)."""
        writer = self.writer
        if writer is None:
            return self._drop_switched_off(self.off_reason or "user analytics are off")
        if self._honor_dnt and event_data and _do_not_track(event_data):
            return self._drop("do not track")
        generation = self.consent.generation()
        decision = self._users.get(user_id)
        if decision is None or decision[0] != generation:
            decision = self._decide(user_id, generation)
        stored_user = decision[1]
        if stored_user is None:
            return self._drop(decision[2])
        session = self._sessions.get(session_id) if session_id else session_id
        if session is None:
            session = self._session(session_id)
        return writer.put(
            (
                epoch_ns if epoch_ns is not None else time.time_ns(),
                stored_user,
                session,
                event_type,
                event_data,
            )
        )

    def _decide(self, user_id: str, generation: int) -> tuple[int, str | None, str]:
        """(consent generation, what the user is stored as or None, why not), cached."""
        privacy = self.privacy
        state = self.consent.state(self.pseudonymizer.reference("consent", user_id))
        user_hash = self.pseudonymizer.user(user_id)
        decision: tuple[int, str | None, str]
        if state == "opted_out" and privacy.allow_user_opt_out:
            decision = (generation, None, "opted out")
        elif privacy.require_explicit_consent and state != "opted_in":
            decision = (generation, None, "no consent")
        elif self.analytics.enable_data_sampling and not _in_sample(
            user_hash, self.analytics.sampling_rate
        ):
            decision = (generation, None, "sampled out")
        else:
            stored = user_hash if privacy.anonymize_user_data else user_id
            decision = (generation, stored, "")
        _bounded_put(self._users, user_id, decision)
        return decision

    def _session(self, session_id: str) -> str:
        session = (
            self.pseudonymizer.session(session_id)
            if self.privacy.hash_user_identifiers
            else session_id
        )
        _bounded_put(self._sessions, session_id, session)
        return session

    def forget(self, user_id: str) -> None:
        """Drop what is cached about this raw user id (after the user was erased)."""
        self._users.pop(user_id, None)

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


_CACHE_LIMIT = 100_000
"""Users (and sessions) whose decision a recorder remembers."""


def _bounded_put(cache: dict[str, Any], key: str, value: Any) -> None:
    if len(cache) >= _CACHE_LIMIT:
        # The oldest entry goes: dicts keep insertion order.
        cache.pop(next(iter(cache)), None)
    cache[key] = value


def recording_off_reason(analytics: FFAnalyticsConfigDTO) -> str | None:
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
