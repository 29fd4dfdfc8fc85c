"""The explorers over a store laid out as a collector leaves it: the window's records
split between compacted Parquet segments and the live JSONL, each shown exactly once,
records outside the window left out, a record visible as soon as it is flushed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import ff_otel
from ff_otel.dashboard import explorers
from ff_otel.store.appender import append_records


@pytest.fixture
def logged(base_path: Path) -> Iterator[ff_otel.FFOtel]:
    yield ff_otel.configure(
        base_path=base_path,
        service_name="shop",
        analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=1),
        system_metrics=False,
        logging=True,
    )
    ff_otel.shutdown()


def _seal_and_compact() -> None:
    """Rotate every stream (the next day's first retention run), then compact its segments."""
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    ff_otel.run_retention(now=tomorrow)
    ff_otel.run_retention(now=tomorrow + timedelta(hours=1))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_traces_and_logs_across_parquet_and_live_jsonl_each_once(
    logged: ff_otel.FFOtel,
) -> None:
    layout = logged.layout
    log = logging.getLogger("shop.orders")
    for i in range(3):
        with ff_otel.span(f"GET /sealed/{i}", component="api"):
            log.info("sealed %d", i)
    # A trace cut in two by the rotation: its child is sealed, its root is live.
    with ff_otel.span("POST /split", component="api") as root:
        with ff_otel.span("db.query", component="database"):
            pass
        assert ff_otel.force_flush()
        old = datetime.now(UTC) - timedelta(hours=3)
        append_records(layout.logs, [{"timestamp": _stamp(old), "body": "three hours ago"}])
        _seal_and_compact()
        split_trace = f"{root.get_span_context().trace_id:032x}"
    for i in range(2):
        with ff_otel.span(f"GET /live/{i}", component="api"):
            log.info("live %d", i)
    assert ff_otel.force_flush()

    folder = layout.system_metrics_path
    assert list(folder.glob("spans.*.parquet")) and list(folder.glob("logs.*.parquet"))
    assert not list(folder.glob("spans.*.jsonl")) and not list(folder.glob("logs.*.jsonl"))

    found = explorers.traces(layout.base_path, {})
    names = sorted(t["root_name"] for t in found["traces"])
    assert names == sorted(
        ["GET /live/0", "GET /live/1", "POST /split"] + [f"GET /sealed/{i}" for i in range(3)]
    )
    assert found["matching"] == 6
    split = next(t for t in found["traces"] if t["trace_id"] == split_trace)
    assert split["spans"] == 2 and split["services"] == ["shop"]

    bodies = [entry["body"] for entry in explorers.logs(layout.base_path, {})["logs"]]
    assert sorted(bodies) == ["live 0", "live 1", "sealed 0", "sealed 1", "sealed 2"]
    wider = [entry["body"] for entry in explorers.logs(layout.base_path, {"since": ["6h"]})["logs"]]
    assert sorted(wider) == sorted([*bodies, "three hours ago"])


def test_a_flushed_log_is_in_the_next_answer_after_compaction(logged: ff_otel.FFOtel) -> None:
    log = logging.getLogger("shop.orders")
    log.warning("before the rotation")
    assert ff_otel.force_flush()
    _seal_and_compact()
    assert [e["body"] for e in explorers.logs(logged.layout.base_path, {})["logs"]] == [
        "before the rotation"
    ]
    log.warning("just now")
    assert ff_otel.force_flush()
    answer = explorers.logs(logged.layout.base_path, {"severity": ["warn"]})
    assert [e["body"] for e in answer["logs"]] == ["just now", "before the rotation"]
