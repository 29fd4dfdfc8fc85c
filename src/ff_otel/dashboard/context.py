"""The store a dashboard shows, the backend its telemetry is queried from, and the
configuration it judges them by.

Over a query URL (the fleet's ClickHouse) the telemetry pages (charts, operations, traces,
errors, explorers, BI, the SQL console) are the fleet's; what only a host's store holds
(health checks, interval snapshots, resource readings, consent and the audit trail) is not
in ClickHouse, and :data:`PER_HOST` says so wherever it would be shown. Alerts are this
store's: where ``ff-otel monitor --query-url`` keeps the fleet's alert state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ff_otel.core import clock
from ff_otel.settings.model import FFOtelSettings
from ff_otel.settings.resolution import resolve_settings
from ff_otel.store.documents import read_json
from ff_otel.store.layout import StoreLayout
from ff_otel.store.reader import read_recent

_LATEST_BYTES = (64 * 1024, 4 * 1024 * 1024)
PER_HOST = (
    "kept per host in each host's store, not in the fleet's ClickHouse: "
    "run the dashboard on a host's store to see it"
)


@dataclass
class StoreView:
    """One store, read-only except for the alert operations.

    Thresholds come from the configuration the operator's environment
    resolves (``FF_OTEL_*``, ``FF_OTEL_CONFIG``), as ``configure()`` would;
    the collection interval and the retention policy from what the store's
    writer recorded in ``analytics_metadata.json``.
    """

    layout: StoreLayout
    query_url: str = ""
    """Where the telemetry is queried: "" for this store, else the fleet's ClickHouse
    (:func:`ff_otel.sql`'s ``query_url``)."""
    settings: FFOtelSettings = field(init=False)
    metadata: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.settings = resolve_settings({"base_path": self.layout.base_path})
        self.metadata = self._read_metadata()

    @classmethod
    def at(cls, base_path: Path | str, query_url: str = "") -> StoreView:
        return cls(StoreLayout(base_path), query_url)

    @property
    def fleet(self) -> bool:
        """Whether the telemetry comes from the fleet's ClickHouse rather than this store."""
        return bool(self.query_url)

    def _read_metadata(self) -> dict[str, Any]:
        try:
            data = read_json(self.layout.metadata_path)
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def interval_seconds(self) -> float:
        collection = self.metadata.get("collection_config") or {}
        value = collection.get("interval_seconds")
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
        return float(self.settings.analytics.collection_interval_seconds)

    def retention_days(self) -> dict[str, int]:
        """Retention per data class as the store's writer configured it."""
        recorded = self.metadata.get("privacy_config") or {}
        privacy = self.settings.analytics.privacy_config
        days = {
            "raw": recorded.get("raw_data_retention_days", privacy.raw_data_retention_days),
            "aggregated": recorded.get(
                "aggregated_data_retention_days", privacy.aggregated_data_retention_days
            ),
            "compliance": recorded.get(
                "compliance_data_retention_days", privacy.compliance_data_retention_days
            ),
        }
        return {name: int(value) for name, value in days.items()}


def latest(path: Path) -> dict[str, Any] | None:
    """The newest complete record of a stream (None when it has none)."""
    for budget in _LATEST_BYTES:
        records = read_recent(path, max_bytes=budget)
        if records:
            return records[-1]
    return None


def epoch_ms(stamp: str) -> float:
    """A store timestamp as milliseconds since the epoch (what the page's charts use)."""
    return clock.parse_instant(stamp).timestamp() * 1000.0


def iso(moment: datetime) -> str:
    return clock.format_iso(moment)
