"""The spec's "Testing Specifications", adapted only in import paths.

Each of the spec's tests arrives with the capability behind it; this one
covers initialisation, system metrics, user analytics and business intelligence.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator

import pytest

from ff_otel import (
    FFAnalyticsConfigDTO,
    FFBusinessIntelligenceDTO,
    FFConfigurationManagerConfigDTO,
    FFMetricsCollectionManager,
    FFSystemMetricsDTO,
)


class TestMetricsCollectionManager:
    @pytest.fixture
    async def metrics_manager(self) -> AsyncIterator[FFMetricsCollectionManager]:
        """Create metrics collection manager for testing."""
        with tempfile.TemporaryDirectory() as temp_dir:
            config = FFConfigurationManagerConfigDTO()
            config.storage.base_path = temp_dir  # type: ignore[assignment]
            config.analytics = FFAnalyticsConfigDTO()

            manager = FFMetricsCollectionManager(config)
            yield manager

    @pytest.mark.asyncio
    async def test_initialize_analytics_system(
        self, metrics_manager: FFMetricsCollectionManager
    ) -> None:
        """Test analytics system initialization."""
        success = await metrics_manager.initialize_analytics_system()
        assert success

        # Check directory structure
        assert metrics_manager.analytics_path.exists()
        assert (metrics_manager.analytics_path / "analytics_metadata.json").exists()
        assert metrics_manager.system_metrics_path.exists()
        assert metrics_manager.user_analytics_path.exists()

    @pytest.mark.asyncio
    async def test_collect_system_metrics(
        self, metrics_manager: FFMetricsCollectionManager
    ) -> None:
        """Test system metrics collection."""
        await metrics_manager.initialize_analytics_system()

        metrics = await metrics_manager.collect_system_metrics()

        assert isinstance(metrics, FFSystemMetricsDTO)
        assert metrics.cpu_usage_percent >= 0
        assert metrics.memory_usage_mb > 0
        assert metrics.uptime_seconds >= 0

    @pytest.mark.asyncio
    async def test_record_user_analytics(self, metrics_manager: FFMetricsCollectionManager) -> None:
        """Test user analytics recording with privacy controls."""
        await metrics_manager.initialize_analytics_system()

        success = await metrics_manager.record_user_analytics(
            user_id="test_user",
            session_id="test_session",
            event_type="session_start",
            event_data={"user_agent": "test_agent", "platform": "test_platform"},
        )

        assert success

    @pytest.mark.asyncio
    async def test_business_intelligence_generation(
        self, metrics_manager: FFMetricsCollectionManager
    ) -> None:
        """Test business intelligence generation."""
        await metrics_manager.initialize_analytics_system()

        # Add some test data
        await metrics_manager.record_user_analytics(
            "user1", "session1", "session_start", {"platform": "web"}
        )
        await metrics_manager.record_user_analytics(
            "user2", "session2", "session_start", {"platform": "mobile"}
        )

        bi_data = await metrics_manager.generate_business_intelligence("day")

        assert isinstance(bi_data, FFBusinessIntelligenceDTO)
        assert bi_data.analysis_period == "day"


async def test_initialize_reports_failure_instead_of_raising(tmp_path: object) -> None:
    from pathlib import Path

    blocker = Path(str(tmp_path)) / "file"
    blocker.write_text("")
    config = FFConfigurationManagerConfigDTO()
    config.storage.base_path = blocker / "store"  # type: ignore[assignment]
    assert await FFMetricsCollectionManager(config).initialize_analytics_system() is False


async def test_a_store_that_was_never_created_is_a_clear_error(tmp_path: object) -> None:
    from pathlib import Path

    from ff_otel import StoreError

    config = FFConfigurationManagerConfigDTO()
    config.storage.base_path = Path(str(tmp_path)) / "never-initialised"  # type: ignore[assignment]
    manager = FFMetricsCollectionManager(config)
    with pytest.raises(StoreError, match="initialize_analytics_system"):
        await manager.generate_business_intelligence("day")
    with pytest.raises(StoreError, match="no ff-otel store"):
        await manager.collect_system_metrics()
