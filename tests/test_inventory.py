"""DuckDB's counts of a stream's records agree with the one reader's, whatever its lines hold."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from ff_otel.sql.compaction import compact, sealed_segments
from ff_otel.sql.inventory import StreamCounts, has_records_between, stream_counts
from ff_otel.store.layout import StoreLayout
from ff_otel.store.reader import read_records

DAY = datetime(2026, 5, 4, tzinfo=UTC)


def _line(minute: int, **extra: object) -> bytes:
    stamp = (DAY + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    record = {
        "timestamp": stamp,
        "record_type": "event",
        "event_type": "feature_usage",
        "user_hash": "u1",
        "session_id": "s1",
        **extra,
    }
    return orjson.dumps(record) + b"\n"


def _as_the_reader_counts(stream: Path) -> StreamCounts:
    reading = read_records(stream)
    stamps = [r["timestamp"] for r in reading if isinstance(r.get("timestamp"), str)]
    return StreamCounts(
        reading.stats.records,
        min(stamps) if stamps else None,
        max(stamps) if stamps else None,
        reading.stats.torn_lines,
    )


@pytest.fixture
def layout(tmp_path: Path) -> StoreLayout:
    store = StoreLayout(tmp_path)
    store.behavior_patterns.parent.mkdir(parents=True)
    folder = store.behavior_patterns.parent
    # A segment compacted to Parquet, one gzipped, one plain, then the live file.
    (folder / "behavior_patterns.20260501T000000.jsonl").write_bytes(
        b"".join(_line(m) for m in range(-3000, -2990))
    )
    compact(store, sealed_segments(store))
    with gzip.open(folder / "behavior_patterns.20260502T000000.jsonl.gz", "wb") as out:
        out.write(b"".join(_line(m) for m in range(-1500, -1495)))
    (folder / "behavior_patterns.20260503T000000.jsonl").write_bytes(
        b"".join(_line(m) for m in range(-100, -90))
    )
    store.behavior_patterns.write_bytes(b"".join(_line(m) for m in range(20)) + b"\n")
    return store


def test_a_clean_stream_is_counted_as_the_reader_counts_it(layout: StoreLayout) -> None:
    stream = layout.behavior_patterns
    assert any(p.name.endswith(".parquet") for p in stream.parent.iterdir())
    counts = stream_counts(layout, [stream])[stream]
    assert counts == _as_the_reader_counts(stream)
    assert counts.records == 45 and counts.unreadable == 0
    assert counts.oldest == "2026-05-01T22:00:00.000000Z"
    assert counts.newest == "2026-05-04T00:19:00.000000Z"


@pytest.mark.parametrize(
    "appended",
    [
        b'{"timestamp": "2026-05-04T00:30:00.000000Z", "user_h\n',  # torn mid-line
        b"not json at all\n",
        b"[1, 2, 3]\n",  # JSON, but no object
        b'{"record_type": "event"}\n',  # an object without a timestamp: a record
        b'{"timestamp": 1746316800}\n',  # a timestamp of the wrong type: a record
        b'{"timestamp": null}\n',
        _line(-5000).rstrip(b"\n"),  # a whole object, its newline not written yet
    ],
)
def test_lines_duckdb_cannot_judge_are_counted_by_the_reader(
    layout: StoreLayout, appended: bytes
) -> None:
    stream = layout.behavior_patterns
    with stream.open("ab") as out:
        out.write(appended)
    assert stream_counts(layout, [stream])[stream] == _as_the_reader_counts(stream)


def test_a_stream_with_no_file_and_an_empty_one(layout: StoreLayout) -> None:
    empty = layout.feature_usage
    empty.write_bytes(b"")
    missing = layout.session_analytics
    counts = stream_counts(layout, [empty, missing])
    assert counts[empty] == StreamCounts() == counts[missing]


def test_records_between_looks_in_every_kind_of_segment(layout: StoreLayout) -> None:
    stream = layout.behavior_patterns
    ranges = [
        (DAY - timedelta(days=3), DAY - timedelta(days=2)),  # the Parquet segment
        (DAY - timedelta(days=2), DAY - timedelta(days=1)),  # the gzipped one
        (DAY + timedelta(minutes=19), DAY + timedelta(minutes=20)),  # the live file's last
        (DAY + timedelta(minutes=20), DAY + timedelta(days=1)),  # nothing
        (DAY - timedelta(days=30), DAY - timedelta(days=4)),  # nothing
    ]
    assert has_records_between(layout, [stream], ranges) == [True, True, True, False, False]
    assert has_records_between(layout, [layout.feature_usage], ranges[:1]) == [False]
