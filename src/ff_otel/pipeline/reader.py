"""The periodic metric reader that also drives the pipeline after every collection."""

from __future__ import annotations

import logging
from collections.abc import Callable

from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader

_logger = logging.getLogger("ff_otel.pipeline")
FIRST_COLLECTION_SECONDS = 5.0
"""A new process's first collection comes this soon (when its interval is longer), so
a new service reports its health and a first snapshot in seconds, not after a whole
interval of "unknown"."""


class PipelineMetricReader(PeriodicExportingMetricReader):
    """A ``PeriodicExportingMetricReader`` that calls ``after_collect`` after each export.

    Its thread runs the pipeline on the collection interval (the first time
    after :data:`FIRST_COLLECTION_SECONDS`); ``force_flush`` runs it too, so
    "flush" means the interval's records are written as well.
    """

    def __init__(
        self,
        exporter: MetricExporter,
        export_interval_millis: float,
        after_collect: Callable[[], None],
    ) -> None:
        self._after_collect = after_collect
        super().__init__(exporter, export_interval_millis=export_interval_millis)

    # ``collect`` is marked final for typing, but it is the one hook that runs on
    # every collection, including those that produce no metric data at all.
    def collect(self, timeout_millis: float = 10_000) -> None:  # type: ignore[misc]
        super().collect(timeout_millis=timeout_millis)
        self._after_collect()

    # The SDK's thread body: one early collection, then the SDK's own loop.
    def _ticker(self) -> None:
        first = FIRST_COLLECTION_SECONDS
        if self._export_interval_millis / 1e3 > first and not self._shutdown_event.wait(first):
            try:
                self.collect(timeout_millis=self._export_timeout_millis)
            except Exception:
                _logger.warning("ff-otel: the first metric collection failed", exc_info=True)
        super()._ticker()
