"""Privacy across the whole system: nothing sensitive reaches a file or a socket."""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry._logs import SeverityNumber, get_logger

import ff_otel
from ff_otel import FFAnalyticsConfigDTO, FFAnalyticsPrivacyConfigDTO

from .conftest import Collector, records, wait_until

RAW_USER = "alice-7781"
EMAIL = "alice.wonder@example.org"
PASSWORD = "correct-horse-battery-staple"
TOKEN = "tok_live_9f8e7d6c5b4a"


def store_bytes(base_path: Path) -> bytes:
    blob = b""
    for path in base_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            blob += gzip.decompress(data) if path.name.endswith(".gz") else data
    return blob


def test_nothing_sensitive_reaches_the_store_or_the_collector(
    collector: Collector, tmp_path: Path
) -> None:
    handle = ff_otel.configure(
        base_path=tmp_path / "store",
        service_name="leaky-app",
        otlp_endpoint=collector.grpc_endpoint,
        # User events go to a collector only when external analytics are allowed.
        analytics=FFAnalyticsConfigDTO(
            collection_interval_seconds=1,
            privacy_config=FFAnalyticsPrivacyConfigDTO(enable_external_analytics=True),
        ),
    )
    # The same secrets through every door: user ids, event data, spans, logs.
    ff_otel.record_user_event(
        RAW_USER,
        "sess-1",
        "session_start",
        {"email": EMAIL, "password": PASSWORD, "note": f"{RAW_USER} signed in, Bearer {TOKEN}"},
    )
    ff_otel.record_user_event(RAW_USER, "sess-1", "feature_usage", {"features": ["search"]})
    with ff_otel.span(
        "login",
        component="auth",
        attributes={"user.id": RAW_USER, "enduser.id": RAW_USER, "password": PASSWORD},
        contact=EMAIL,
        authorization=f"Bearer {TOKEN}",
    ):
        get_logger("app.auth").emit(
            body=f"user {RAW_USER} ({EMAIL}) logged in with password={PASSWORD} Bearer {TOKEN}",
            severity_number=SeverityNumber.WARN,
            attributes={"user_id": RAW_USER, "api_key": TOKEN},
        )
    assert ff_otel.force_flush(10_000)
    received = collector.wait_for("leaky-app", "login", "ff.user_event")
    ff_otel.shutdown()

    forbidden = {
        "raw user id": RAW_USER,
        "email": EMAIL,
        "password": PASSWORD,
        "token": TOKEN,
        "unsalted sha256": hashlib.sha256(RAW_USER.encode()).hexdigest(),
        "truncated unsalted sha256": hashlib.sha256(RAW_USER.encode()).hexdigest()[:16],
    }
    on_disk = store_bytes(tmp_path / "store")
    for what, value in forbidden.items():
        assert value.encode() not in on_disk, f"{what} reached the store"
        assert value not in received, f"{what} reached the collector"
    # ...while the data stays useful: the user is there under a pseudonym.
    pseudonym = handle.pseudonymizer.user(RAW_USER) if handle.pseudonymizer else ""
    assert pseudonym.encode() in on_disk and pseudonym in received


def test_the_hash_key_is_created_once_and_private(tmp_path: Path) -> None:
    handle = ff_otel.configure(base_path=tmp_path)
    key_file = handle.layout.analytics_path / ".hash_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = handle.pseudonymizer.user("bob") if handle.pseudonymizer else ""
    again = ff_otel.configure(base_path=tmp_path)
    assert again.pseudonymizer is not None and again.pseudonymizer.user("bob") == first


def test_hash_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FF_OTEL_HASH_KEY", "00" * 32)
    one = ff_otel.configure(base_path=tmp_path / "a")
    two = ff_otel.configure(base_path=tmp_path / "b")
    assert not (tmp_path / "a" / "analytics" / ".hash_key").exists()
    assert one.pseudonymizer and two.pseudonymizer
    assert one.pseudonymizer.user("bob") == two.pseudonymizer.user("bob")


def stored_events(handle: ff_otel.FFOtel) -> list[dict]:  # type: ignore[type-arg]
    assert ff_otel.force_flush()
    return records(handle.layout.behavior_patterns)


