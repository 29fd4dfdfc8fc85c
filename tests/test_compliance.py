"""Compliance: the audit chain, retention and compression, exports, the regulatory report."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

import ff_otel
from ff_otel.compliance.audit import AuditTrail, verify
from ff_otel.store import append_records

from .conftest import records


def chain(path: Path, count: int) -> AuditTrail:
    trail = AuditTrail(path, "svc")
    for i in range(count):
        trail.append("alice", "update", f"doc/{i}", details={"i": i})
    return trail


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_an_untouched_trail_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit_logs.jsonl"
    chain(path, 50)
    result = verify(path)
    assert (result.ok, result.records, result.first_bad_index) == (True, 50, None)


def test_a_sealed_chain_cannot_be_rebuilt_without_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FF_OTEL_AUDIT_KEY", "kept-in-a-vault")
    path = tmp_path / "audit_logs.jsonl"
    chain(path, 5)
    assert verify(path).sealed and verify(path).ok
    # Someone rewrites the whole file with a consistent but unsealed chain.
    monkeypatch.delenv("FF_OTEL_AUDIT_KEY")
    forged = tmp_path / "forged.jsonl"
    chain(forged, 5)
    path.write_bytes(forged.read_bytes())
    monkeypatch.setenv("FF_OTEL_AUDIT_KEY", "kept-in-a-vault")
    result = verify(path)
    assert not result.ok and result.first_bad_index == 0 and "seal" in (result.reason or "")


def test_the_chain_runs_across_rotated_compressed_segments_and_processes(
    tmp_path: Path,
) -> None:
    layout = ff_otel.StoreLayout(tmp_path)
    layout.initialize(ff_otel.FFAnalyticsConfigDTO())
    trail = AuditTrail(layout.audit_logs, "svc")
    day = datetime(2026, 1, 1, tzinfo=UTC)
    for segment in range(4):
        for i in range(250):
            trail.append("batch", "ingest", f"item/{segment}/{i}")
        # Rotate and compress, as retention does on later days.
        target = layout.audit_logs.with_name(
            f"audit_logs.{(day + timedelta(days=segment)).strftime('%Y%m%dT%H%M%S')}.jsonl.gz"
        )
        target.write_bytes(gzip.compress(layout.audit_logs.read_bytes()))
        layout.audit_logs.write_bytes(b"")
    other_process = AuditTrail(layout.audit_logs, "other")  # a second writer continues it
    other_process.append("bob", "configure", "store")
    result = ff_otel.verify_audit_trail(base_path=tmp_path)
    assert result.ok, result
    assert result.records == 1_001


def test_retention_deletes_exactly_what_is_past_each_limit(tmp_path: Path) -> None:
    handle = ff_otel.configure(base_path=tmp_path, system_metrics=False)
    layout = handle.layout
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)

    def segment(path: Path, day: int) -> Path:
        stamp = (start + timedelta(days=day)).strftime("%Y%m%dT%H%M%S")
        target = path.with_name(f"{path.stem}.{stamp}.jsonl")
        append_records(target, [{"timestamp": (start + timedelta(days=day)).isoformat(), "d": day}])
        return target

    raw_old, raw_new = segment(layout.spans, 0), segment(layout.spans, 25)
    bi_old = segment(layout.business_intelligence_path / "usage_trends.jsonl", 0)
    compliance_old = segment(layout.privacy_events, 0)

    summary = ff_otel.run_retention(now=start + timedelta(days=40))

    assert not raw_old.exists()  # 40 days > raw 30
    # A span segment becomes Parquet (every field kept); other streams' segments are gzipped.
    assert not raw_new.exists() and raw_new.with_name(raw_new.stem + ".parquet").exists()
    assert bi_old.with_name(bi_old.name + ".gz").exists()  # aggregated: 365 days
    assert compliance_old.with_name(compliance_old.name + ".gz").exists()  # 2555 days
    assert [r["d"] for r in ff_otel.read_records(layout.spans)] == [25]
    assert summary["deleted"] == ["system_metrics/" + raw_old.name]

    later = ff_otel.run_retention(now=start + timedelta(days=400))
    assert "business_intelligence/" + bi_old.name + ".gz" in later["deleted"]
    assert compliance_old.with_name(compliance_old.name + ".gz").exists()
    deletions = [r for r in records(layout.audit_logs) if r["action"] == "retention_delete"]
    assert len(deletions) == 3
    assert ff_otel.verify_audit_trail().ok


def test_streams_rotate_by_day_and_readers_and_tails_lose_nothing(tmp_path: Path) -> None:
    handle = ff_otel.configure(base_path=tmp_path, system_metrics=False)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    append_records(handle.layout.logs, [{"timestamp": yesterday.isoformat(), "n": 1}])
    summary = ff_otel.run_retention()
    assert "system_metrics/logs.jsonl" in summary["rotated"]
    append_records(handle.layout.logs, [{"timestamp": datetime.now(UTC).isoformat(), "n": 2}])
    assert [r["n"] for r in ff_otel.read_records(handle.layout.logs)] == [1, 2]


def test_csv_export_holds_the_same_records_as_json(
    busy_store: ff_otel.FFOtel, tmp_path: Path
) -> None:
    manifest = ff_otel.export_data(
        ["spans", "user_analytics"], tmp_path / "out", formats=("jsonl", "csv"), actor="auditor"
    )
    by_name = {f["file"]: f for f in manifest["files"]}
    spans_json = [
        json.loads(line)
        for line in (tmp_path / "out" / "system_metrics__spans.jsonl").read_text().splitlines()
    ]
    with (tmp_path / "out" / "system_metrics__spans.csv").open(newline="") as handle:
        spans_csv = list(csv.DictReader(handle))
    assert len(spans_json) == len(spans_csv) == by_name["system_metrics__spans.csv"]["records"] > 0
    for from_json, from_csv in zip(spans_json, spans_csv, strict=True):
        assert from_csv["span_id"] == from_json["span_id"]
        assert json.loads(from_csv["attributes"]) == from_json["attributes"]
    assert "user_analytics__behavior_patterns.jsonl" in by_name
    for entry in manifest["files"]:
        data = (tmp_path / "out" / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    exports = [r for r in records(busy_store.layout.audit_logs) if r["action"] == "export"]
    assert exports[-1]["actor"] == "auditor"
    with pytest.raises(ValueError, match="export format"):
        ff_otel.export_data(["spans"], tmp_path / "x", formats=("xlsx",))


@pytest.fixture
def busy_store(tmp_path: Path) -> ff_otel.FFOtel:
    handle = ff_otel.configure(base_path=tmp_path / "store", system_metrics=False)

    @ff_otel.instrument(component="api", attributes={"route": "/x"})
    def serve() -> None:
        pass

    for _ in range(30):
        serve()
    ff_otel.record_user_event("ann", "s1", "session_start", {"platform": "web"})
    assert ff_otel.force_flush()
    return handle


def test_audit_api_and_automatic_records(busy_store: ff_otel.FFOtel) -> None:
    assert ff_otel.audit("ops@example.org", "rotate_keys", "vault/hash_key", ticket="OPS-12")
    ff_otel.opt_out("ann")
    ff_otel.erase_user("ann")
    trail = records(busy_store.layout.audit_logs)
    actions = [r["action"] for r in trail]
    assert actions[0] == "configure"
    assert {"rotate_keys", "consent_opt_out", "erasure"} <= set(actions)
    mine = next(r for r in trail if r["action"] == "rotate_keys")
    # Who acted stays answerable (the same person, the same reference) without
    # the trail holding anything erasure would have to remove.
    assert busy_store.pseudonymizer is not None
    assert mine["actor"] == busy_store.pseudonymizer.subject("ops@example.org")
    assert mine["details"] == {"ticket": "OPS-12"}
    assert {"host", "pid", "service", "timestamp", "outcome", "resource"} <= set(mine)
    erasure = next(r for r in trail if r["action"] == "erasure")
    assert busy_store.pseudonymizer is not None
    assert busy_store.pseudonymizer.user("ann") not in json.dumps(erasure)
    assert ff_otel.verify_audit_trail().ok
    with pytest.raises(ValueError, match="actor"):
        ff_otel.audit("", "x", "y")


def test_security_events_are_scrubbed_and_feed_alerts(busy_store: ff_otel.FFOtel) -> None:
    for _ in range(12):
        ff_otel.record_security_event(
            "auth_failure", "warning", username="ann@example.org", source_ip="10.0.0.7"
        )
    assert ff_otel.force_flush()
    events = records(busy_store.layout.security_events)
    assert len(events) == 12
    assert "ann@example.org" not in json.dumps(events)
    alerts = [r for r in records(busy_store.layout.alerts) if r.get("rule") == "auth_failure_burst"]
    assert alerts and alerts[-1]["state"] == "firing" and alerts[-1]["alert_type"] == "security"
    with pytest.raises(ValueError, match="severity"):
        ff_otel.record_security_event("x", "apocalyptic")


def test_the_regulatory_report(busy_store: ff_otel.FFOtel) -> None:
    ff_otel.opt_out("ann")
    ff_otel.erase_user("ann")
    ff_otel.record_security_event("permission_denied", "error", resource="/admin")
    report = ff_otel.generate_regulatory_report()
    stored = orjson.loads(busy_store.layout.regulatory_reports_path.read_bytes())
    assert stored["generated_at"] == report["generated_at"]
    assert report["retention_policy_days"] == {"raw": 30, "aggregated": 365, "compliance": 2555}
    inventory = {item["file"]: item for item in report["inventory"]}
    spans = inventory["system_metrics/spans.jsonl"]
    assert spans["records"] == 30 and spans["personal_data"] and spans["oldest"] <= spans["newest"]
    assert inventory["compliance/audit_logs.jsonl"]["data_class"] == "compliance"
    assert report["audit_chain"]["ok"] is True
    assert report["privacy_requests"]["erasure"]["count"] == 1
    assert report["privacy_requests"]["erasure"]["mean_duration_ms"] is not None
    assert report["security_events"]["by_type"] == {"permission_denied": 1}
    assert os.access(busy_store.layout.regulatory_reports_path, os.R_OK)
