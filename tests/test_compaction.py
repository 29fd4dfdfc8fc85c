"""Compaction of sealed segments to Parquet: nothing lost or doubled, retention, erasure, export."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import orjson
import pytest

import ff_otel
from ff_otel.sql.compaction import compact
from ff_otel.store.appender import append_records
from ff_otel.store.layout import StoreLayout

from .conftest import records

DAY = datetime(2026, 5, 4, 10, tzinfo=UTC)


@ff_otel.instrument(component="api")
def serve(fail: bool) -> None:
    with ff_otel.span("db.query", component="database", rows=3, **{"http.route": "/q"}):
        pass
    if fail:
        raise RuntimeError("boom")


@pytest.fixture
def busy(handle: ff_otel.FFOtel) -> ff_otel.FFOtel:
    for i in range(40):
        with contextlib.suppress(RuntimeError):
            serve(fail=i % 8 == 0)
    for user in range(6):
        at = DAY + timedelta(minutes=user)
        ff_otel.record_user_event(f"u{user}", f"s{user}", "session_start", {}, timestamp=at)
        ff_otel.record_user_event(
            f"u{user}", f"s{user}", "feature_usage", {"features": ["search"]}, timestamp=at
        )
    assert ff_otel.force_flush()
    return handle


def _rotate_and_compact(layout: StoreLayout) -> dict[str, list[str]]:
    """Rotate every stream (as the next day's retention pass does), then compact."""
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    ff_otel.run_retention(now=tomorrow)
    return ff_otel.run_retention(now=tomorrow + timedelta(hours=1))


_FIGURES = (
    "SELECT component, count(*) AS n, count(*) FILTER (status = 'error') AS errors, "
    "sum(duration_ms) AS total, count(DISTINCT span_id) AS ids, "
    "count(*) FILTER (attributes['rows'] = '3') AS with_rows FROM spans "
    "GROUP BY component ORDER BY component"
)


def test_compaction_keeps_every_record_and_every_answer(busy: ff_otel.FFOtel) -> None:
    layout = busy.layout
    figures = ff_otel.sql(_FIGURES)
    events = ff_otel.sql("SELECT count(*) AS n, count(DISTINCT user_hash) AS users FROM events")
    before = {r["span_id"]: r for r in records(layout.spans)}

    summary = _rotate_and_compact(layout)

    parquet = sorted(layout.system_metrics_path.glob("spans.*.parquet"))
    assert len(parquet) == 1
    assert str(parquet[0].relative_to(layout.analytics_path)) in summary["compacted"]
    assert not list(layout.system_metrics_path.glob("spans.*.jsonl*"))
    assert ff_otel.sql(_FIGURES) == figures
    assert ff_otel.sql("SELECT count(*) AS n, count(DISTINCT user_hash) AS users FROM events") == (
        events
    )
    after = {r["span_id"]: r for r in records(layout.spans)}
    assert after.keys() == before.keys()
    for span_id, record in before.items():
        kept = {key: value for key, value in record.items() if value is not None}
        assert after[span_id] == kept  # same fields, values and types (attributes included)
    # Idempotent: nothing left to do, nothing changes.
    assert compact(layout)["compacted"] == []
    assert ff_otel.sql(_FIGURES) == figures


def test_retention_deletes_parquet_segments_by_age(busy: ff_otel.FFOtel) -> None:
    layout = busy.layout
    _rotate_and_compact(layout)
    assert list(layout.system_metrics_path.glob("spans.*.parquet"))
    days = busy.settings.analytics.privacy_config.raw_data_retention_days
    summary = ff_otel.run_retention(now=datetime.now(UTC) + timedelta(days=days + 3))
    assert any(path.endswith(".parquet") for path in summary["deleted"])
    assert not list(layout.system_metrics_path.glob("spans.*.parquet"))
    assert ff_otel.sql("SELECT count(*) AS n FROM spans") == [{"n": 0}]
    deleted = ff_otel.sql(
        "SELECT resource FROM audit_logs WHERE action = 'retention_delete' "
        "AND resource LIKE '%spans.%.parquet'"
    )
    assert len(deleted) == 1


def test_erase_user_rewrites_the_parquet_holding_their_rows(busy: ff_otel.FFOtel) -> None:
    layout = busy.layout
    users = [r["user_hash"] for r in ff_otel.sql("SELECT DISTINCT user_hash FROM events")]
    target = ff_otel.sql(
        "SELECT user_hash FROM events WHERE timestamp = ?", [DAY.replace(tzinfo=None)]
    )[0]["user_hash"]
    _rotate_and_compact(layout)
    assert list(layout.user_analytics_path.glob("behavior_patterns.*.parquet"))
    assert ff_otel.export_user_data("u0")  # the right of access reaches Parquet too

    removed = ff_otel.erase_user("u0")

    assert removed >= 3  # two events and a feature use, at least
    left = ff_otel.sql("SELECT user_hash, count(*) AS n FROM events GROUP BY ALL")
    assert target not in {row["user_hash"] for row in left}
    assert {row["user_hash"] for row in left} == set(users) - {target}
    assert ff_otel.sql("SELECT count(*) AS n FROM feature_usage WHERE user_hash = ?", [target]) == [
        {"n": 0}
    ]
    assert ff_otel.export_user_data("u0") == []


def test_export_data_as_parquet(busy: ff_otel.FFOtel, tmp_path: Path) -> None:
    manifest = ff_otel.export_data(
        ["spans"], tmp_path / "out", formats=["parquet", "jsonl"], actor="test"
    )
    by_format = {entry["format"]: entry for entry in manifest["files"]}
    assert by_format["parquet"]["records"] == by_format["jsonl"]["records"] == 80
    exported = tmp_path / "out" / by_format["parquet"]["file"]
    row = (
        duckdb.connect()
        .execute(
            f"SELECT count(*), count(*) FILTER (status = 'error') FROM read_parquet('{exported}')"
        )
        .fetchone()
    )
    assert row == (80, 5)


_SEGMENTS = 8
_PER_SEGMENT = 4000


def _store_with_sealed_segments(handle: ff_otel.FFOtel) -> int:
    """Eight rotated span segments (distinct span ids) plus the live file; returns the total."""
    for _ in range(_PER_SEGMENT // 2):
        serve(fail=False)
    assert ff_otel.force_flush()
    template = records(handle.layout.spans)
    ff_otel.shutdown()
    spans = handle.layout.spans
    for segment in range(_SEGMENTS):
        copy = [{**r, "span_id": f"{r['span_id']}-{segment}"} for r in template]
        append_records(spans.with_name(f"spans.202605{segment + 1:02d}T000000.jsonl"), copy)
    return len(template) * (_SEGMENTS + 1)


_COMPACT_CHILD = """
import sys
from ff_otel.sql.compaction import compact
from ff_otel.store.layout import StoreLayout
layout = StoreLayout(sys.argv[1])
print("ready", flush=True)
compact(layout)
print("done", flush=True)
"""


def _start_compaction(base_path: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", _COMPACT_CHILD, str(base_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    return child


def _check_exactly_once(base_path: Path, total: int) -> None:
    [row] = ff_otel.sql(
        "SELECT count(*) AS n, count(DISTINCT span_id) AS ids FROM spans", base_path=base_path
    )
    assert row == {"n": total, "ids": total}
    spans = StoreLayout(base_path).spans
    ids = [r["span_id"] for r in ff_otel.read_records(spans)]
    assert len(ids) == len(set(ids)) == total


def test_compaction_killed_at_random_points_loses_and_duplicates_nothing(
    handle: ff_otel.FFOtel, tmp_path: Path
) -> None:
    total = _store_with_sealed_segments(handle)
    pristine = handle.layout.base_path
    # How long one whole compaction takes here, to spread the kills over it.
    timing = tmp_path / "timing"
    shutil.copytree(pristine, timing)
    child = _start_compaction(timing)
    began = time.monotonic()
    assert child.wait(timeout=300) == 0
    duration = time.monotonic() - began
    _check_exactly_once(timing, total)

    rng = random.Random(15)
    for run in range(20):
        store = tmp_path / f"run{run}"
        shutil.copytree(pristine, store)
        child = _start_compaction(store)
        time.sleep(rng.uniform(0, duration))
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
        _check_exactly_once(store, total)  # whatever the moment of the kill
        assert compact(StoreLayout(store))["records"] >= 0  # the next run finishes the job
        _check_exactly_once(store, total)
        folder = StoreLayout(store).system_metrics_path
        assert not list(folder.glob("spans.*.jsonl"))
        assert not list(folder.glob(".*.tmp"))
        assert len(list(folder.glob("spans.*.parquet"))) == _SEGMENTS
        shutil.rmtree(store)


def test_the_reader_reads_a_parquet_segment_in_file_order(busy: ff_otel.FFOtel) -> None:
    layout = busy.layout
    before = [orjson.dumps(r["span_id"]) for r in records(layout.spans)]
    _rotate_and_compact(layout)
    assert [orjson.dumps(r["span_id"]) for r in records(layout.spans)] == before


def test_a_field_outside_the_view_survives_compaction(busy: ff_otel.FFOtel) -> None:
    # A line another writer added (an unknown field), beside lines that are no
    # object at all: the unknown field goes to _extra and comes back on reading.
    layout = busy.layout
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    append_records(layout.spans, [{"timestamp": stamp, "span_id": "feed", "team": {"id": 7}}])
    with layout.spans.open("ab") as stream:
        stream.write(b"[1, 2]\n42\n")
    before = {r["span_id"]: r for r in records(layout.spans)}
    _rotate_and_compact(layout)
    assert list(layout.system_metrics_path.glob("spans.*.parquet"))
    after = {r["span_id"]: r for r in records(layout.spans)}
    assert after["feed"] == {"timestamp": stamp, "span_id": "feed", "team": {"id": 7}}
    assert after.keys() == before.keys()
