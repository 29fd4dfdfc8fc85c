"""``FlatfileMetricExporter``: metric points become ``system_metrics/metrics.jsonl`` lines.

Counters and histograms are exported with DELTA temporality: each line says
what happened in its interval, so the sum over a time range is the sum of the
lines in it. Up-down counters and gauges stay cumulative (a current level).
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ExponentialHistogram,
    Gauge,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    Sum,
)
from opentelemetry.sdk.metrics.export import Histogram as HistogramData

from ff_otel.exporters._guard import ExportGuard
from ff_otel.exporters._mapping import IsoCache, attributes_dict, service_of
from ff_otel.models import MetricPointRecord
from ff_otel.privacy.scrubber import Scrubber
from ff_otel.store.appender import append_records
from ff_otel.store.layout import StoreLayout

DELTA_TEMPORALITY = {
    Counter: AggregationTemporality.DELTA,
    ObservableCounter: AggregationTemporality.DELTA,
    Histogram: AggregationTemporality.DELTA,
    UpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableUpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableGauge: AggregationTemporality.CUMULATIVE,
}

_TEMPORALITY_NAMES: dict[AggregationTemporality, Any] = {
    AggregationTemporality.DELTA: "delta",
    AggregationTemporality.CUMULATIVE: "cumulative",
}


class FlatfileMetricExporter(MetricExporter):
    """An OTel ``MetricExporter`` that appends points to the store; it never raises."""

    def __init__(self, layout: StoreLayout, scrubber: Scrubber) -> None:
        super().__init__(preferred_temporality=DELTA_TEMPORALITY)  # type: ignore[arg-type]
        self.layout = layout
        self.scrubber = scrubber
        self.guard = ExportGuard("metric")

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        try:
            records = metric_records(metrics_data, self.scrubber)
            append_records(self.layout.metrics, records)
        except Exception as exc:
            self.guard.failed(exc, dropped=_point_count(metrics_data))
            return MetricExportResult.FAILURE
        self.guard.succeeded(len(records))
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None


def metric_records(metrics_data: MetricsData, scrubber: Scrubber) -> list[MetricPointRecord]:
    """Flatten OTel metrics data into one scrubbed record per data point."""
    iso = IsoCache()
    records: list[MetricPointRecord] = []
    for resource_metrics in metrics_data.resource_metrics:
        service = service_of(resource_metrics.resource)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope.name
            for metric in scope_metrics.metrics:
                data = metric.data
                for point in data.data_points:
                    record: MetricPointRecord = {
                        "timestamp": iso(point.time_unix_nano),
                        "name": metric.name,
                        "description": metric.description or "",
                        "unit": metric.unit or "",
                        "attributes": scrubber.attributes_in_place(
                            attributes_dict(point.attributes)
                        ),
                        "service": service,
                        "scope": scope,
                    }
                    start = getattr(point, "start_time_unix_nano", None)
                    if start:
                        record["start_timestamp"] = iso(start)
                    if isinstance(data, Sum):
                        record["type"] = "sum"
                        record["temporality"] = _TEMPORALITY_NAMES[data.aggregation_temporality]
                        record["monotonic"] = data.is_monotonic
                        record["value"] = point.value  # type: ignore[union-attr]
                    elif isinstance(data, Gauge):
                        record["type"] = "gauge"
                        record["value"] = point.value  # type: ignore[union-attr]
                    elif isinstance(data, HistogramData):
                        record["type"] = "histogram"
                        record["temporality"] = _TEMPORALITY_NAMES[data.aggregation_temporality]
                        record["sum"] = point.sum  # type: ignore[union-attr]
                        record["count"] = point.count  # type: ignore[union-attr]
                        record["min"] = point.min  # type: ignore[union-attr]
                        record["max"] = point.max  # type: ignore[union-attr]
                        record["bucket_counts"] = list(point.bucket_counts)  # type: ignore[union-attr]
                        record["explicit_bounds"] = list(point.explicit_bounds)  # type: ignore[union-attr]
                    elif isinstance(data, ExponentialHistogram):
                        record["type"] = "exponential_histogram"
                        record["temporality"] = _TEMPORALITY_NAMES[data.aggregation_temporality]
                        record["sum"] = point.sum  # type: ignore[union-attr]
                        record["count"] = point.count  # type: ignore[union-attr]
                        record["min"] = point.min  # type: ignore[union-attr]
                        record["max"] = point.max  # type: ignore[union-attr]
                    records.append(record)
    return records


def _point_count(metrics_data: MetricsData) -> int:
    return sum(
        len(metric.data.data_points)
        for rm in metrics_data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    )
