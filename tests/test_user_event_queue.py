"""The user-event queue: what the caller pays is an enqueue, and the store gets the same lines.

The expected lines below are what the OTel logs pipeline stored for the same
calls before the queue replaced it (captured from that code, pseudonyms
written as ``<user:...>``/``<session:...>``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ff_otel

from .conftest import records

T = "2026-06-01T09:00:00.123456Z"
CALLS: list[tuple[Any, str, str, dict[str, Any] | None]] = [
    (
        "alice",
        "s-1",
        "session_start",
        {"platform": "web", "user_agent": "Firefox/130", "time_to_first_action": "4"},
    ),
    (
        "alice",
        "s-1",
        "feature_usage",
        {"features": ["search", "export"], "frequency": 2.5, "page": "/search?q=x"},
    ),
    (
        "alice",
        "s-1",
        "content_interaction",
        {
            "messages": 3,
            "documents": 1,
            "note": "mail me at alice@example.com",
            "password": "hunter2",
        },
    ),
    ("bob", "", "page_view", {"dnt": False, "nested": {"token": "abc", "deep": [1, 2]}}),
    ("bob", "s-2", "conversion", {"name": "upgrade", "rating": 5}),
    (42, "s-3", "feature_usage", {"feature": "voice", "user": "alice"}),
    ("carol", "s-4", "custom thing", None),
    ("alice", "s-1", "session_end", {"duration": 300, "actions": 4, "quality_score": "0.8"}),
]


def _event(kind: str, user: str, session: str, data: dict[str, Any], **fields: Any) -> Any:
    return {
        "timestamp": T,
        "record_type": "event",
        "event_type": kind,
        "user_hash": f"<user:{user}>",
        "session_id": f"<session:{session}>" if session else "",
        **fields,
        "data": data,
        "service": "test-service",
    }


def _feature(feature: str, user: str, session: str) -> dict[str, Any]:
    return {
        "timestamp": T,
        "record_type": "feature_use",
        "feature": feature,
        "user_hash": f"<user:{user}>",
        "session_id": f"<session:{session}>",
    }


EXPECTED_EVENTS = [
    _event(
        "session_start",
        "alice",
        "s-1",
        {"platform": "web", "user_agent": "Firefox/130", "time_to_first_action": "4"},
        time_to_first_action_seconds=4,
        user_agent="Firefox/130",
        platform="web",
    ),
    _event(
        "feature_usage",
        "alice",
        "s-1",
        {"features": ["search", "export"], "frequency": 2.5, "page": "/search?q=x"},
        interaction_frequency=2.5,
        features_used=["search", "export"],
    ),
    _event(
        "content_interaction",
        "alice",
        "s-1",
        {
            "messages": 3,
            "documents": 1,
            "note": "mail me at [REDACTED:email]",
            "password": "[REDACTED:sensitive key]",
        },
        messages_sent=3,
        documents_processed=1,
    ),
    _event(
        "page_view",
        "bob",
        "",
        {"nested": {"token": "[REDACTED:sensitive key]", "deep": [1, 2]}},
        pages_viewed=1,
    ),
    _event(
        "conversion",
        "bob",
        "s-2",
        {"name": "upgrade", "rating": 5},
        satisfaction_rating=5,
        conversion_events=["upgrade"],
    ),
    _event(
        "feature_usage",
        "42",
        "s-3",
        {"feature": "voice", "user": "<user:alice>"},
        features_used=["voice"],
    ),
    _event("custom thing", "carol", "s-4", {}),
    _event(
        "session_end",
        "alice",
        "s-1",
        {"duration": 300, "actions": 4, "quality_score": "0.8"},
        session_duration_seconds=300,
        actions_performed=4,
        session_quality_score=0.8,
    ),
]
EXPECTED_FEATURES = [
    _feature("search", "alice", "s-1"),
    _feature("export", "alice", "s-1"),
    _feature("voice", "42", "s-3"),
]


def _named(handle: ff_otel.FFOtel, path: Path) -> list[dict[str, Any]]:
    """The stream's records with pseudonyms written as <user:...>/<session:...>."""
    assert handle.pseudonymizer is not None
    names = {handle.pseudonymizer.user(u): f"<user:{u}>" for u in ("alice", "bob", "42", "carol")}
    names.update(
        {handle.pseudonymizer.session(s): f"<session:{s}>" for s in ("s-1", "s-2", "s-3", "s-4")}
    )
    text = json.dumps(records(path))
    for pseudonym, name in names.items():
        text = text.replace(pseudonym, name)
    loaded: list[dict[str, Any]] = json.loads(text)
    return loaded


def test_the_queue_stores_the_lines_the_logs_pipeline_stored(handle: ff_otel.FFOtel) -> None:
    for user, session, kind, data in CALLS:
        assert ff_otel.record_user_event(user, session, kind, data, timestamp=T) is True
    assert ff_otel.record_user_event("dave", "s-5", "page_view", {"do_not_track": "1"}) is False
    assert ff_otel.force_flush()
    assert _named(handle, handle.layout.behavior_patterns) == EXPECTED_EVENTS
    assert _named(handle, handle.layout.feature_usage) == EXPECTED_FEATURES
    # Nothing of them went through the logs pipeline into logs.jsonl.
    assert records(handle.layout.logs) == []


