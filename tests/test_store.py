"""The store: hierarchy, the appender, the reader, crash safety and concurrency."""

from __future__ import annotations

import gzip
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from ff_otel import FFAnalyticsConfigDTO, StoreError, StoreLayout, read_records
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
