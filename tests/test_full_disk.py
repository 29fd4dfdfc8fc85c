"""A real full disk (a 2 MiB tmpfs filled to ENOSPC): nothing raised, nothing silently lost.

Every public call that writes is made while the disk is full: none raises,
each says it did not store (False, or an incomplete erasure), the compliance
records wait in the spool and are written, in order and chained, once space
is freed; ``force_flush()`` is False while spans are dropped.
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

import ff_otel
from ff_otel.compliance.spool import SPOOL, ComplianceSpool
from ff_otel.core import clock
from ff_otel.store.appender import append_records
from ff_otel.store.reader import read_records

from .conftest import records, wait_until


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted for this test only."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        ff_otel.shutdown()
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path) -> Path:
    """Write a file until the disk refuses with ENOSPC; returns it (delete it to free the disk)."""
    filler = disk / "filler"
    # Unbuffered: a buffered file keeps what a short write left over and raises
    # ENOSPC again when it is closed.
    with filler.open("wb", buffering=0) as handle:
        chunk = b"\0" * 65536
        try:
            while True:
                handle.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    for size in (4096, 512, 64, 1):  # the last bytes too, so that even short lines fail
        try:
            with filler.open("ab", buffering=0) as handle:
                while True:
                    handle.write(b"\0" * size)
        except OSError:
            continue
    return filler


def test_every_write_call_on_a_full_disk_returns_failure_and_the_audit_trail_survives(
    small_disk: Path,
) -> None:
    SPOOL.drain()
    handle = ff_otel.configure(
        base_path=small_disk / "store",
        service_name="full-disk",
        analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=3600),
        system_metrics=False,
    )
    assert ff_otel.audit("admin", "before", "reports")
    with ff_otel.span("before.full"):
        pass
    assert ff_otel.force_flush()
    audited_before = len(records(handle.layout.audit_logs))

    filler = _fill(small_disk)
    audits = [ff_otel.audit("admin", "export", f"report-{n}", rows=n) for n in range(50)]
    security = ff_otel.record_security_event("auth_failure", severity="warning", ip_hash="x")
    out = ff_otel.opt_out("user-1")
    back_in = ff_otel.opt_in("user-2")
    recorded = ff_otel.record_user_event("user-3", "s1", "feature_usage", {"feature": "search"})
    erased = ff_otel.erase_user("user-4")
    with ff_otel.span("during.full"):
        pass
    flushed = ff_otel.force_flush()
    dropped_while_full = sum(stats.dropped for stats in handle.export_stats().values())

    # Nothing raised. The audit file's last page had room for a few records;
    # from the first that failed on, each says it is not in the file yet (and
    # every later compliance record waits behind it, keeping the order).
    written_at_once = audits.index(False)
    assert written_at_once < 10 and audits[written_at_once:] == [False] * (50 - written_at_once)
    assert security is False and out is False and back_in is False
    assert recorded is True  # accepted: the event was queued; its loss shows in force_flush
    assert erased == 0 and erased.complete is True  # nothing of user-4 was stored
    assert flushed is False and dropped_while_full > 0  # records of this flush were not stored
    assert SPOOL.stats.waiting >= 50 - written_at_once + 1 + 4
    # No torn line was left by the failed appends. The anchor is rewritten in
    # place, which needs no new block; should a disk be too full even for that,
    # it lags the records that fitted and verification says so (beyond_anchor)
    # until the first append after recovery re-anchors.
    while_full = ff_otel.verify_audit_trail()
    assert while_full.gaps == () and (while_full.ok or while_full.kind == "beyond_anchor")

    filler.unlink()
    assert SPOOL.drain()  # the disk recovered: everything spooled is written, in order
    trail = records(handle.layout.audit_logs)
    exports = [r for r in trail if r["action"] == "export"]
    assert [r["resource"] for r in exports] == [f"report-{n}" for n in range(50)]
    # The late ones were chained when written and keep the moment they were made.
    assert all("occurred_at" in r["details"] for r in exports[written_at_once:])
    assert not any("occurred_at" in r["details"] for r in exports[:written_at_once])
    assert {"consent_opt_out", "consent_opt_in"} <= {r["action"] for r in trail}
    assert len(trail) >= audited_before + 50 + 2
    verified = ff_otel.verify_audit_trail()
    assert verified.ok and verified.records == len(trail)
    security_events = records(handle.layout.security_events)
    assert [e["event_type"] for e in security_events] == ["auth_failure"]
    consent = [e["event_type"] for e in records(handle.layout.privacy_events)]
    assert consent[:2] == ["opt_out", "opt_in"]
    assert SPOOL.stats.lost == 0

    with ff_otel.span("after.recovery"):
        pass
    assert ff_otel.force_flush()  # nothing dropped since the previous flush
    names = [s["name"] for s in records(handle.layout.spans)]
    assert "before.full" in names and "after.recovery" in names
    # What force_flush() reported False for is counted by the exporters.
    assert sum(stats.dropped for stats in handle.export_stats().values()) > 0


def test_an_erasure_that_cannot_rewrite_the_store_reports_itself_incomplete(
    small_disk: Path,
) -> None:
    SPOOL.drain()
    handle = ff_otel.configure(
        base_path=small_disk / "store",
        analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=3600),
        system_metrics=False,
    )
    for n in range(200):
        assert ff_otel.record_user_event("user-9", f"s{n}", "feature_usage", {"feature": "a" * 200})
    assert ff_otel.force_flush()
    stored = len(records(handle.layout.behavior_patterns))
    filler = _fill(small_disk)

    erased = ff_otel.erase_user("user-9")
    assert erased.complete is False and erased.error and "No space left" in erased.error
    filler.unlink()
    again = ff_otel.erase_user("user-9")  # the retry erases what was left
    assert again.complete is True
    assert int(erased) + int(again) >= stored
    assert records(handle.layout.behavior_patterns) == []
    assert SPOOL.drain()
    assert os.path.exists(handle.layout.privacy_events)


async def test_the_facade_answers_on_a_full_disk(small_disk: Path) -> None:
    SPOOL.drain()
    config = ff_otel.FFConfigurationManagerConfigDTO()
    config.storage.base_path = small_disk / "store"  # type: ignore[assignment]
    config.analytics = ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=3600)
    manager = ff_otel.FFMetricsCollectionManager(config)
    assert await manager.initialize_analytics_system()
    assert await manager.start_continuous_collection()
    filler = _fill(small_disk)

    snapshot = await manager.collect_system_metrics()
    assert isinstance(snapshot, ff_otel.FFSystemMetricsDTO)
    assert await manager.record_user_analytics("u1", "s1", "session_start", {}) in (True, False)
    bi = await manager.generate_business_intelligence("day")
    assert isinstance(bi, ff_otel.FFBusinessIntelligenceDTO)
    assert (await manager.get_system_health())["status"]
    assert await manager.get_active_alerts() == []
    assert await manager.acknowledge_alert("no-such-alert", "ops") is False
    assert await manager.resolve_alert("no-such-alert", "done") is False
    filler.unlink()
    assert await manager.stop_continuous_collection()
    assert SPOOL.stats.lost == 0


def _quiet_store(disk: Path) -> ff_otel.FFOtel:
    """ff-otel on the small disk with nothing recorded on a timer."""
    return ff_otel.configure(
        base_path=disk / "store",
        service_name="full-disk",
        analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=3600),
        system_metrics=False,
    )


def _audit_until_spooled(resource: str) -> None:
    """Audit until a record is refused: the trail's last page may still hold a few."""
    for n in range(100):
        if not ff_otel.audit("admin", "rotate_keys", f"{resource}-{n}"):
            return
    raise AssertionError("the full disk accepted 100 audit records")


