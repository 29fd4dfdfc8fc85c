"""Sessions, user history, segments and engagement, derived by the store's collector.

The collector reads every new ``behavior_patterns.jsonl`` line. A session opens
with its first event and closes on ``session_end`` or after the idle timeout
(30 minutes by default), measured both in event time (against the newest event
seen, so backfilled history closes correctly) and in arrival time. A closed
session becomes one ``session_analytics.jsonl`` line and one
``engagement_metrics.jsonl`` line. Definitions (the README repeats them):

- ``return_user``: the user had a session before this one;
- ``user_segment``: ``new`` (first session), ``power`` (active on 4 or more of
  the last 7 days), ``casual`` (active only today in the last 7 days and on at
  most 3 of the last 28), otherwise ``returning``;
- ``usage_pattern``: ``research`` when searches outnumber messages, documents
  and tool runs together, ``productivity`` when there were any of those,
  ``exploration`` otherwise;
- ``session_duration_seconds``: the ``duration`` reported with ``session_end``,
  else last event - first event; ``actions_performed``: the ``actions`` reported
  with ``session_end``, else events other than ``session_start``/``session_end``;
  ``interaction_frequency``: actions per minute;
  ``time_to_first_action_seconds``: first action - session start;
  ``bounce_rate``: 1 when the session had at most one action, else 0;
- ``session_quality_score`` (0..1) = 0.4 min(actions/10, 1)
  + 0.3 min(duration/10 min, 1) + 0.3 (1 - bounce);
- engagement score (0..100) = 40 min(actions/20, 1) + 30 min(duration/15 min, 1)
  + 20 min(features/5, 1) + 10 (return user).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from ff_otel.core import clock

_NOT_ACTIONS = frozenset({"session_start", "session_end"})
_COUNTED = ("messages_sent", "documents_processed", "tools_executed", "searches_performed")
_CONTEXT = ("user_agent", "platform", "language", "timezone")
_SUPPLIED = ("session_duration_seconds", "actions_performed", "session_quality_score")


@dataclass
class OpenSession:
    session_id: str
    user_hash: str
    started: str
    last: str
    arrived: float
    actions: int = 0
    first_action: str | None = None
    features: list[str] = field(default_factory=list)
    pages: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    ratings: list[int] = field(default_factory=list)
    conversions: list[str] = field(default_factory=list)
    context: dict[str, str] = field(default_factory=dict)
    supplied: dict[str, Any] = field(default_factory=dict)


@dataclass
class UserHistory:
    first_seen: str
    sessions: int = 0
    active_days: list[str] = field(default_factory=list)


class SessionTracker:
    """Open sessions and per-user history; closed sessions come out as records."""

    def __init__(
        self, idle_timeout_seconds: float = 1800.0, *, track_features: bool = True
    ) -> None:
        self.idle_timeout_seconds = idle_timeout_seconds
        # track_feature_usage=False: events carry no features, so a session's
        # features and adoption rate are left out rather than stored as none.
        self.track_features = track_features
        self.open: dict[str, OpenSession] = {}
        self.users: dict[str, UserHistory] = {}
        self.features_seen: set[str] = set()
        self._watermark = ""
        self.interval_ratings: list[int] = []

    @property
    def active_sessions(self) -> int:
        return len(self.open)

    @property
    def concurrent_users(self) -> int:
        return len({s.user_hash for s in self.open.values()})

    def learn(self, session_record: dict[str, Any]) -> None:
        """Fold a stored closed session into user history (rebuilding after a restart)."""
        user = session_record.get("user_hash")
        stamp = session_record.get("timestamp")
        if not isinstance(user, str) or not isinstance(stamp, str):
            return
        self._count_session(user, session_record.get("session_start") or stamp)
        self.features_seen.update(session_record.get("features_used") or ())

    def add(self, event: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Fold one event in; returns ``(kind, record)`` for sessions it closed."""
        get = event.get
        user, stamp = get("user_hash"), get("timestamp")
        if not isinstance(user, str) or not isinstance(stamp, str):
            return []
        # Fixed-width ISO text orders as the instants: compared as strings,
        # never parsed per event.
        if stamp > self._watermark:
            self._watermark = stamp
        rating = get("satisfaction_rating")
        if isinstance(rating, int):
            self.interval_ratings.append(rating)
        session_id = get("session_id")
        if not session_id:
            return []
        session = self.open.get(session_id)
        if session is None:
            session = self.open[session_id] = OpenSession(
                session_id, user, started=stamp, last=stamp, arrived=time.time()
            )
        event_type = get("event_type")
        self._fold(session, event, stamp, event_type, rating)
        if event_type == "session_end":
            return self._close(session)
        return []

    def expire(self) -> list[tuple[str, dict[str, Any]]]:
        """Close sessions idle for longer than the timeout; returns their records."""
        now = time.time()
        closed: list[tuple[str, dict[str, Any]]] = []
        watermark = self._watermark
        for session in list(self.open.values()):
            idle_by_events = watermark and _seconds_between(session.last, watermark)
            if (idle_by_events and idle_by_events > self.idle_timeout_seconds) or (
                now - session.arrived > self.idle_timeout_seconds
            ):
                closed.extend(self._close(session))
        return closed

    def take_interval_ratings(self) -> list[int]:
        ratings, self.interval_ratings = self.interval_ratings, []
        return ratings

    def forget_user(self, user_hash: str) -> None:
        """Drop everything held about a user (after erasure)."""
        self.users.pop(user_hash, None)
        for session_id in [k for k, s in self.open.items() if s.user_hash == user_hash]:
            del self.open[session_id]

    def state(self) -> dict[str, Any]:
        """Open sessions, for the pipeline checkpoint."""
        return {"open": [asdict(s) for s in self.open.values()], "watermark": self._watermark}

    def restore(self, state: dict[str, Any]) -> None:
        for raw in state.get("open") or ():
            try:
                session = OpenSession(**raw)
            except TypeError:
                continue
            self.open[session.session_id] = session
        self._watermark = str(state.get("watermark") or "")

    def _fold(
        self,
        session: OpenSession,
        event: dict[str, Any],
        stamp: str,
        event_type: object,
        rating: object,
    ) -> None:
        # Once per stored event: each field is looked up once, and the
        # fields an event type never carries are not looked for.
        get = event.get
        if stamp > session.last:
            session.last = stamp
        if stamp < session.started:
            session.started = stamp
        session.arrived = time.time()
        if event_type == "session_start":
            for key in _CONTEXT:
                value = get(key)
                if isinstance(value, str):
                    session.context[key] = value
        elif event_type == "session_end":
            for key in _SUPPLIED:
                if key in event:
                    session.supplied[key] = event[key]
        else:
            session.actions += 1
            if session.first_action is None or stamp < session.first_action:
                session.first_action = stamp
        features = get("features_used")
        if features:
            known = session.features
            for feature in features:
                if feature not in known:
                    known.append(feature)
        pages = get("pages_viewed")
        if pages:
            session.pages += int(pages)
        counts = session.counts
        for key in _COUNTED:
            value = get(key)
            if isinstance(value, int):
                counts[key] = counts.get(key, 0) + value
        if isinstance(rating, int):
            session.ratings.append(rating)
        conversions = get("conversion_events")
        if conversions:
            session.conversions.extend(conversions)

    def _close(self, session: OpenSession) -> list[tuple[str, dict[str, Any]]]:
        self.open.pop(session.session_id, None)
        history = self.users.get(session.user_hash)
        return_user = history is not None and history.sessions > 0
        segment = self._segment(history, session.started)
        self._count_session(session.user_hash, session.started)
        self.features_seen.update(session.features)

        # What the application reported at session_end wins over what the
        # events show: it may have seen activity that was not recorded.
        supplied = session.supplied
        duration = float(
            supplied.get("session_duration_seconds")
            or _seconds_between(session.started, session.last)
        )
        actions = int(supplied.get("actions_performed") or session.actions)
        minutes = max(duration / 60, 1 / 60)
        bounce = 1.0 if actions <= 1 else 0.0
        quality = session.supplied.get("session_quality_score")
        # NaN or infinity is no score (stored, it reads back as null).
        if not isinstance(quality, (int, float)) or not math.isfinite(quality):
            quality = 0.4 * min(actions / 10, 1) + 0.3 * min(duration / 600, 1) + 0.3 * (1 - bounce)
        counts = session.counts
        productive = sum(counts.get(k, 0) for k in _COUNTED[:3])
        searches = counts.get("searches_performed", 0)
        pattern = (
            "research" if searches > productive else "productivity" if productive else "exploration"
        )
        adoption = (
            len(set(session.features)) / len(self.features_seen) if self.features_seen else 0.0
        )
        record: dict[str, Any] = {
            "timestamp": session.last,
            "record_type": "session",
            "user_hash": session.user_hash,
            "session_id": session.session_id,
            "session_start": session.started,
            "session_duration_seconds": int(duration),
            "pages_viewed": session.pages,
            "features_used": session.features,
            "actions_performed": actions,
            "interaction_frequency": round(actions / minutes, 3),
            "feature_adoption_rate": round(adoption, 4),
            "return_user": return_user,
            "session_quality_score": round(float(quality), 4),
            "bounce_rate": bounce,
            "conversion_events": session.conversions,
            **{key: counts.get(key, 0) for key in _COUNTED},
            **session.context,
            "user_segment": segment,
            "usage_pattern": pattern,
        }
        if not self.track_features:
            del record["features_used"], record["feature_adoption_rate"]
        if session.first_action is not None:
            record["time_to_first_action_seconds"] = int(
                _seconds_between(session.started, session.first_action)
            )
        if session.ratings:
            record["satisfaction_rating"] = round(sum(session.ratings) / len(session.ratings))
        engagement = (
            40 * min(actions / 20, 1)
            + 30 * min(duration / 900, 1)
            + 20 * min(len(session.features) / 5, 1)
            + 10 * (1 if return_user else 0)
        )
        engagement_record = {
            "timestamp": session.last,
            "record_type": "engagement",
            "user_hash": session.user_hash,
            "session_id": session.session_id,
            "engagement_score": round(engagement, 2),
            "user_segment": segment,
            "return_user": return_user,
            **{key: counts.get(key, 0) for key in _COUNTED},
        }
        return [("session", record), ("engagement", engagement_record)]

    def _segment(self, history: UserHistory | None, at: str) -> str:
        if history is None or history.sessions == 0:
            return "new"
        today = at[:10]
        now = _day_number(today)
        apart = [abs(_day_number(day) - now) for day in set(history.active_days) | {today}]
        last_7 = sum(1 for days in apart if days < 7)
        if last_7 >= 4:
            return "power"
        # Only today in the last 7 days (today is always among them).
        if last_7 == 1 and sum(1 for days in apart if days < 28) <= 3:
            return "casual"
        return "returning"

    def _count_session(self, user: str, started: str) -> None:
        history = self.users.get(user)
        if history is None:
            history = self.users[user] = UserHistory(first_seen=started)
        history.first_seen = min(history.first_seen, started)
        history.sessions += 1
        day = started[:10]
        if day not in history.active_days:
            history.active_days.append(day)
            # Segments look back 28 days; older days need not be kept.
            now = _day_number(day)
            history.active_days = [d for d in history.active_days if abs(_day_number(d) - now) < 28]


def _seconds_between(earlier: str, later: str) -> float:
    return max(0.0, (clock.parse_instant(later) - clock.parse_instant(earlier)).total_seconds())


_DAY_NUMBERS: dict[str, int] = {}
_DAY_NUMBERS_LIMIT = 4_096


def _day_number(day: str) -> int:
    """The day ``YYYY-MM-DD``'s ordinal, remembered: sessions close on a few days only."""
    number = _DAY_NUMBERS.get(day)
    if number is None:
        if len(_DAY_NUMBERS) >= _DAY_NUMBERS_LIMIT:
            _DAY_NUMBERS.clear()
        number = _DAY_NUMBERS[day] = date.fromisoformat(day).toordinal()
    return number
