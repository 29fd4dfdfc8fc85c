"""The spec's "Testing Specifications", adapted only in import paths.

Each of the spec's tests arrives with the capability behind it; this one
covers initialisation.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator

import pytest

from ff_otel import (
    FFAnalyticsConfigDTO,
    FFConfigurationManagerConfigDTO,
    FFMetricsCollectionManager,
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


async def test_initialize_reports_failure_instead_of_raising(tmp_path: object) -> None:
    from pathlib import Path

    blocker = Path(str(tmp_path)) / "file"
    blocker.write_text("")
    config = FFConfigurationManagerConfigDTO()
    config.storage.base_path = blocker / "store"  # type: ignore[assignment]
    assert await FFMetricsCollectionManager(config).initialize_analytics_system() is False
