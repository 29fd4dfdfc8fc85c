"""A real full disk (a 2 MiB tmpfs filled to ENOSPC): nothing raised, nothing silently lost.

Every public call that writes is made while the disk is full: none raises,
each says it did not store (False, or an incomplete erasure), the compliance
records wait in the spool and are written, in order and chained, once space
is freed; ``force_flush()`` is False while spans are dropped.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import ff_otel
from ff_otel.compliance.spool import SPOOL

from .conftest import records


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
    with filler.open("wb") as handle:
        chunk = b"\0" * 65536
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    for size in (4096, 512, 64, 1):  # the last bytes too, so that even short lines fail
        try:
            with filler.open("ab") as handle:
                while True:
                    handle.write(b"\0" * size)
                    handle.flush()
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
