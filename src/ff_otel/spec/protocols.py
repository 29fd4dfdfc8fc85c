"""The spec's protocol interfaces for analytics and monitoring, as named there."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from ff_otel.spec.models import FFAnalyticsAlertDTO, FFBusinessIntelligenceDTO, FFSystemMetricsDTO


class AnalyticsProtocol(ABC):
    """Protocol interface for analytics and monitoring operations."""

    @abstractmethod
    async def initialize_analytics_system(self) -> bool:
        """Initialize analytics system directories and configuration."""

    @abstractmethod
    async def collect_system_metrics(self) -> FFSystemMetricsDTO:
        """Collect comprehensive system performance metrics."""

    @abstractmethod
    async def record_user_analytics(
        self, user_id: str, session_id: str, event_type: str, event_data: dict[str, Any]
    ) -> bool:
        """Record user behavior analytics with privacy controls."""

    @abstractmethod
    async def generate_business_intelligence(
        self, period: str = "day", end: datetime | None = None
    ) -> FFBusinessIntelligenceDTO:
        """Generate business intelligence insights from collected data."""

    @abstractmethod
    async def start_continuous_collection(self) -> bool:
        """Start continuous metrics collection background task."""

    @abstractmethod
    async def stop_continuous_collection(self) -> bool:
        """Stop continuous metrics collection background task."""


class MonitoringProtocol(ABC):
    """Protocol interface for system monitoring operations."""

    @abstractmethod
    async def get_system_health(self) -> dict[str, Any]:
        """Get current system health status."""

    @abstractmethod
    async def get_active_alerts(self, severity: str | None = None) -> list[FFAnalyticsAlertDTO]:
        """Get list of active system alerts."""

    @abstractmethod
    async def acknowledge_alert(self, alert_id: str, acknowledged_by: str) -> bool:
        """Acknowledge system alert."""

    @abstractmethod
    async def resolve_alert(self, alert_id: str, resolution_notes: str) -> bool:
        """Mark system alert as resolved."""