def test_data_changed_by_the_caller_after_the_call_is_stored_as_it_was(
    handle: ff_otel.FFOtel,
) -> None:
    data = {"messages": 1, "page": "/chat"}
    assert ff_otel.record_user_event("alice", "s-1", "content_interaction", data, timestamp=T)
    data["messages"] = 99
    data["email"] = "alice@example.com"
    assert ff_otel.force_flush()
    (stored,) = records(handle.layout.behavior_patterns)
    assert stored["data"] == {"messages": 1, "page": "/chat"}


def test_a_full_queue_drops_and_counts_instead_of_blocking(handle: ff_otel.FFOtel) -> None:
    assert handle.analytics is not None and handle.analytics.writer is not None
    writer = handle.analytics.writer
    writer.queue_size = 100
    # The writer is kept busy (its lock held, as while it writes a batch): the
    # queue fills and the calls beyond it return at once.
    with writer._write_lock:
        results = [
            ff_otel.record_user_event(f"user-{n}", "s", "page_view", {"n": n}) for n in range(150)
        ]
        assert writer.queued() == 100
    assert results == [True] * 100 + [False] * 50
    assert handle.export_stats()["user_events"].dropped == 50
    # The flush stores what was queued and says that something was lost.
    assert ff_otel.force_flush() is False
    stored = records(handle.layout.behavior_patterns)
    assert sorted(r["data"]["n"] for r in stored) == list(range(100))
    assert ff_otel.force_flush() is True  # nothing lost since


def test_erasure_flushes_the_queue_first(handle: ff_otel.FFOtel) -> None:
    for n in range(20):
        assert ff_otel.record_user_event("alice", "s-1", "page_view", {"n": n})
    assert ff_otel.record_user_event("bob", "s-2", "page_view", {})
    # Queued, most likely (the writer wakes every half interval or at 4,096
    # events); either way the erasure finds all twenty.
    result = ff_otel.erase_user("alice")
    assert result >= 20 and result.complete
    ff_otel.force_flush()
    assert handle.pseudonymizer is not None
    users = [r["user_hash"] for r in records(handle.layout.behavior_patterns)]
    assert users == [handle.pseudonymizer.user("bob")]
    # Events after the erasure are recorded again, and erased again.
    assert ff_otel.record_user_event("alice", "s-3", "page_view", {})
    assert ff_otel.erase_user("alice") >= 1
    assert users == [r["user_hash"] for r in records(handle.layout.behavior_patterns)]


def test_consent_changes_reach_a_user_whose_decision_is_cached(base_path: Path) -> None:
    ff_otel.configure(
        base_path=base_path,
        system_metrics=False,
        analytics=ff_otel.FFAnalyticsConfigDTO(
            privacy_config=ff_otel.FFAnalyticsPrivacyConfigDTO(require_explicit_consent=True)
        ),
    )
    assert ff_otel.record_user_event("alice", "s", "page_view", {}) is False  # no consent yet
    assert ff_otel.opt_in("alice")
    assert ff_otel.record_user_event("alice", "s", "page_view", {}) is True
    assert ff_otel.opt_out("alice")
    assert ff_otel.record_user_event("alice", "s", "page_view", {}) is False


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_sampling_decides_per_user_once(base_path: Path, rate: float) -> None:
    ff_otel.configure(
        base_path=base_path,
        system_metrics=False,
        analytics=ff_otel.FFAnalyticsConfigDTO(enable_data_sampling=True, sampling_rate=rate),
    )
    results = {ff_otel.record_user_event(f"user-{n % 7}", "s", "page_view", {}) for n in range(70)}
    assert results == {rate == 1.0}


FORKING_RECORDER = """
import os, sys
import ff_otel
handle = ff_otel.configure(base_path=sys.argv[1], system_metrics=False)
writer = handle.analytics.writer
with writer._write_lock:  # the parent's writer busy: its events stay queued across the fork
    for n in range(50):
        ff_otel.record_user_event("parent", "s-p", "page_view", {"n": n})
    pid = os.fork()
    if pid == 0:
        child = ff_otel.current().analytics.writer
        assert child is not writer and child.queued() == 0
        for n in range(30):
            ff_otel.record_user_event("child", "s-c", "page_view", {"n": n})
        ok = ff_otel.force_flush()
        ff_otel.shutdown()
        os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert ff_otel.force_flush()
"""


def test_a_forked_child_stores_its_own_events_and_none_of_its_parents(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = subprocess.run(
        [sys.executable, "-c", FORKING_RECORDER, str(store)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    stored = records(store / "analytics/user_analytics/behavior_patterns.jsonl")
    # Each event once: the child neither wrote the parent's queue nor lost its own.
    assert len(stored) == 80
    assert sorted(r["data"]["n"] for r in stored) == sorted([*range(50), *range(30)])


def test_maps_inside_lists_in_event_data_are_scrubbed(handle: ff_otel.FFOtel) -> None:
    data = {
        "items": [{"email": "bob@example.com", "password": "hunter2"}, 3, [{"note": "x@y.org"}]],
    }
    assert ff_otel.record_user_event("alice", "s-1", "checkout", data, timestamp=T)
    assert ff_otel.force_flush()
    (stored,) = records(handle.layout.behavior_patterns)
    assert handle.pseudonymizer is not None
    assert stored["data"] == {
        "items": [
            {
                "email": handle.pseudonymizer.user("bob@example.com"),
                "password": "[REDACTED:sensitive key]",
            },
            3,
            [{"note": "[REDACTED:email]"}],
        ]
    }
    text = handle.layout.behavior_patterns.read_text()
    assert "bob@example.com" not in text and "hunter2" not in text and "x@y.org" not in text