def test_force_flush_is_false_while_a_compliance_record_waits_and_true_once_it_is_written(
    small_disk: Path,
) -> None:
    # README, "force_flush() tells the truth": False "when a compliance record is
    # still waiting in the spool"; True means everything is in the files.
    SPOOL.drain()
    handle = _quiet_store(small_disk)
    assert ff_otel.force_flush()
    filler = _fill(small_disk)
    _audit_until_spooled("vault")

    assert ff_otel.force_flush() is False
    # No exporter dropped anything: the spooled audit record alone makes it False.
    assert sum(stats.dropped for stats in handle.export_stats().values()) == 0

    filler.unlink()
    assert ff_otel.force_flush() is True
    trail = records(handle.layout.audit_logs)
    assert trail[-1]["resource"].startswith("vault-") and "occurred_at" in trail[-1]["details"]
    assert SPOOL.stats.waiting == 0


def test_spooled_records_are_written_by_the_background_retry_once_the_disk_recovers(
    small_disk: Path,
) -> None:
    # README: the spool is retried "once a second by a background thread while
    # anything waits": no flush, no new call is needed.
    SPOOL.drain()
    handle = _quiet_store(small_disk)
    filler = _fill(small_disk)
    _audit_until_spooled("report-late")
    assert ff_otel.record_security_event("auth_failure", "warning", note="late") is False
    filler.unlink()

    wait_until(
        lambda: (
            "occurred_at" in records(handle.layout.audit_logs)[-1]["details"]
            and len(records(handle.layout.security_events)) == 1
        )
    )
    assert ff_otel.verify_audit_trail().ok
    assert SPOOL.stats.waiting == 0 and SPOOL.stats.lost == 0


