"""A stored field of the wrong type is skipped and counted, never an exception in an answer."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import ff_otel
from ff_otel.cli import main
from ff_otel.store.reader import read_recent, read_records
from ff_otel.store.schema import invalid_fields

from .conftest import records


def _store_with_bad_spans(handle: ff_otel.FFOtel) -> Path:
    with ff_otel.span("good", component="api"):
        pass
    assert ff_otel.force_flush()
    path = handle.layout.spans
    good = json.loads(path.read_text().splitlines()[0])
    with path.open("a") as out:
        out.write(json.dumps({**good, "span_id": "a" * 16, "duration_ms": "fast"}) + "\n")
        out.write(json.dumps({**good, "span_id": "b" * 16, "name": 7, "component": [1]}) + "\n")
    return path


def test_bi_report_query_and_the_tick_skip_wrong_typed_fields(handle: ff_otel.FFOtel) -> None:
    _store_with_bad_spans(handle)
    before = sum(invalid_fields().values())
    stored = records(handle.layout.spans)
    assert len(stored) == 3
    assert "duration_ms" not in stored[1] and "name" not in stored[2]
    assert sum(invalid_fields().values()) - before == 3

    runner = CliRunner()
    base = str(handle.layout.base_path)
    for command in (["bi", "--period", "day"], ["report"], ["query", "spans"]):
        result = runner.invoke(main, [*command, "--base-path", base])
        assert result.exit_code == 0, (command, result.output)
    grouped = runner.invoke(main, ["bi", "--base-path", base, "--json"])
    assert '"7"' not in grouped.output  # {"name": 7} is no group called 7

    handle.pipeline.tick()  # type: ignore[union-attr]
    assert handle.pipeline.stats.failures == 0  # type: ignore[union-attr]


def test_ff_otel_status_shows_how_many_fields_were_skipped(handle: ff_otel.FFOtel) -> None:
    _store_with_bad_spans(handle)
    handle.pipeline.collect(store=True)  # type: ignore[union-attr]
    result = CliRunner().invoke(main, ["status", "--base-path", str(handle.layout.base_path)])
    assert "store.records" in result.output
    assert "wrong type skipped" in result.output
    assert "spans.duration_ms" in result.output


def test_every_reader_removes_and_counts_the_wrong_typed_fields(handle: ff_otel.FFOtel) -> None:
    # README: removed "as the record is read, as if it were absent, and counted,
    # by every reader (read_records, the collector's tails, the dashboard's
    # recent reads)"; "ReadStats.invalid_fields counts one reading's".
    path = _store_with_bad_spans(handle)
    stream = read_records(path)
    stored = list(stream)
    assert stream.stats.invalid_fields == 3
    recent = read_recent(path)
    assert recent == stored
    assert "duration_ms" not in recent[1] and "name" not in recent[2]
    assert "component" not in recent[2]


def test_a_new_configuration_reports_only_the_fields_skipped_since_it_started(
    base_path: Path, tmp_path: Path
) -> None:
    # The count is process-wide; a configuration started after an earlier one
    # met bad records must not inherit "degraded" from it.
    earlier = ff_otel.configure(base_path=tmp_path / "earlier", system_metrics=False)
    _store_with_bad_spans(earlier)
    assert len(records(earlier.layout.spans)) == 3
    ff_otel.shutdown()

    later = ff_otel.configure(base_path=base_path, system_metrics=False)
    try:
        later.pipeline.collect(store=False)  # type: ignore[union-attr]
        health = later.pipeline.latest_health  # type: ignore[union-attr]
        check = {r.name: r for r in health.components}["store.records"]  # type: ignore[union-attr]
        assert check.status == "healthy", check.detail
        _store_with_bad_spans(later)
        assert len(records(later.layout.spans)) == 3
        later.pipeline.collect(store=False)  # type: ignore[union-attr]
        health = later.pipeline.latest_health  # type: ignore[union-attr]
        check = {r.name: r for r in health.components}["store.records"]  # type: ignore[union-attr]
        assert check.status == "degraded"
        assert "spans.duration_ms" in check.detail  # each reading counts what it skipped
    finally:
        ff_otel.shutdown()
