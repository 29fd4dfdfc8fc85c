"""Where everything lives under ``<base_path>/analytics/``.

The spec's hierarchy, names unchanged, plus the files it leaves unnamed
(spans, metric points, logs, alerts) beside the ones they belong with.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from ff_otel.core import clock
from ff_otel.spec.config import FFAnalyticsConfigDTO
from ff_otel.store.documents import read_json, write_json_atomic

SPEC_STREAMS: dict[str, tuple[str, ...]] = {
    "system_metrics": (
        "performance.jsonl",
        "health_checks.jsonl",
        "resource_usage.jsonl",
        "error_rates.jsonl",
    ),
    "user_analytics": (
        "behavior_patterns.jsonl",
        "feature_usage.jsonl",
        "session_analytics.jsonl",
        "engagement_metrics.jsonl",
    ),
    "business_intelligence": (
        "usage_trends.jsonl",
        "optimization_insights.jsonl",
        "capacity_planning.jsonl",
        "roi_analytics.jsonl",
    ),
    "compliance": (
        "audit_logs.jsonl",
        "privacy_events.jsonl",
        "security_events.jsonl",
    ),
}
"""The spec's JSONL files by folder (``regulatory_reports.json`` is a document)."""

EXTRA_STREAMS: dict[str, tuple[str, ...]] = {
    "system_metrics": ("spans.jsonl", "metrics.jsonl", "logs.jsonl", "alerts.jsonl"),
}
"""Files the spec leaves unnamed, documented in the README."""


EXTRA_FOLDERS = ("reports",)
"""Folders the spec leaves unnamed: generated reports."""


STREAM_FILES = {
    "spans": "system_metrics/spans.jsonl",
    "metrics": "system_metrics/metrics.jsonl",
    "logs": "system_metrics/logs.jsonl",
    "alerts": "system_metrics/alerts.jsonl",
    "performance": "system_metrics/performance.jsonl",
    "health_checks": "system_metrics/health_checks.jsonl",
    "resource_usage": "system_metrics/resource_usage.jsonl",
    "error_rates": "system_metrics/error_rates.jsonl",
    "events": "user_analytics/behavior_patterns.jsonl",
    "feature_usage": "user_analytics/feature_usage.jsonl",
    "sessions": "user_analytics/session_analytics.jsonl",
    "engagement": "user_analytics/engagement_metrics.jsonl",
    "usage_trends": "business_intelligence/usage_trends.jsonl",
    "optimization_insights": "business_intelligence/optimization_insights.jsonl",
    "capacity_planning": "business_intelligence/capacity_planning.jsonl",
    "roi_analytics": "business_intelligence/roi_analytics.jsonl",
    "audit_logs": "compliance/audit_logs.jsonl",
    "privacy_events": "compliance/privacy_events.jsonl",
    "security_events": "compliance/security_events.jsonl",
}
"""Each stream's file by the name ``ff_otel.query`` and the exports know it by."""


class StoreError(OSError):
    """The store cannot be created or written; the message names the path."""


class StoreLayout:
    """Paths of one store. Creating a layout touches nothing; :meth:`initialize` does."""

    def __init__(self, base_path: Path | str) -> None:
        self.base_path = Path(base_path)
        self.analytics_path = self.base_path / "analytics"
        self.system_metrics_path = self.analytics_path / "system_metrics"
        self.user_analytics_path = self.analytics_path / "user_analytics"
        self.business_intelligence_path = self.analytics_path / "business_intelligence"
        self.compliance_path = self.analytics_path / "compliance"
        self.metadata_path = self.analytics_path / "analytics_metadata.json"
        self.regulatory_reports_path = self.compliance_path / "regulatory_reports.json"

        sm = self.system_metrics_path
        self.spans = sm / "spans.jsonl"
        self.metrics = sm / "metrics.jsonl"
        self.logs = sm / "logs.jsonl"
        self.alerts = sm / "alerts.jsonl"
        self.performance = sm / "performance.jsonl"
        self.health_checks = sm / "health_checks.jsonl"
        self.resource_usage = sm / "resource_usage.jsonl"
        self.error_rates = sm / "error_rates.jsonl"

        ua = self.user_analytics_path
        self.behavior_patterns = ua / "behavior_patterns.jsonl"
        self.feature_usage = ua / "feature_usage.jsonl"
        self.session_analytics = ua / "session_analytics.jsonl"
        self.engagement_metrics = ua / "engagement_metrics.jsonl"

        co = self.compliance_path
        self.audit_logs = co / "audit_logs.jsonl"
        self.privacy_events = co / "privacy_events.jsonl"
        self.security_events = co / "security_events.jsonl"

    def stream(self, folder: str, name: str) -> Path:
        """The path of one JSONL stream, e.g. ``stream("compliance", "audit_logs.jsonl")``."""
        return self.analytics_path / folder / name

    def all_streams(self) -> list[Path]:
        """Every JSONL stream the store knows, spec files first."""
        paths: list[Path] = []
        for table in (SPEC_STREAMS, EXTRA_STREAMS):
            for folder, names in table.items():
                paths.extend(self.stream(folder, name) for name in names)
        return paths

    def initialize(self, analytics: FFAnalyticsConfigDTO) -> dict[str, Any]:
        """Create the hierarchy and write ``analytics_metadata.json``; returns the metadata.

        Idempotent: an existing store keeps its id and ``initialized_at``; the
        configuration recorded in the metadata is brought up to date.
        """
        try:
            for folder in (*SPEC_STREAMS, *EXTRA_FOLDERS):
                (self.analytics_path / folder).mkdir(parents=True, exist_ok=True)
            for path in self.all_streams():
                path.touch(exist_ok=True)
            previous = self._read_metadata()
            metadata = {
                "analytics_system_id": previous.get("analytics_system_id") or secrets.token_hex(8),
                "initialized_at": previous.get("initialized_at") or clock.now_iso(),
                "updated_at": clock.now_iso(),
                "analytics_level": analytics.analytics_level,
                "privacy_config": analytics.privacy_config.to_dict(),
                "collection_config": {
                    "interval_seconds": analytics.collection_interval_seconds,
                    "aggregation_periods": list(analytics.aggregation_periods),
                    "real_time_enabled": analytics.enable_real_time_metrics,
                },
                "store_format_version": 1,
            }
            write_json_atomic(self.metadata_path, metadata)
        except OSError as exc:
            raise StoreError(
                f"cannot create the ff-otel store under {self.base_path}: "
                f"{exc.strerror or exc} ({exc.filename or self.analytics_path})"
            ) from exc
        return metadata

    def check_writable(self) -> None:
        """Raise :class:`StoreError` unless every folder of the store accepts new files."""
        for folder in SPEC_STREAMS:
            path = self.analytics_path / folder
            if not os.access(path, os.W_OK | os.X_OK):
                raise StoreError(f"the ff-otel store folder is not writable: {path}")

    def _read_metadata(self) -> dict[str, Any]:
        try:
            data = read_json(self.metadata_path)
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def stream_path(layout: StoreLayout, stream: str) -> Path:
    """The file of ``stream`` (a name of :data:`STREAM_FILES` or a ``.jsonl`` path under
    ``analytics/``), resolved; ``ValueError`` for anything else."""
    relative = STREAM_FILES.get(stream, stream)
    path = (layout.analytics_path / relative).resolve()
    if not relative.endswith(".jsonl") or layout.analytics_path.resolve() not in path.parents:
        raise ValueError(f"unknown stream {stream!r}; known: {', '.join(STREAM_FILES)}")
    return path
