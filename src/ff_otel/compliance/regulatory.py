"""``compliance/regulatory_reports.json``: the store's logging and data inventory for auditors.

Regenerated once a day by the collector and on demand. It states the retention
policy in force per data class; an inventory of every stream (what it holds,
whether it holds personal data, records, oldest and newest record, bytes,
segments); the audit chain's verification; the privacy requests served
(opt-outs, opt-ins, erasures, access exports) with their timings; and a
summary of security events. This is the logging inventory OWASP ASVS asks for.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ff_otel.compliance.audit import verify
from ff_otel.compliance.retention import data_class, retention_days
from ff_otel.core import clock
from ff_otel.spec.config import FFAnalyticsConfigDTO
from ff_otel.sql.inventory import stream_counts
from ff_otel.store.documents import write_json_atomic
from ff_otel.store.layout import StoreLayout
from ff_otel.store.reader import read_records, segment_paths

_HOLDS = {
    "performance.jsonl": ("interval performance snapshots (FFSystemMetricsDTO)", False),
    "health_checks.jsonl": ("health check results per interval", False),
    "resource_usage.jsonl": ("host and process resource readings", False),
    "error_rates.jsonl": ("failed spans, error logs and interval error summaries", True),
    "spans.jsonl": ("finished spans (scrubbed attributes)", True),
    "metrics.jsonl": ("application metric points", False),
    "logs.jsonl": ("log records (scrubbed)", True),
    "alerts.jsonl": ("alert lifecycle, silences and deliveries", False),
    "behavior_patterns.jsonl": ("user events under pseudonyms", True),
    "feature_usage.jsonl": ("feature use under pseudonyms", True),
    "session_analytics.jsonl": ("closed user sessions under pseudonyms", True),
    "engagement_metrics.jsonl": ("engagement per session under pseudonyms", True),
    "usage_trends.jsonl": ("business intelligence: users and features (aggregates)", False),
    "optimization_insights.jsonl": ("business intelligence: bottlenecks", False),
    "capacity_planning.jsonl": ("business intelligence: capacity", False),
    "roi_analytics.jsonl": ("business intelligence: cost and revenue", False),
    "audit_logs.jsonl": ("hash-chained audit trail", False),
    "privacy_events.jsonl": ("consent changes and privacy requests (references only)", False),
    "security_events.jsonl": ("security events (scrubbed)", True),
}


def build(layout: StoreLayout, analytics: FFAnalyticsConfigDTO) -> dict[str, Any]:
    days = retention_days(analytics)
    chain = verify(layout.audit_logs)
    return {
        "generated_at": clock.now_iso(),
        "store": str(layout.analytics_path),
        "retention_policy_days": days,
        "compression_after_days": analytics.compression_age_days
        if analytics.enable_data_compression
        else None,
        "pseudonymisation": {
            "user_ids": "keyed HMAC-SHA256"
            if analytics.privacy_config.anonymize_user_data
            else "off",
            "identifier_attributes": "keyed HMAC-SHA256"
            if analytics.privacy_config.hash_user_identifiers
            else "off",
            "content_excluded": analytics.privacy_config.exclude_sensitive_content,
        },
        "inventory": _inventory(layout),
        "audit_chain": {
            "ok": chain.ok,
            "records": chain.records,
            "first_bad_index": chain.first_bad_index,
            "reason": chain.reason,
            "sealed": chain.sealed,
            "kind": chain.kind,
            "anchored": chain.anchored,
            "gaps": len(chain.gaps),
        },
        "privacy_requests": _privacy_requests(layout),
        "security_events": _security_summary(layout),
    }


def write(layout: StoreLayout, analytics: FFAnalyticsConfigDTO) -> dict[str, Any]:
    report = build(layout, analytics)
    write_json_atomic(layout.regulatory_reports_path, report)
    return report


def _inventory(layout: StoreLayout) -> list[dict[str, Any]]:
    # DuckDB counts the records from their timestamps alone (see ff_otel.sql.inventory).
    streams = [
        path
        for path in sorted(layout.analytics_path.rglob("*.jsonl"))
        # a segment is counted with its stream
        if not path.name.startswith(".") and len(path.name.split(".")) <= 2
    ]
    counts = stream_counts(layout, streams)
    items = []
    for path in streams:
        holds, personal = _HOLDS.get(path.name, ("records", True))
        found = counts[path]
        segments = segment_paths(path)
        items.append(
            {
                "file": str(path.relative_to(layout.analytics_path)),
                "holds": holds,
                "personal_data": personal,
                "data_class": data_class(layout, path),
                "records": found.records,
                "oldest": found.oldest,
                "newest": found.newest,
                "bytes": sum(p.stat().st_size for p in segments if p.exists()),
                "segments": len(segments),
                "unreadable_lines": found.unreadable,
            }
        )
    return items


def _privacy_requests(layout: StoreLayout) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    durations: dict[str, list[float]] = {}
    for record in read_records(layout.privacy_events):
        kind = str(record.get("event_type"))
        counts[kind] += 1
        if isinstance(record.get("duration_ms"), (int, float)):
            durations.setdefault(kind, []).append(float(record["duration_ms"]))
    return {
        kind: {
            "count": count,
            "mean_duration_ms": round(sum(durations[kind]) / len(durations[kind]), 3)
            if kind in durations
            else None,
        }
        for kind, count in sorted(counts.items())
    }


def _security_summary(layout: StoreLayout) -> dict[str, Any]:
    by_type: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    newest = None
    for record in read_records(layout.security_events):
        by_type[str(record.get("event_type"))] += 1
        by_severity[str(record.get("severity"))] += 1
        newest = record.get("timestamp")
    return {
        "total": sum(by_type.values()),
        "by_type": dict(by_type),
        "by_severity": dict(by_severity),
        "latest": newest,
    }