def test_a_full_spool_gives_up_its_oldest_records_counted_and_logged_with_kind_and_time(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # README: "When the spool is full, the oldest record is given up ... Each
    # record given up is counted and logged at ERROR with its kind and the
    # moment it was made: lost, but never silently."
    path = small_disk / "events.jsonl"
    spool = ComplianceSpool(capacity=3)
    filler = _fill(small_disk)

    def writer(n: int) -> Callable[[str | None], None]:
        return lambda late: append_records(path, [{"timestamp": clock.now_iso(), "n": n}])

    with caplog.at_level(logging.ERROR, logger="ff_otel.compliance"):
        answers = [spool.submit(f"event number {n}", writer(n)) for n in range(5)]
    assert answers == [False] * 5
    assert (spool.stats.lost, spool.stats.waiting) == (2, 3)
    lost = [r.getMessage() for r in caplog.records if "LOST" in r.getMessage()]
    assert len(lost) == 2
    for n, message in enumerate(lost):
        assert f"event number {n}" in message and "made at 20" in message

    filler.unlink()
    assert spool.drain()
    assert [r["n"] for r in records(path)] == [2, 3, 4]  # the newest three, in order


def test_an_opt_out_that_cannot_be_written_holds_in_this_process_at_once(
    small_disk: Path,
) -> None:
    # README table: opt_out/opt_in on a fault: "False: the change holds in
    # this process at once and waits in the spool".
    SPOOL.drain()
    handle = _quiet_store(small_disk)
    filler = _fill(small_disk)
    assert ff_otel.opt_out("frank") is False
    assert ff_otel.record_user_event("frank", "s1", "session_start", {}) is False
    filler.unlink()
    assert SPOOL.drain()
    assert [e["event_type"] for e in records(handle.layout.privacy_events)] == ["opt_out"]
    assert ff_otel.record_user_event("frank", "s2", "session_start", {}) is False
    assert ff_otel.force_flush()
    assert records(handle.layout.behavior_patterns) == []


async def test_acknowledging_or_resolving_a_real_alert_on_a_full_disk_answers_false(
    small_disk: Path,
) -> None:
    # README table: acknowledge_alert, resolve_alert on a fault: False.
    SPOOL.drain()
    base = small_disk / "store"
    ff_otel.configure(
        base_path=base,
        system_metrics=False,
        analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=3600),
        alert_rules=[ff_otel.AlertRule(name="always", series="metric:ticks", threshold=0)],
    )
    ff_otel.counter("ticks").add(1)
    assert ff_otel.force_flush()
    config = ff_otel.FFConfigurationManagerConfigDTO()
    config.storage.base_path = base  # type: ignore[assignment]
    manager = ff_otel.FFMetricsCollectionManager(config)
    (alert,) = await manager.get_active_alerts()
    filler = _fill(small_disk)

    # alerts.jsonl's last page may hold a few more lines: acknowledge (it stays
    # open) until the disk refuses one, then resolve with a longer line.
    answers = [await manager.acknowledge_alert(alert.alert_id, "sam") for _ in range(20)]
    assert False in answers and answers[answers.index(False) :] == [False] * (
        20 - answers.index(False)
    )
    assert await manager.resolve_alert(alert.alert_id, "restarted " * 50) is False

    filler.unlink()
    assert [a.alert_id for a in await manager.get_active_alerts()] == [alert.alert_id]
    assert await manager.acknowledge_alert(alert.alert_id, "sam") is True
    assert await manager.resolve_alert(alert.alert_id, "restarted") is True
    assert await manager.get_active_alerts() == []


