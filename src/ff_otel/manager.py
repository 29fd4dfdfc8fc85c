"""``FFMetricsCollectionManager``: the spec's async facade over the store and pipeline.

Each method arrives with the capability behind it; there are no stubs. Blocking
file work runs in a worker thread so the caller's event loop never stalls.

When ff-otel is configured on the same store in this process, the facade uses
that configuration's pipeline; otherwise it keeps a pipeline of its own, so
the facade also works in a process that only wants to read and report.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from ff_otel import users
from ff_otel.alerting import operations
from ff_otel.compliance.spool import write_fault
from ff_otel.instrumentation.system_metrics import resource_sampler
from ff_otel.pipeline import bi
from ff_otel.pipeline.runner import Pipeline
from ff_otel.sdk import setup
from ff_otel.spec.config import FFAnalyticsConfigDTO, FFConfigurationManagerConfigDTO
from ff_otel.spec.enums import AlertSeverity
from ff_otel.spec.models import FFAnalyticsAlertDTO, FFBusinessIntelligenceDTO, FFSystemMetricsDTO
from ff_otel.spec.protocols import AnalyticsProtocol, MonitoringProtocol
from ff_otel.store.layout import StoreError, StoreLayout

_logger = logging.getLogger("ff_otel.manager")


class FFMetricsCollectionManager(AnalyticsProtocol, MonitoringProtocol):
    """The spec's async facade over ff-otel, for the store at ``config.storage.base_path``.

    It implements ``AnalyticsProtocol`` and ``MonitoringProtocol`` as the spec
    names them; each method is the library call of the same job (``configure``,
    ``record_user_event``, the pipeline's snapshot, BI, health and alert
    operations), so code written against the spec and code calling ``ff_otel``
    directly share one store. The spec's path attributes (``analytics_path``,
    ``system_metrics_path``, ``user_analytics_path``,
    ``business_intelligence_path``, ``compliance_path``) are the store's folders.
    """

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
        self._own_pipeline: Pipeline | None = None
        self._owns_configuration = False

    async def initialize_analytics_system(self) -> bool:
        """Create the store's hierarchy and ``analytics_metadata.json``.

        As in the spec, continuous collection starts too when
        ``enable_real_time_metrics`` is set. Returns False (and logs why) when
        the store cannot be created; it never raises for that.
        """
        try:
            await asyncio.to_thread(self.layout.initialize, self.analytics_config)
        except StoreError as exc:
            _logger.error("ff-otel: failed to initialize the analytics system: %s", exc)
            return False
        if self.analytics_config.enable_real_time_metrics:
            return await self.start_continuous_collection()
        return True

    async def collect_system_metrics(self) -> FFSystemMetricsDTO:
        """A fresh snapshot of the interval since the previous one.

        It is stored (with its resource and health records) when this process
        is the store's collector and the analytics level stores snapshots.
        """
        shared = self._configured_pipeline()
        pipeline = shared if shared is not None else self._pipeline_of_its_own()
        try:
            if shared is not None:
                store = shared.acquire_collector()
                return await asyncio.to_thread(shared.collect, store=store)
            return await asyncio.to_thread(_collect_holding_lease_briefly, pipeline)
        except StoreError:
            raise
        except OSError as exc:
            # Computed, not stored (a full disk): the snapshot is set before
            # its records are written.
            write_fault("collect_system_metrics", exc)
            if pipeline.latest_metrics is not None:
                return pipeline.latest_metrics
            return await asyncio.to_thread(pipeline.collect, store=False)

    async def record_user_analytics(
        self, user_id: str, session_id: str, event_type: str, event_data: dict[str, Any]
    ) -> bool:
        """Record a user event with privacy controls (see ``ff_otel.record_user_event``).

        The work at the call is a few microseconds of hashing and scrubbing; the
        event is written by a background thread, so the event loop never waits
        on a file. False when nothing is configured for this manager's store.
        """
        if self._configured_pipeline() is None:
            _logger.warning("ff-otel: record_user_analytics: no running collection for this store")
            return False
        return users.record_user_event(user_id, session_id, event_type, event_data)

    async def generate_business_intelligence(
        self, period: str = "day", end: datetime | str | None = None
    ) -> FFBusinessIntelligenceDTO:
        """BI for the ``period`` (day, week or month) ending at ``end`` (default: now).

        Computes every field in SQL over the store as it is now (records are
        visible after ``force_flush()``) and appends the result to the spec's
        business-intelligence files. Raises ``ValueError`` for an unknown period.
        """
        bi.window_of(period, end)
        if not self.analytics_config.enable_business_intelligence:
            return FFBusinessIntelligenceDTO(analysis_period=period)
        self._require_store()
        result = await asyncio.to_thread(
            bi.generate, self.layout, self.analytics_config, period, end, self.config.business
        )
        try:
            await asyncio.to_thread(bi.store, self.layout, result)
        except StoreError:
            raise
        except OSError as exc:
            # The answer stands; only its copy in the BI files is missing.
            write_fault("generate_business_intelligence (storing)", exc)
        return result.dto

    async def get_active_alerts(self, severity: str | None = None) -> list[FFAnalyticsAlertDTO]:
        """Firing alerts (acknowledged ones too), newest first; ``severity`` filters exactly.

        Raises ``ValueError`` for a severity that is not one of the spec's four.
        """
        if severity is not None and severity not in {s.value for s in AlertSeverity}:
            raise ValueError(
                f"unknown severity {severity!r}; use one of {[s.value for s in AlertSeverity]}"
            )
        return await asyncio.to_thread(operations.active_alerts, self.layout.alerts, severity)

    async def acknowledge_alert(self, alert_id: str, acknowledged_by: str) -> bool:
        """Acknowledge a firing alert (it stops escalating); False for an unknown or closed id,
        or when the acknowledgement could not be written (counted and logged)."""
        try:
            return await asyncio.to_thread(
                operations.acknowledge, self.layout.alerts, alert_id, acknowledged_by
            )
        except OSError as exc:
            return write_fault("acknowledge_alert", exc)

    async def resolve_alert(self, alert_id: str, resolution_notes: str) -> bool:
        """Resolve an alert by hand; False for an unknown or already resolved id, or when
        the resolution could not be written (counted and logged)."""
        try:
            return await asyncio.to_thread(
                operations.resolve, self.layout.alerts, alert_id, resolution_notes
            )
        except OSError as exc:
            return write_fault("resolve_alert", exc)

    async def get_system_health(self) -> dict[str, Any]:
        """Overall status (healthy/degraded/unhealthy), each component with its reason,
        and the latest metrics."""
        pipeline = self._configured_pipeline() or self._pipeline_of_its_own()
        if pipeline.latest_health is None:
            await asyncio.to_thread(pipeline.collect, store=False)
        assert pipeline.latest_health is not None
        return pipeline.latest_health.to_dict()

    async def start_continuous_collection(self) -> bool:
        """Run the pipeline on every collection interval (configuring ff-otel if needed)."""
        shared = self._configured_pipeline()
        if shared is not None:
            shared.start()
            return True
        try:
            await asyncio.to_thread(
                setup.configure, base_path=self.base_path, analytics=self.analytics_config
            )
        except (StoreError, ValueError) as exc:
            _logger.error("ff-otel: could not start continuous collection: %s", exc)
            return False
        self._owns_configuration = True
        _logger.info("ff-otel: started continuous metrics collection for %s", self.base_path)
        return True

    async def stop_continuous_collection(self) -> bool:
        """Stop the periodic pipeline; ff-otel set up by this manager is shut down."""
        if self._owns_configuration:
            self._owns_configuration = False
            await asyncio.to_thread(setup.shutdown)
            return True
        shared = self._configured_pipeline()
        if shared is not None:
            shared.stop()
        return True

    def _configured_pipeline(self) -> Pipeline | None:
        handle = setup.current()
        if handle is None or handle.pipeline is None:
            return None
        if handle.layout.base_path.resolve() != self.layout.base_path.resolve():
            return None
        return handle.pipeline

    def _require_store(self) -> None:
        if not self.layout.analytics_path.is_dir():
            raise StoreError(
                f"no ff-otel store at {self.base_path}: call initialize_analytics_system() first"
            )

    def _pipeline_of_its_own(self) -> Pipeline:
        self._require_store()
        if self._own_pipeline is None:
            self._own_pipeline = Pipeline(
                self.layout,
                self.analytics_config,
                resource_sampler(self.layout.base_path, self.analytics_config),
                export_stats=dict,
            )
        return self._own_pipeline


def _collect_holding_lease_briefly(pipeline: Pipeline) -> FFSystemMetricsDTO:
    # A facade without a running configuration takes the collector lease only
    # for this one collection, so a configure() later in the process can take it.
    store = pipeline.acquire_collector()
    try:
        return pipeline.collect(store=store)
    finally:
        pipeline.release_collector()
