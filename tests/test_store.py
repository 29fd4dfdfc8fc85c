"""The store: hierarchy, the appender, the reader, crash safety and concurrency."""

from __future__ import annotations

import gzip
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

import ff_otel
from ff_otel import FFAnalyticsConfigDTO, StoreError, StoreLayout, _clock, read_records
from ff_otel.cli.bi import catch_up_rollups
from ff_otel.compliance.retention import run_retention
from ff_otel.store import append_records, read_json, write_json_atomic
from ff_otel.store.layout import SPEC_STREAMS

SPEC_TREE = {
    "system_metrics": [
        "performance.jsonl",
        "health_checks.jsonl",
        "resource_usage.jsonl",
        "error_rates.jsonl",
    ],
    "user_analytics": [
        "behavior_patterns.jsonl",
        "feature_usage.jsonl",
        "session_analytics.jsonl",
        "engagement_metrics.jsonl",
    ],
    "business_intelligence": [
        "usage_trends.jsonl",
        "optimization_insights.jsonl",
        "capacity_planning.jsonl",
        "roi_analytics.jsonl",
    ],
    "compliance": ["audit_logs.jsonl", "privacy_events.jsonl", "security_events.jsonl"],
}


def test_initialize_creates_the_spec_hierarchy_and_metadata(tmp_path: Path) -> None:
    layout = StoreLayout(tmp_path)
    config = FFAnalyticsConfigDTO(collection_interval_seconds=30)
    layout.initialize(config)

    assert {k: list(v) for k, v in SPEC_STREAMS.items()} == SPEC_TREE
    for folder, names in SPEC_TREE.items():
        for name in names:
            assert (tmp_path / "analytics" / folder / name).is_file()
    metadata = read_json(tmp_path / "analytics" / "analytics_metadata.json")
    assert metadata["analytics_level"] == "standard"
    assert metadata["privacy_config"]["compliance_data_retention_days"] == 2555
    assert metadata["collection_config"] == {
        "interval_seconds": 30,
        "aggregation_periods": ["hour", "day", "week"],
        "real_time_enabled": True,
    }
    assert metadata["initialized_at"].endswith("Z")
    assert len(metadata["analytics_system_id"]) == 16


def test_initialize_is_idempotent_and_keeps_identity_and_data(tmp_path: Path) -> None:
    layout = StoreLayout(tmp_path)
    first = layout.initialize(FFAnalyticsConfigDTO())
    append_records(layout.spans, [{"timestamp": "2026-01-01T00:00:00.000000Z", "n": 1}])
    second = layout.initialize(FFAnalyticsConfigDTO(analytics_level="full"))
    assert second["analytics_system_id"] == first["analytics_system_id"]
    assert second["initialized_at"] == first["initialized_at"]
    assert second["analytics_level"] == "full"
    assert [r["n"] for r in read_records(layout.spans)] == [1]


def test_unwritable_base_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot create the ff-otel store under"):
        StoreLayout(blocker / "store").initialize(FFAnalyticsConfigDTO())