def test_opt_out_stores_nothing_and_survives_a_restart(handle: ff_otel.FFOtel) -> None:
    assert ff_otel.opt_out("carol")
    assert ff_otel.record_user_event("carol", "s1", "session_start", {}) is False
    assert ff_otel.record_user_event("dave", "s2", "session_start", {}) is True
    ff_otel.shutdown()

    restarted = ff_otel.configure(base_path=handle.layout.base_path)
    assert ff_otel.record_user_event("carol", "s3", "session_start", {}) is False
    assert ff_otel.opt_in("carol")
    assert ff_otel.record_user_event("carol", "s4", "session_start", {}) is True
    events = stored_events(restarted)
    carol = restarted.pseudonymizer.user("carol") if restarted.pseudonymizer else ""
    assert [e["session_id"] for e in events if e["user_hash"] == carol] == [
        restarted.pseudonymizer.session("s4") if restarted.pseudonymizer else ""
    ]
    privacy = records(restarted.layout.privacy_events)
    assert [p["event_type"] for p in privacy] == ["opt_out", "opt_in"]
    assert carol.encode() not in restarted.layout.privacy_events.read_bytes()


def test_do_not_track_is_honoured(handle: ff_otel.FFOtel) -> None:
    assert ff_otel.record_user_event("erin", "s", "page_view", {"dnt": True}) is False
    assert ff_otel.record_user_event("erin", "s", "page_view", {"do_not_track": "1"}) is False
    assert ff_otel.record_user_event("erin", "s", "page_view", {"dnt": False}) is True
    (event,) = stored_events(handle)
    assert "dnt" not in event["data"]


def test_explicit_consent_is_required_when_configured(tmp_path: Path) -> None:
    handle = ff_otel.configure(
        base_path=tmp_path,
        analytics=FFAnalyticsConfigDTO(
            privacy_config=FFAnalyticsPrivacyConfigDTO(require_explicit_consent=True)
        ),
    )
    assert ff_otel.record_user_event("frank", "s", "session_start", {}) is False
    ff_otel.opt_in("frank")
    assert ff_otel.record_user_event("frank", "s", "session_start", {}) is True
    assert len(stored_events(handle)) == 1


def test_opt_out_can_be_switched_off(tmp_path: Path) -> None:
    handle = ff_otel.configure(
        base_path=tmp_path,
        analytics=FFAnalyticsConfigDTO(
            privacy_config=FFAnalyticsPrivacyConfigDTO(allow_user_opt_out=False)
        ),
    )
    assert ff_otel.opt_out("gina") is False
    assert ff_otel.record_user_event("gina", "s", "session_start", {}) is True
    assert len(stored_events(handle)) == 1


def test_sampling_keeps_or_drops_whole_users(tmp_path: Path) -> None:
    handle = ff_otel.configure(
        base_path=tmp_path,
        analytics=FFAnalyticsConfigDTO(enable_data_sampling=True, sampling_rate=0.5),
    )
    for user in range(200):
        for step in range(5):
            ff_otel.record_user_event(f"user-{user}", f"s-{user}", "page_view", {"step": step})
    per_user: dict[str, int] = {}
    for event in stored_events(handle):
        per_user[event["user_hash"]] = per_user.get(event["user_hash"], 0) + 1
    assert set(per_user.values()) == {5}  # never part of a user
    assert 60 <= len(per_user) <= 140


def _two_users(handle: ff_otel.FFOtel) -> None:
    for user in ("hana", "ivan"):
        ff_otel.record_user_event(user, f"{user}-s1", "session_start", {"platform": "web"})
        ff_otel.record_user_event(user, f"{user}-s1", "feature_usage", {"features": ["export"]})
        ff_otel.record_user_event(user, f"{user}-s1", "session_end", {"duration": 60})
        with ff_otel.span("request", attributes={"user.id": user}):
            pass
    assert ff_otel.force_flush()
    assert ff_otel.force_flush()


