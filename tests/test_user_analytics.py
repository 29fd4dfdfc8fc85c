"""User events in the store: the spec's fields, sessions, segments and engagement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import ff_otel

from .conftest import records

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def flushed(handle: ff_otel.FFOtel) -> ff_otel.FFOtel:
    # Twice: the first writes the events, the collector folds them on the second.
    assert ff_otel.force_flush()
    assert ff_otel.force_flush()
    return handle


def test_spec_event_types_fill_the_dto_fields_they_carry(handle: ff_otel.FFOtel) -> None:
    at = T0.isoformat()
    ff_otel.record_user_event(
        "u1",
        "s1",
        "session_start",
        {"user_agent": "Firefox", "platform": "web", "time_to_first_action": 4},
        timestamp=at,
    )
    ff_otel.record_user_event(
        "u1",
        "s1",
        "feature_usage",
        {"features": ["search", "export"], "frequency": 2.5},
        timestamp=at,
    )
    ff_otel.record_user_event(
        "u1",
        "s1",
        "content_interaction",
        {"messages": 3, "documents": 1, "tools": 2, "searches": 4},
        timestamp=at,
    )
    ff_otel.record_user_event(
        "u1",
        "s1",
        "session_end",
        {"duration": 300, "actions": 7, "quality_score": 0.8},
        timestamp=at,
    )
    ff_otel.record_user_event("u1", "s1", "plan_upgraded", {"plan": "team"}, timestamp=at)
    events = {e["event_type"]: e for e in records(flushed(handle).layout.behavior_patterns)}

    start = events["session_start"]
    assert (start["user_agent"], start["platform"]) == ("Firefox", "web")
    assert start["time_to_first_action_seconds"] == 4
    assert start["timestamp"] == "2026-06-01T09:00:00.000000Z"
    assert events["feature_usage"]["features_used"] == ["search", "export"]
    assert events["feature_usage"]["interaction_frequency"] == 2.5
    content = events["content_interaction"]
    assert (content["messages_sent"], content["documents_processed"]) == (3, 1)
    assert (content["tools_executed"], content["searches_performed"]) == (2, 4)
    end = events["session_end"]
    assert (end["session_duration_seconds"], end["actions_performed"]) == (300, 7)
    assert end["session_quality_score"] == 0.8
    custom = events["plan_upgraded"]
    assert custom["data"] == {"plan": "team"}
    assert "messages_sent" not in custom  # fields an event does not carry are absent
    assert {e["user_hash"] for e in events.values()} == {handle.pseudonymizer.user("u1")}

    uses = records(handle.layout.feature_usage)
    assert [u["feature"] for u in uses] == ["search", "export"]


def test_a_closed_session_is_summarised_with_engagement(handle: ff_otel.FFOtel) -> None:
    def event(kind: str, seconds: int, data: dict | None = None) -> None:  # type: ignore[type-arg]
        ff_otel.record_user_event(
            "u2", "s-a", kind, data or {}, timestamp=T0 + timedelta(seconds=seconds)
        )

    event("session_start", 0, {"platform": "ios"})
    event("feature_usage", 30, {"features": ["search"]})
    event("content_interaction", 90, {"searches": 5, "messages": 1})
    event("feature_usage", 150, {"features": ["summarize"], "rating": 4})
    event("session_end", 240)
    (session,) = records(flushed(handle).layout.session_analytics)
    assert session["session_duration_seconds"] == 240
    assert session["actions_performed"] == 3
    assert session["time_to_first_action_seconds"] == 30
    assert session["interaction_frequency"] == pytest.approx(3 / 4)
    assert session["features_used"] == ["search", "summarize"]
    assert session["return_user"] is False and session["user_segment"] == "new"
    assert session["usage_pattern"] == "research"  # 5 searches > 1 message
    assert session["bounce_rate"] == 0.0
    assert session["satisfaction_rating"] == 4
    expected_quality = 0.4 * 0.3 + 0.3 * (240 / 600) + 0.3
    assert session["session_quality_score"] == pytest.approx(expected_quality, abs=1e-4)
    (engagement,) = records(handle.layout.engagement_metrics)
    expected = 40 * 3 / 20 + 30 * 240 / 900 + 20 * 2 / 5
    assert engagement["engagement_score"] == pytest.approx(expected, abs=0.01)


def test_segments_follow_the_users_history(handle: ff_otel.FFOtel) -> None:
    def session(day: int, number: int) -> None:
        start = T0 + timedelta(days=day)
        sid = f"s{number}"
        ff_otel.record_user_event("u3", sid, "session_start", {}, timestamp=start)
        ff_otel.record_user_event(
            "u3", sid, "session_end", {}, timestamp=start + timedelta(minutes=5)
        )

    # First session, a return after 10 days, then four days in a row.
    for number, day in enumerate([0, 10, 11, 12, 13], start=1):
        session(day, number)
    segments = [s["user_segment"] for s in records(flushed(handle).layout.session_analytics)]
    assert segments == ["new", "casual", "returning", "returning", "power"]
    returns = [s["return_user"] for s in records(handle.layout.session_analytics)]
    assert returns == [False, True, True, True, True]


def test_idle_sessions_close_and_open_sessions_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FF_OTEL_SESSION_IDLE_TIMEOUT_MINUTES", "30")
    handle = ff_otel.configure(base_path=tmp_path, system_metrics=False)
    ff_otel.record_user_event("u4", "s-idle", "page_view", {}, timestamp=T0)
    ff_otel.record_user_event("u5", "s-live", "page_view", {}, timestamp=T0 + timedelta(minutes=5))
    flushed(handle)
    snapshot = records(handle.layout.performance)[-1]
    assert (snapshot["active_sessions"], snapshot["concurrent_users"]) == (2, 2)
    assert records(handle.layout.session_analytics) == []

    # An hour later (in event time) the first session has been idle too long.
    ff_otel.record_user_event("u5", "s-live", "page_view", {}, timestamp=T0 + timedelta(minutes=65))
    flushed(handle)
    closed = records(handle.layout.session_analytics)
    assert [s["session_id"] for s in closed][:1] == [handle.pseudonymizer.session("s-idle")]


def test_open_sessions_survive_a_restart(handle: ff_otel.FFOtel) -> None:
    ff_otel.record_user_event("u6", "s-long", "session_start", {}, timestamp=T0)
    flushed(handle)
    ff_otel.shutdown()
    restarted = ff_otel.configure(base_path=handle.layout.base_path, system_metrics=False)
    ff_otel.record_user_event(
        "u6", "s-long", "session_end", {}, timestamp=T0 + timedelta(minutes=9)
    )
    (session,) = records(flushed(restarted).layout.session_analytics)
    assert session["session_duration_seconds"] == 9 * 60


@pytest.mark.parametrize(
    ("arguments", "error", "words"),
    [
        (("", "s", "page_view", {}), ValueError, "user_id"),
        (("u", 7, "page_view", {}), TypeError, "session_id"),
        (("u", "s", "", {}), ValueError, "event_type"),
        (("u", "s", "page_view", ["not", "a", "dict"]), TypeError, "event_data"),
        (("u", "s", "page_view", {}, "last tuesday"), ValueError, "timestamp"),
    ],
)
def test_bad_arguments_are_clear_errors(arguments: tuple, error: type, words: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(error, match=words):
        ff_otel.record_user_event(*arguments)


def test_unconfigured_recording_is_a_no_op() -> None:
    assert ff_otel.record_user_event("u", "s", "page_view", {}) is False
    assert ff_otel.opt_out("u") is False


def test_minimal_level_records_no_user_analytics(tmp_path: Path) -> None:
    handle = ff_otel.configure(
        base_path=tmp_path, analytics=ff_otel.FFAnalyticsConfigDTO(analytics_level="minimal")
    )
    assert ff_otel.record_user_event("u", "s", "page_view", {}) is False
    assert records(flushed(handle).layout.behavior_patterns) == []
