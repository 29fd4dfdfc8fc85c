"""``FFMetricsCollectionManager``: the spec's async facade over the store and pipeline.

Each method arrives with the capability behind it; there are no stubs. Blocking
file work runs in a worker thread so the caller's event loop never stalls.
"""

from __future__ import annotations

import asyncio
import logging

from ff_otel.config import FFAnalyticsConfigDTO, FFConfigurationManagerConfigDTO
from ff_otel.store.layout import StoreError, StoreLayout

_logger = logging.getLogger("ff_otel.manager")


class FFMetricsCollectionManager:
    """Metrics collection and aggregation manager following flatfile patterns."""

    def __init__(self, config: FFConfigurationManagerConfigDTO) -> None:
        self.config = config
        self.analytics_config: FFAnalyticsConfigDTO = config.analytics
        self.base_path = config.storage.base_path
        self.layout = StoreLayout(self.base_path)
        self.analytics_path = self.layout.analytics_path
        self.system_metrics_path = self.layout.system_metrics_path
        self.user_analytics_path = self.layout.user_analytics_path
        self.business_intelligence_path = self.layout.business_intelligence_path
        self.compliance_path = self.layout.compliance_path

    async def initialize_analytics_system(self) -> bool:
        """Create the store's hierarchy and ``analytics_metadata.json``.

        Returns False (and logs why) when the store cannot be created, as the
        spec's protocol says; it never raises for that.
        """
        try:
            await asyncio.to_thread(self.layout.initialize, self.analytics_config)
        except StoreError as exc:
            _logger.error("ff-otel: failed to initialize the analytics system: %s", exc)
            return False
        return True
