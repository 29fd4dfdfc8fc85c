"""The periodic metric reader that also drives the pipeline after every collection."""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader


class PipelineMetricReader(PeriodicExportingMetricReader):
    """A ``PeriodicExportingMetricReader`` that calls ``after_collect`` after each export.

    Its thread runs the pipeline on the collection interval; ``force_flush``
    runs it too, so "flush" means the interval's records are written as well.
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