def test_erasure_removes_every_record_of_the_user_and_nothing_else(
    handle: ff_otel.FFOtel,
) -> None:
    _two_users(handle)
    assert handle.pseudonymizer is not None
    hana, ivan = handle.pseudonymizer.user("hana"), handle.pseudonymizer.user("ivan")
    # An older, rotated and compressed segment holds the user too.
    rotated = handle.layout.user_analytics_path / "behavior_patterns.20260101T000000.jsonl.gz"
    rotated.write_bytes(gzip.compress(handle.layout.behavior_patterns.read_bytes()))
    before_ivan = store_bytes(handle.layout.base_path).count(ivan.encode())

    removed = ff_otel.erase_user("hana")

    on_disk = store_bytes(handle.layout.base_path)
    assert removed >= 10
    assert hana.encode() not in on_disk
    assert on_disk.count(ivan.encode()) == before_ivan
    (erasure,) = [p for p in records(handle.layout.privacy_events) if p["event_type"] == "erasure"]
    assert erasure["records_removed"] == removed
    assert "user_analytics/behavior_patterns.20260101T000000.jsonl.gz" in erasure["files"]

    # The collector goes on from where it was: nothing is summarised twice.
    sessions_before = len(records(handle.layout.session_analytics))
    ff_otel.record_user_event("ivan", "ivan-s2", "session_start", {})
    ff_otel.record_user_event("ivan", "ivan-s2", "session_end", {})
    assert ff_otel.force_flush()
    assert len(records(handle.layout.session_analytics)) == sessions_before + 1


def test_access_export_returns_only_that_users_records(handle: ff_otel.FFOtel) -> None:
    _two_users(handle)
    exported = ff_otel.export_user_data("ivan")
    assert handle.pseudonymizer is not None
    ivan = handle.pseudonymizer.user("ivan")
    files = {item["file"] for item in exported}
    assert "user_analytics/behavior_patterns.jsonl" in files
    assert "system_metrics/spans.jsonl" in files
    assert all(ivan in str(item["record"]) for item in exported)
    assert any(p["event_type"] == "access_export" for p in records(handle.layout.privacy_events))


def test_privacy_requests_need_a_store(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not configured"):
        ff_otel.erase_user("x")
    with pytest.raises(ff_otel.StoreError, match="no ff-otel store"):
        ff_otel.export_user_data("x", base_path=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="user_id"):
        ff_otel.erase_user("", base_path=tmp_path)


def test_raw_ids_are_kept_only_when_anonymisation_is_switched_off(tmp_path: Path) -> None:
    handle = ff_otel.configure(
        base_path=tmp_path,
        analytics=FFAnalyticsConfigDTO(
            privacy_config=FFAnalyticsPrivacyConfigDTO(anonymize_user_data=False)
        ),
    )
    ff_otel.record_user_event("jules", "s", "session_start", {})
    (event,) = stored_events(handle)
    assert event["user_hash"] == "jules"
    kinds = [p["event_type"] for p in records(handle.layout.privacy_events)]
    assert "anonymization_disabled" in kinds
    assert ff_otel.erase_user("jules") >= 1
    assert b'"jules"' not in store_bytes(tmp_path / "analytics" / "user_analytics")


def test_key_file_is_not_world_readable_even_with_a_loose_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        handle = ff_otel.configure(base_path=tmp_path)
    finally:
        os.umask(previous)
    mode = stat.S_IMODE((handle.layout.analytics_path / ".hash_key").stat().st_mode)
    assert mode == 0o600


def test_an_opt_out_made_in_another_process_is_honoured_here(handle: ff_otel.FFOtel) -> None:
    # README, Consent: opt_out/opt_in are "honoured in every process (re-read
    # every 0.25 s)". Another process on the same store opts the user out.
    assert ff_otel.record_user_event("grace", "s0", "session_start", {}) is True
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, ff_otel; ff_otel.configure(base_path=sys.argv[1], system_metrics=False);"
            " sys.exit(0 if ff_otel.opt_out('grace') else 1)",
            str(handle.layout.base_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert other.returncode == 0, other.stderr
    wait_until(lambda: ff_otel.record_user_event("grace", "s1", "page_view", {}) is False)
    assert ff_otel.record_user_event("grace", "s2", "page_view", {}) is False
    assert ff_otel.record_user_event("heidi", "s3", "page_view", {}) is True