def test_append_writes_whole_lines_and_reader_filters_by_time(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    stamps = [f"2026-01-0{d}T00:00:00.000000Z" for d in range(1, 6)]
    assert append_records(path, [{"timestamp": s, "day": i + 1} for i, s in enumerate(stamps)])
    lines = path.read_bytes().splitlines()
    assert len(lines) == 5
    assert all(isinstance(orjson.loads(line), dict) for line in lines)

    window = read_records(path, start="2026-01-02T00:00:00+00:00", end="2026-01-04")
    assert [r["day"] for r in window] == [2, 3]
    assert window.stats.records == 2


def test_reader_rejects_a_reversed_range(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reversed"):
        read_records(tmp_path / "s.jsonl", start="2026-02-01", end="2026-01-01")


def test_reader_skips_and_counts_a_torn_line_and_later_appends_still_parse(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.jsonl"
    append_records(path, [{"n": 1}, {"n": 2}])
    with path.open("ab") as handle:
        handle.write(b'{"n": 3, "half": "writ')  # a writer that died mid-line
    append_records(path, [{"n": 4}])

    stream = read_records(path)
    assert [r["n"] for r in stream] == [1, 2, 4]
    assert stream.stats.torn_lines == 1


def test_reader_reads_rotated_and_compressed_segments_oldest_first(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    with gzip.open(tmp_path / "spans.20260101T000000.jsonl.gz", "wb") as handle:
        handle.write(b'{"n": 1}\n')
    (tmp_path / "spans.20260102T000000.jsonl").write_bytes(b'{"n": 2}\n')
    append_records(path, [{"n": 3}])
    stream = read_records(path)
    assert [r["n"] for r in stream] == [1, 2, 3]
    assert stream.stats.segments == 3


def test_atomic_document_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    write_json_atomic(path, {"v": 1})
    write_json_atomic(path, {"v": 2, "items": list(range(1000))})
    assert read_json(path)["v"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(TypeError):
        write_json_atomic(path, {"v": object.__new__(type("Unserialisable", (), {}))})
    assert read_json(path)["v"] == 2  # a failed write leaves the old document
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


_APPEND_LOOP = """
import sys
from pathlib import Path
from ff_otel.store import append_records
path = Path(sys.argv[1])
n = 0
while True:
    append_records(path, [{"n": n, "pad": "x" * 2000}, {"n": n + 1, "pad": "y" * 2000}])
    n += 2
    if n == 200:
        print("ready", flush=True)
"""


def test_sigkilled_writer_loses_no_complete_record(tmp_path: Path) -> None:
    path = tmp_path / "crash.jsonl"
    writer = subprocess.Popen(
        [sys.executable, "-c", _APPEND_LOOP, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    writer.send_signal(signal.SIGKILL)
    writer.wait()

    # Simulate the worst case the kill can leave: a half-written last line.
    with path.open("ab") as handle:
        handle.write(b'{"n": -1, "pad": "zzz')
    stream = read_records(path)
    numbers = [r["n"] for r in stream]
    assert len(numbers) >= 200
    assert numbers == list(range(len(numbers)))  # nothing lost, nothing reordered
    assert stream.stats.torn_lines == 1

    append_records(path, [{"n": "after"}])
    after = read_records(path)
    assert [r["n"] for r in after][-1] == "after"
    assert after.stats.torn_lines == 1


def _append_many(path: str, worker: int, count: int) -> None:
    target = Path(path)
    for i in range(count):
        append_records(target, [{"worker": worker, "i": i}])


def test_four_processes_appending_give_exactly_every_line(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(path), w, 5000)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0

    stream = read_records(path)
    seen = [(r["worker"], r["i"]) for r in stream]
    assert len(seen) == 20_000
    assert stream.stats.torn_lines == 0
    assert len(path.read_bytes().splitlines()) == 20_000
    for w in range(4):
        assert [i for worker, i in seen if worker == w] == list(range(5000))


def test_appender_reopens_when_the_file_was_rotated_away(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    append_records(path, [{"n": 1}])
    os.rename(path, tmp_path / "s.20260101T000000.jsonl")
    append_records(path, [{"n": 2}])
    assert path.read_bytes().count(b"\n") == 1
    assert [r["n"] for r in read_records(path)] == [1, 2]


# --- a copied or restored store --------------------------------------------------------
# A copy gives every file a new inode; the tails and the rollups must still know
# the files they already folded, or the copy's rollups count everything twice.


def _real_store(base_path: Path) -> None:
    """Spans and user events written by ff-otel itself, then folded as `ff-otel bi` does."""

    @ff_otel.instrument(component="api")
    def serve() -> None:
        pass

    ff_otel.configure(base_path=base_path, system_metrics=False)
    try:
        for _ in range(40):
            serve()
        for user in range(5):
            for kind in ("session_start", "feature_usage"):
                ff_otel.record_user_event(f"u{user}", f"s{user}", kind, {"features": ["search"]})
        assert ff_otel.force_flush()
    finally:
        ff_otel.shutdown()
    _catch_up(base_path)


def _catch_up(base_path: Path) -> None:
    catch_up_rollups(StoreLayout(base_path), FFAnalyticsConfigDTO())


def _more(base_path: Path, copies: int) -> None:
    """More spans, appended after the last fold: the store's own spans again, new ids."""
    layout = StoreLayout(base_path)
    spans = list(read_records(layout.spans))[:copies]
    append_records(layout.spans, [{**s, "span_id": os.urandom(8).hex()} for s in spans])


def _rollup_and_raw_counts(base_path: Path, stream: str) -> tuple[int, int]:
    """A count from the rollups (whole hours) and the same count from the raw records."""
    stamps = [r["timestamp"] for r in read_records(StoreLayout(base_path).spans)]
    start = datetime.fromisoformat(min(stamps)[:13] + ":00:00+00:00") - timedelta(hours=1)
    end = datetime.fromisoformat(max(stamps)[:13] + ":00:00+00:00") + timedelta(hours=2)
    (fast,) = ff_otel.query(stream, start=start, end=end, base_path=base_path)
    (raw,) = ff_otel.query(
        stream, start=start + timedelta(microseconds=1), end=end, base_path=base_path
    )
    return fast["count"], raw["count"]


def _copy(source: Path, target: Path) -> Path:
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)
    spans = StoreLayout(target).spans
    assert spans.stat().st_ino != StoreLayout(source).spans.stat().st_ino
    return target


def test_a_copied_store_folds_only_what_is_new(tmp_path: Path) -> None:
    original = tmp_path / "store"
    _real_store(original)
    assert _rollup_and_raw_counts(original, "spans") == (40, 40)
    # Written after the last fold: the copy's catch-up folds these, and only these.
    _more(original, 15)
    # An erasure the collector has not seen yet: the copy must find its map
    # (named by a stale inode) to know where the folded offset now lies.
    assert ff_otel.erase_user("u3", base_path=original) >= 2
    copy = _copy(original, tmp_path / "copy")

    _catch_up(copy)
    assert _rollup_and_raw_counts(copy, "spans") == (55, 55)
    # The erased user's events leave the stream; the rollups keep counting
    # them (anonymous counts), and fold none of the rewritten file again.
    assert _rollup_and_raw_counts(copy, "events") == (10, 8)
    _catch_up(copy)  # and again: nothing is folded twice
    assert _rollup_and_raw_counts(copy, "spans") == (55, 55)
    _catch_up(original)
    assert _rollup_and_raw_counts(original, "spans") == (55, 55)
    assert _rollup_and_raw_counts(original, "events") == (10, 8)
    # A store restored from a copy of a copy is no different.
    again = _copy(copy, tmp_path / "again")
    _more(again, 5)
    _catch_up(again)
    assert _rollup_and_raw_counts(again, "spans") == (60, 60)


def test_rotations_before_and_after_a_copy_are_new_files(tmp_path: Path) -> None:
    original = tmp_path / "store"
    _real_store(original)
    _more(original, 10)  # not folded yet when the stream is rotated away
    tomorrow = _clock.now() + timedelta(days=1)
    rotated = run_retention(StoreLayout(original), FFAnalyticsConfigDTO(), now=tomorrow)
    assert "system_metrics/spans.jsonl" in rotated["rotated"]
    _more(original, 3)  # the new file
    copy = _copy(original, tmp_path / "copy")

    # The unread end of the rotated segment is found by its first line, then the new file.
    _catch_up(copy)
    assert _rollup_and_raw_counts(copy, "spans") == (53, 53)
    # Rotated again in the copy, with lines not folded yet on both sides of it.
    _more(copy, 7)
    later = tomorrow + timedelta(days=1)
    rotated = run_retention(StoreLayout(copy), FFAnalyticsConfigDTO(), now=later)
    assert "system_metrics/spans.jsonl" in rotated["rotated"]
    _more(copy, 4)
    _catch_up(copy)
    assert _rollup_and_raw_counts(copy, "spans") == (64, 64)
