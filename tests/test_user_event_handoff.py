"""The collector folds its own process's user events as the writer built them, not parsed back:
the sessions are the same ones the stored lines make, and a tail takes only lines it reaches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ff_otel
from ff_otel.analytics.sessions import SessionTracker
from ff_otel.store.appender import SerializationFaults, append_records, append_records_placed
from ff_otel.store.tail import StreamTail

from .conftest import records


def _events(user: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    name, session = f"user-{user}", f"sess-{user}"
    return [
        (name, session, "session_start", {"platform": "web", "language": "de-DE"}),
        (name, session, "feature_usage", {"features": ["search", "export"], "page": "/s"}),
        (name, session, "content_interaction", {"messages": 3, "searches": 5, "tools": 1}),
        (name, session, "page_view", {"pages": 2, "rating": 4, "tags": ("a", "b")}),
        (name, session, "conversion", {"conversion": "trial"}),
        # NaN as a score is stored as null: no score, in memory as in the file.
        (name, session, "session_end", {"duration": 95, "quality_score": "nan"}),
    ]


def test_sessions_are_those_the_stored_lines_make(handle: ff_otel.FFOtel) -> None:
    for user in range(40):
        for call in _events(user):
            assert ff_otel.record_user_event(*call)
        # A second session left open: closed by the idle timeout, not by its events.
        ff_otel.record_user_event(f"user-{user}", f"open-{user}", "feature_usage", {"feature": "x"})
    assert ff_otel.force_flush()
    stored = records(handle.layout.session_analytics)
    assert len(stored) == 40

    replay = SessionTracker(handle.settings.session_idle_timeout_minutes * 60)
    closed = []
    for event in records(handle.layout.behavior_patterns):
        closed.extend(replay.add(event))
    assert [record for kind, record in closed if kind == "session"] == stored
    assert all("session_quality_score" in record for record in stored)
    assert {s.session_id for s in replay.open.values()} == {
        s.session_id
        for s in handle.pipeline.sessions.open.values()  # type: ignore[union-attr]
    }


def _line(n: int) -> dict[str, Any]:
    return {"timestamp": f"2026-05-04T00:00:{n:02d}.000000Z", "user_hash": "u", "n": n}


def test_a_tail_takes_adopted_records_only_for_lines_it_reaches(tmp_path: Path) -> None:
    stream = tmp_path / "behavior_patterns.jsonl"
    append_records(stream, [_line(0)])
    tail = StreamTail(stream, from_end=False)
    assert [r["n"] for r in tail.read_new()] == [0]

    faults = SerializationFaults()
    mine = [_line(1), _line(2)]
    placed = append_records_placed(stream, mine, faults)
    assert placed is not None
    append_records(stream, [_line(3)])  # another process's line, after mine
    later = [_line(4)]
    placed_later = append_records_placed(stream, later, faults)
    assert placed_later is not None
    tail.adopt(placed.inode, placed.start, placed.ends, mine)
    tail.adopt(placed_later.inode, placed_later.start, placed_later.ends, later)
    read = tail.read_new()
    assert [r["n"] for r in read] == [1, 2, 3, 4]
    # The adopted records themselves, not parsed twins; the other line parsed.
    assert read[0] is mine[0] and read[1] is mine[1] and read[3] is later[0]
    assert read[2] is not None and tail.stats.records == 5

    # Adopted after the tail read past them: not read again.
    stale = [_line(5)]
    placed_stale = append_records_placed(stream, stale, faults)
    assert placed_stale is not None
    assert [r["n"] for r in tail.read_new()] == [5]
    tail.adopt(placed_stale.inode, placed_stale.start, placed_stale.ends, stale)
    assert tail.read_new() == []

    # Of a file that is no longer the one at the path: never taken for the new one.
    gone = [_line(6)]
    placed_gone = append_records_placed(stream, gone, faults)
    assert placed_gone is not None
    tail.read_new()
    stream.rename(tmp_path / "behavior_patterns.20260504T000000.jsonl")
    append_records(stream, [_line(7), _line(8)])
    tail.adopt(placed_gone.inode, 0, [len(stream.read_bytes())], gone)
    assert [r["n"] for r in tail.read_new()] == [7, 8]


def test_a_repaired_record_is_not_handed_over(tmp_path: Path) -> None:
    stream = tmp_path / "behavior_patterns.jsonl"
    faults = SerializationFaults()
    unserialisable = {"timestamp": "2026-05-04T00:00:00.000000Z", "big": 1 << 70}
    assert append_records_placed(stream, [_line(1), unserialisable], faults) is None
    assert faults.repaired == 1
    assert len(records(stream)) == 2
