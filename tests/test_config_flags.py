"""The config's switches: turning one off stops what it names, in the files a user reads.

Each test runs a real ``configure()`` on a fresh store (or the spec's facade on
it), does real work through the public API and reads the store's files back.
The external-analytics test sends to a real rotel collector.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber, get_logger

import ff_otel
from ff_otel import AlertRule, FFAnalyticsConfigDTO, FFAnalyticsPrivacyConfigDTO
from ff_otel.core import clock
from ff_otel.pipeline import reports
from ff_otel.store.appender import append_records

from .conftest import Collector, records

CLI = Path(sys.executable).with_name("ff-otel")
# Midnight UTC today: backfilled history lives in the days before it.
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def configure(base_path: Path, **analytics: Any) -> ff_otel.FFOtel:
    """ff-otel on ``base_path`` with a one-second interval and the given analytics switches."""
    privacy = analytics.pop("privacy", None)
    config = FFAnalyticsConfigDTO(collection_interval_seconds=1, **analytics)
    if privacy is not None:
        config.privacy_config = FFAnalyticsPrivacyConfigDTO(**privacy)
    return ff_otel.configure(
        base_path=base_path, service_name="flags", analytics=config, system_metrics=False
    )


def flushed() -> None:
    # Twice: the first writes what was recorded, the collector folds it on the second.
    assert ff_otel.force_flush()
    assert ff_otel.force_flush()


def manager_for(base_path: Path, **analytics: Any) -> ff_otel.FFMetricsCollectionManager:
    config = ff_otel.FFConfigurationManagerConfigDTO()
    config.storage.base_path = base_path
    config.analytics = FFAnalyticsConfigDTO(enable_real_time_metrics=False, **analytics)
    return ff_otel.FFMetricsCollectionManager(config)


def latest(manager: ff_otel.FFMetricsCollectionManager, name: str) -> dict[str, Any]:
    return records(manager.business_intelligence_path / name)[-1]


def eventually(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Flush until ``check()`` holds (the collector ticks on every flush)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ff_otel.force_flush()
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"never saw {what}")


@ff_otel.instrument(component="checkout")
def pay(fail: bool) -> None:
    if fail:
        raise RuntimeError("card declined")


def traffic(requests: int = 10, failures: int = 2) -> None:
    for i in range(requests):
        with contextlib.suppress(RuntimeError):
            pay(fail=i < failures)


def summaries(handle: ff_otel.FFOtel) -> list[dict[str, Any]]:
    return [r for r in records(handle.layout.error_rates) if r["record_type"] == "interval_summary"]


def backfill_sessions(days: list[tuple[int, int]], features: bool = True) -> None:
    """``(days before today, users)``: each user one rated session that day, using "search"."""
    for ago, users in days:
        start = TODAY - timedelta(days=ago) + timedelta(hours=10)
        for n in range(users):
            user, session = f"user-{n}", f"user-{n}-day-{ago}"
            events: list[tuple[str, dict[str, Any], timedelta]] = [
                ("session_start", {"platform": "web"}, timedelta()),
                (
                    "feature_usage",
                    {"features": ["search"]} if features else {},
                    timedelta(minutes=1),
                ),
                ("session_end", {"duration": 300, "rating": 4}, timedelta(minutes=5)),
            ]
            for kind, data, offset in events:
                assert ff_otel.record_user_event(
                    user, session, kind, data, timestamp=start + offset
                )


# --- performance monitoring -------------------------------------------------------------------


def test_performance_monitoring_off_stores_no_snapshots_while_health_and_alerts_run(
    tmp_path: Path,
) -> None:
    handle = ff_otel.configure(
        base_path=tmp_path,
        analytics=FFAnalyticsConfigDTO(
            collection_interval_seconds=1, enable_performance_monitoring=False
        ),
        system_metrics=False,
        alert_rules=[
            AlertRule(name="errors_seen", series="error_rate_percent", threshold=10, for_seconds=0)
        ],
    )
    traffic(requests=5, failures=5)
    eventually(
        lambda: any(
            r.get("rule") == "errors_seen" and r["event"] == "fired"
            for r in records(handle.layout.alerts)
        ),
        "the error-rate alert fire",
    )
    assert records(handle.layout.performance) == []
    assert summaries(handle) == []
    assert records(handle.layout.health_checks)  # health still runs every interval
    # Failed spans are still logged one by one: that is the exporter's error log.
    assert (
        len([r for r in records(handle.layout.error_rates) if r["record_type"] == "span_error"])
        == 5
    )


def test_track_error_rates_off_keeps_the_error_log_but_no_interval_summaries(
    tmp_path: Path,
) -> None:
    handle = configure(tmp_path, track_error_rates=False)
    traffic()
    flushed()
    assert summaries(handle) == []
    failed = [r for r in records(handle.layout.error_rates) if r["record_type"] == "span_error"]
    assert len(failed) == 2 and failed[0]["message"] == "card declined"
    assert records(handle.layout.performance)  # snapshots are performance monitoring's


def test_track_response_times_off_leaves_latency_out_of_stored_records(tmp_path: Path) -> None:
    # Level full stores per-component latency percentiles in each summary.
    on = configure(tmp_path / "on", analytics_level="full")
    traffic()
    flushed()
    snapshot = next(s for s in records(on.layout.performance) if s["error_count"])
    summary = next(s for s in summaries(on) if s["error_count"])
    assert "response_time_ms" in snapshot and "checkout" in snapshot["component_response_times"]
    assert "checkout" in summary["component_latency_ms"]

    off = configure(tmp_path / "off", analytics_level="full", track_response_times=False)
    traffic()
    flushed()
    snapshot = next(s for s in records(off.layout.performance) if s["error_count"])
    summary = next(s for s in summaries(off) if s["error_count"])
    assert "response_time_ms" not in snapshot and "component_response_times" not in snapshot
    assert "component_latency_ms" not in summary
    # Everything else is still measured.
    assert "checkout" in snapshot["component_error_rates"]
    assert "checkout" in summary["component_error_rates"] and summary["top_errors"]
    assert snapshot["throughput_requests_per_second"] > 0


def test_track_resource_usage_off_reads_no_resources_at_all(tmp_path: Path) -> None:
    handle = ff_otel.configure(
        base_path=tmp_path,
        analytics=FFAnalyticsConfigDTO(collection_interval_seconds=1, track_resource_usage=False),
        # system_metrics keeps its default (True): the switch alone stops sampling.
    )
    assert handle.pipeline is not None and handle.pipeline.sampler is None
    ff_otel.counter("orders.placed").add(1)
    traffic()
    flushed()
    assert records(handle.layout.resource_usage) == []
    names = {p["name"] for p in records(handle.layout.metrics)}
    assert "orders.placed" in names
    assert not [n for n in names if n.startswith(("system.", "process."))]
    snapshot = records(handle.layout.performance)[-1]
    assert "cpu_usage_percent" not in snapshot and "memory_usage_mb" not in snapshot
    assert records(handle.layout.health_checks)


async def test_the_facade_honours_track_resource_usage(tmp_path: Path) -> None:
    manager = manager_for(tmp_path, track_resource_usage=False)
    assert await manager.initialize_analytics_system()
    snapshot = await manager.collect_system_metrics()
    assert snapshot.cpu_usage_percent == 0.0  # the DTO's default: nothing was read
    assert records(manager.system_metrics_path / "resource_usage.jsonl") == []
    stored = records(manager.system_metrics_path / "performance.jsonl")[-1]
    assert "cpu_usage_percent" not in stored


# --- user analytics -----------------------------------------------------------------------------


def test_track_user_behavior_off_records_no_event_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    handle = configure(tmp_path, track_user_behavior=False)
    with caplog.at_level(logging.WARNING, logger="ff_otel.analytics"):
        assert ff_otel.record_user_event("u1", "s1", "session_start", {}) is False
        assert ff_otel.record_user_event("u1", "s1", "feature_usage", {"feature": "x"}) is False
    said = [r.getMessage() for r in caplog.records if "track_user_behavior" in r.getMessage()]
    assert said == ["ff-otel: user events are not recorded: track_user_behavior is false"]
    assert handle.analytics is not None
    assert handle.analytics.dropped["track_user_behavior is false"] == 2
    flushed()
    layout = handle.layout
    for path in (
        layout.behavior_patterns,
        layout.feature_usage,
        layout.session_analytics,
        layout.engagement_metrics,
    ):
        assert records(path) == [], path.name


async def test_track_feature_usage_off_derives_nothing_from_features(tmp_path: Path) -> None:
    handle = configure(tmp_path, track_feature_usage=False)
    backfill_sessions([(2, 3), (1, 3)])
    flushed()
    events = records(handle.layout.behavior_patterns)
    assert len(events) == 18
    assert not [e for e in events if "features_used" in e]
    used = next(e for e in events if e["event_type"] == "feature_usage")
    assert used["data"] == {"features": ["search"]}  # the event's own data, as sent
    assert records(handle.layout.feature_usage) == []
    sessions = records(handle.layout.session_analytics)
    assert len(sessions) == 6
    assert not [s for s in sessions if "features_used" in s or "feature_adoption_rate" in s]

    manager = manager_for(tmp_path, track_feature_usage=False)
    dto = await manager.generate_business_intelligence("day", end=TODAY)
    assert dto.active_users == 3
    assert dto.most_used_features == [] and dto.feature_adoption_rates == {}
    usage = latest(manager, "usage_trends.jsonl")
    for name in ("most_used_features", "feature_adoption_rates", "feature_abandonment_rates"):
        assert name not in usage, name
    assert usage["active_users"] == 3
    ff_otel.shutdown()
    (report,) = [
        p
        for p in ff_otel.generate_report(
            "day", end=TODAY, base_path=tmp_path, analytics=manager.analytics_config
        )
        if p.suffix == ".json"
    ]
    assert "features" not in json.loads(report.read_text())


async def test_track_session_quality_off_tracks_no_sessions(tmp_path: Path) -> None:
    handle = configure(tmp_path, track_session_quality=False)
    assert handle.pipeline is not None and handle.pipeline.sessions is None
    backfill_sessions([(2, 2), (1, 2)])
    flushed()
    assert len(records(handle.layout.behavior_patterns)) == 12
    assert len(records(handle.layout.feature_usage)) == 4
    assert records(handle.layout.session_analytics) == []
    assert records(handle.layout.engagement_metrics) == []
    snapshot = records(handle.layout.performance)[-1]
    for name in ("active_sessions", "concurrent_users", "user_satisfaction_score"):
        assert name not in snapshot, name

    manager = manager_for(tmp_path, track_session_quality=False)
    await manager.generate_business_intelligence("day", end=TODAY)
    usage = latest(manager, "usage_trends.jsonl")
    assert "average_session_duration_minutes" not in usage
    assert "user_satisfaction_trends" not in usage
    assert usage["active_users"] == 2 and usage["most_used_features"][0]["feature"] == "search"


# --- business intelligence and reports ----------------------------------------------------------


def test_generate_usage_reports_off_schedules_none_but_reports_on_demand(tmp_path: Path) -> None:
    yesterday = TODAY - timedelta(days=1)
    scheduled = reports_dir = None
    for name, switch in (("on", True), ("off", False)):
        handle = configure(
            tmp_path / name, generate_usage_reports=switch, aggregation_delay_minutes=0
        )
        backfill_sessions([(1, 2)])
        flushed()
        reports_dir = handle.layout.analytics_path / "reports" / "day"
        scheduled = reports_dir / f"{yesterday:%Y-%m-%d}.json"
        if switch:
            assert scheduled.exists()  # the collector wrote yesterday's report
    assert scheduled is not None and reports_dir is not None
    assert not reports_dir.exists()
    assert reports.due_reports(handle.layout, handle.settings.analytics, clock.now()) == []
    written = ff_otel.generate_report("day", end=TODAY)
    assert scheduled in written and scheduled.exists()


async def test_trend_analysis_off_leaves_out_every_trend(tmp_path: Path) -> None:
    configure(tmp_path)
    backfill_sessions([(2, 2), (1, 3)])
    flushed()
    ff_otel.shutdown()
    on = manager_for(tmp_path)
    dto = await on.generate_business_intelligence("day", end=TODAY)
    assert dto.user_growth_rate_percent == 50.0 and dto.user_satisfaction_trends == [4.0]
    assert latest(on, "usage_trends.jsonl")["retention_cohorts"]

    off = manager_for(tmp_path, enable_trend_analysis=False)
    dto = await off.generate_business_intelligence("day", end=TODAY)
    usage = latest(off, "usage_trends.jsonl")
    for name in ("user_growth_rate_percent", "user_satisfaction_trends", "retention_cohorts"):
        assert name not in usage, name
    assert "resource_utilization_trends" not in latest(off, "capacity_planning.jsonl")
    assert dto.user_growth_rate_percent == 0.0 and dto.user_satisfaction_trends == []
    # Counts of this window are not trends: they stay.
    assert usage["active_users"] == 3 and usage["lifecycle"]["returning"] == 2
    assert usage["stickiness"]["dau"] == 3


def _rising_memory(layout: ff_otel.StoreLayout, days: int) -> None:
    # A week of hourly resource readings in the collector's own record shape:
    # memory climbs from 40% towards the 85% threshold. (Taking them live
    # would take the week.)
    start = TODAY - timedelta(days=days)
    append_records(
        layout.resource_usage,
        [
            {
                "timestamp": clock.format_iso(start + timedelta(hours=h)),
                "cpu_usage_percent": 50.0,
                "memory_usage_percent": 40 + 30 * h / (24 * days),
                "disk_usage_percent": 30.0,
            }
            for h in range(24 * days)
        ],
    )


async def test_forecasts_only_with_predictive_analytics(tmp_path: Path) -> None:
    handle = configure(tmp_path)
    backfill_sessions([(ago, 8 - ago) for ago in range(7, 0, -1)])  # 1, 2, ... 7 users a day
    flushed()
    ff_otel.shutdown()
    _rising_memory(handle.layout, 7)

    default = manager_for(tmp_path)
    assert default.analytics_config.enable_predictive_analytics is False  # the spec's default
    dto = await default.generate_business_intelligence("week", end=TODAY)
    capacity = latest(default, "capacity_planning.jsonl")
    assert "projected_growth_30_days" not in capacity
    assert dto.projected_growth_30_days == 0.0
    assert capacity["resource_utilization_trends"][
        "memory_usage_percent"
    ]  # a trend, not a forecast
    assert not [r for r in dto.scaling_recommendations if "projected" in r or "reaches" in r]

    predictive = manager_for(tmp_path, enable_predictive_analytics=True)
    dto = await predictive.generate_business_intelligence("week", end=TODAY)
    capacity = latest(predictive, "capacity_planning.jsonl")
    assert capacity["projected_growth_30_days"] == dto.projected_growth_30_days > 50
    advice = " | ".join(dto.scaling_recommendations)
    assert "memory_usage_percent rising" in advice and "reaches 85%" in advice
    assert "daily active users projected" in advice


# --- privacy: external analytics ----------------------------------------------------------------


def test_user_events_reach_a_collector_only_when_external_analytics_allow_it(
    collector: Collector, tmp_path: Path
) -> None:
    def phase(name: str, **privacy: Any) -> ff_otel.FFOtel:
        handle = ff_otel.configure(
            base_path=tmp_path / "store",
            service_name="ext-analytics",
            otlp_endpoint=collector.grpc_endpoint,
            analytics=FFAnalyticsConfigDTO(
                collection_interval_seconds=1,
                privacy_config=FFAnalyticsPrivacyConfigDTO(**privacy),
            ),
            system_metrics=False,
        )
        assert ff_otel.record_user_event("u1", "s1", f"checkout_{name}", {})
        with ff_otel.span(f"span_{name}", component="shop"):
            pass
        # Emitted after the event through the same log pipeline: once this
        # marker is at the collector, so would the event be.
        get_logger("shop").emit(body=f"marker_{name}", severity_number=SeverityNumber.INFO)
        assert ff_otel.force_flush(10_000)
        return handle

    handle = phase("default")
    seen = collector.wait_for("span_default", "marker_default")
    assert "checkout_default" not in seen and "ff.user_event" not in seen
    # The store has it all the same.
    assert [e["event_type"] for e in records(handle.layout.behavior_patterns)] == [
        "checkout_default"
    ]

    phase("elsewhere", enable_external_analytics=True, allowed_external_services=["*.example.com"])
    seen = collector.wait_for("span_elsewhere", "marker_elsewhere")
    assert "checkout_elsewhere" not in seen

    phase("allowed", enable_external_analytics=True, allowed_external_services=["127.0.0.1"])
    seen = collector.wait_for("checkout_allowed", "ff.user_event", "marker_allowed")

    phase("anywhere", enable_external_analytics=True)
    collector.wait_for("checkout_anywhere")


def test_an_allowed_service_that_names_no_host_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match=r"not a host, host:port or URL: 'https://'"):
        FFAnalyticsPrivacyConfigDTO(allowed_external_services=["https://"])
    monkeypatch.setenv("FF_OTEL_PRIVACY_ALLOWED_EXTERNAL_SERVICES", "collector.example.com,a b/c")
    with pytest.raises(ff_otel.ConfigError, match=r"allowed_external_services.*'a b/c'"):
        ff_otel.configure(base_path=tmp_path)


# --- privacy: export restrictions ---------------------------------------------------------------


def _cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FF_OTEL_", "OTEL_"))}
    environment.update(env or {})
    return subprocess.run(
        [str(CLI), *map(str, args)],
        capture_output=True,
        text=True,
        input="",
        env=environment,
        timeout=300,
    )


def test_export_restrictions_refuse_exports_but_not_a_users_own_data(tmp_path: Path) -> None:
    store = tmp_path / "store"
    configure(store, privacy={"data_export_restrictions": ["user_analytics", "audit_logs"]})
    assert ff_otel.record_user_event("alice", "s1", "session_start", {"platform": "web"})
    traffic()
    flushed()

    with pytest.raises(
        ValueError, match=r"user_analytics/behavior_patterns.jsonl refused.*'user_analytics'"
    ):
        ff_otel.export_data(["events"], tmp_path / "events", base_path=store)
    assert not (tmp_path / "events" / "manifest.json").exists()
    with pytest.raises(ValueError, match=r"compliance/audit_logs.jsonl refused.*'audit_logs'"):
        ff_otel.export_data(["compliance"], tmp_path / "compliance", base_path=store)
    manifest = ff_otel.export_data(["spans"], tmp_path / "spans", base_path=store)
    assert manifest["files"][0]["records"] == 10
    # The data subject's right of access is not an export of the store.
    own = ff_otel.export_user_data("alice", base_path=store)
    assert [
        r["record"]["event_type"] for r in own if r["record"].get("record_type") == "event"
    ] == ["session_start"]
    denied = [
        r
        for r in records(store / "analytics" / "compliance" / "audit_logs.jsonl")
        if r["action"] == "export" and r["outcome"] == "denied"
    ]
    assert len(denied) == 2
    ff_otel.shutdown()

    # The service's restrictions hold for an operator's shell too (the store
    # records them); the CLI's one-line error, exit 2.
    done = _cli("export", "user_analytics", "-o", tmp_path / "cli", "--base-path", store)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert (
        line.startswith("ff-otel: error: export of user_analytics/") and "'user_analytics'" in line
    )
    assert done.stdout == "" and not (tmp_path / "cli").exists()
    assert _cli("export", "spans", "-o", tmp_path / "cli", "--base-path", store).returncode == 0


def test_export_restrictions_from_the_environment_and_bad_entries(tmp_path: Path) -> None:
    store = tmp_path / "store"
    configure(store)
    traffic()
    flushed()
    ff_otel.shutdown()
    restricted = {"FF_OTEL_PRIVACY_DATA_EXPORT_RESTRICTIONS": "spans,feature_usage"}
    done = _cli(
        "export", "system_metrics", "-o", tmp_path / "a", "--base-path", store, env=restricted
    )
    assert done.returncode == 2 and "'spans'" in done.stderr
    assert (
        _cli(
            "export", "logs", "-o", tmp_path / "b", "--base-path", store, env=restricted
        ).returncode
        == 0
    )

    # A restriction that names nothing must not restrict nothing.
    typo = {"FF_OTEL_PRIVACY_DATA_EXPORT_RESTRICTIONS": "user_analytic"}
    done = _cli("export", "logs", "-o", tmp_path / "c", "--base-path", store, env=typo)
    assert done.returncode == 2
    assert "'user_analytic' is not a stream, path or category" in done.stderr