def test_each_exporters_force_flush_is_false_after_a_record_the_full_disk_refused(
    small_disk: Path,
) -> None:
    # README: "each exporter's own force_flush() answers the same for its records".
    base = small_disk / "store"
    spans = ff_otel.FlatfileSpanExporter(base)
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logs = ff_otel.FlatfileLogExporter(base)
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    metrics = ff_otel.FlatfileMetricExporter(base)
    meter_provider = MeterProvider(
        metric_readers=[PeriodicExportingMetricReader(metrics, export_interval_millis=3_600_000)]
    )
    tracer = tracer_provider.get_tracer("disk")
    logger = logger_provider.get_logger("disk")
    counter = meter_provider.get_meter("disk").create_counter("writes")

    def record_one(label: str) -> None:
        padding = "z" * 10_000  # more than a page: the last page's room cannot take it
        with tracer.start_as_current_span(label) as span:
            span.set_attribute("padding", padding)
        logger.emit(body=label, severity_number=SeverityNumber.INFO, attributes={"p": padding})
        counter.add(1, {"phase": label, "padding": padding})
        meter_provider.force_flush()

    record_one("before")
    assert (spans.force_flush(), logs.force_flush(), metrics.force_flush()) == (True,) * 3
    filler = _fill(small_disk)
    record_one("full")
    assert (spans.force_flush(), logs.force_flush(), metrics.force_flush()) == (False,) * 3
    filler.unlink()
    record_one("after")
    assert (spans.force_flush(), logs.force_flush(), metrics.force_flush()) == (True,) * 3
    for provider in (tracer_provider, logger_provider, meter_provider):
        provider.shutdown()
    assert [r["name"] for r in records(spans.layout.spans)] == ["before", "after"]
    assert [r["body"] for r in records(logs.layout.logs)] == ["before", "after"]


def test_a_write_the_full_disk_cut_short_leaves_no_torn_line(small_disk: Path) -> None:
    # README: "a failed write (a full disk) is cut back under the file's lock,
    # so it leaves no torn line, and the batch counts as not stored".
    exporter = ff_otel.FlatfileSpanExporter(small_disk / "store")
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=512))
    tracer = provider.get_tracer("disk")
    with tracer.start_as_current_span("before"):
        pass
    assert provider.force_flush() and exporter.force_flush()
    filler = _fill(small_disk)
    with filler.open("r+b") as handle:  # free two pages: room for part of a batch only
        handle.truncate(filler.stat().st_size - 8192)
    # The kernel here does write part of a buffer that does not fit.
    probe = small_disk / "probe"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT)
    try:
        assert 0 < os.write(fd, b"p" * 65536) < 65536
    finally:
        os.close(fd)
        probe.unlink()
    size_before = exporter.layout.spans.stat().st_size

    for n in range(100):  # about 100 KB of spans in one batch
        with tracer.start_as_current_span(f"cut-{n}") as span:
            span.set_attribute("padding", "z" * 1000)
    provider.force_flush()
    assert exporter.force_flush() is False
    assert exporter.layout.spans.stat().st_size == size_before  # cut back, not torn
    assert exporter.layout.spans.read_bytes().endswith(b"\n")

    filler.unlink()
    with tracer.start_as_current_span("after"):
        pass
    assert provider.force_flush() and exporter.force_flush()
    provider.shutdown()
    stored = read_records(exporter.layout.spans)
    assert [r["name"] for r in stored] == ["before", "after"]
    assert stored.stats.torn_lines == 0
