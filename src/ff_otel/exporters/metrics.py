"""``FlatfileMetricExporter``: metric points become ``system_metrics/metrics.jsonl`` lines.

Counters and histograms are exported with DELTA temporality: each line says
what happened in its interval, so the sum over a time range is the sum of the
lines in it. Up-down counters and gauges stay cumulative (a current level).

Each metric is mapped on its own (one that cannot be is left out and counted).
An instrument keeps at most ``max_series_per_instrument`` attribute sets over
the exporter's life, as the OTel spec's cardinality limit: points of later sets
are merged into one series with the attribute ``otel.metric.overflow=true``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
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

from ff_otel.exporters._standalone import StoreTarget, exporter_store
from ff_otel.exporters.guard import ExportGuard
from ff_otel.exporters.mapping import IsoCache, attributes_dict, service_of
from ff_otel.privacy.scrubber import Scrubber
from ff_otel.spec.models import MetricPointRecord
from ff_otel.store.appender import append_records
from ff_otel.store.limits import DEFAULT_LIMITS, RecordLimits, bound_attributes

OVERFLOW_ATTRIBUTE = "otel.metric.overflow"
"""The attribute of the series that points beyond the cardinality limit are merged into."""

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
    """An OTel ``MetricExporter`` that appends points to the store; it never raises.

    ``FlatfileMetricExporter(base_path)`` plugs the store into a
    ``PeriodicExportingMetricReader`` of your own, scrubbing with the defaults;
    ``configure()`` builds it from its layout and scrubber.
    """

    def __init__(
        self,
        base_path: StoreTarget,
        scrubber: Scrubber | None = None,
        *,
        limits: RecordLimits | None = None,
    ) -> None:
        super().__init__(preferred_temporality=DELTA_TEMPORALITY)  # type: ignore[arg-type]
        self.layout, self.scrubber, self.limits = exporter_store(base_path, scrubber, limits)
        self.guard = ExportGuard("metric")
        self.series = SeriesLimit(self.limits.max_series_per_instrument)
        self._latest_export_stored = True

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        guard = self.guard
        records = metric_records(
            metrics_data, self.scrubber, self.limits, self.series, guard.record_fault
        )
        cut = sum(1 for record in records if "dropped_values" in record)
        try:
            append_records(self.layout.metrics, records, guard.faults)
        except Exception as exc:
            guard.settle()
            guard.failed(exc, dropped=len(records))
            self._latest_export_stored = False
            return MetricExportResult.FAILURE
        lost = guard.settle(cut)
        guard.succeeded(len(records) - lost)
        self._latest_export_stored = not lost
        return MetricExportResult.FAILURE if lost else MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """False when a point exported since the previous call, or in the latest export,
        was not stored.

        The SDK's ``PeriodicExportingMetricReader.force_flush`` calls this right
        after its export and drops the answer, so the latest export's outcome
        also counts: the caller asking next still hears of the loss.
        """
        flushed = self.guard.flush_ok()
        return flushed and self._latest_export_stored

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None


class SeriesLimit:
    """The attribute sets each instrument has had, up to its cardinality limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.overflowed = 0
        """Points merged into an overflow series so far."""
        self._seen: dict[tuple[str, str], set[Hashable]] = {}
        self._lock = threading.Lock()

    def admits(self, scope: str, name: str, attributes: Mapping[str, Any]) -> bool:
        """True when the set is known or still fits; the overflow series takes the last place."""
        key = _series_key(attributes)
        with self._lock:
            seen = self._seen.setdefault((scope, name), set())
            if key in seen:
                return True
            if len(seen) < self.limit - 1:
                seen.add(key)
                return True
            self.overflowed += 1
            return False


def _series_key(attributes: Mapping[str, Any]) -> Hashable:
    try:
        return frozenset(attributes.items())
    except TypeError:  # a list value
        return repr(sorted(attributes.items(), key=lambda item: item[0]))


def metric_records(
    metrics_data: MetricsData,
    scrubber: Scrubber,
    limits: RecordLimits = DEFAULT_LIMITS,
    series: SeriesLimit | None = None,
    on_fault: Callable[[BaseException], None] | None = None,
) -> list[MetricPointRecord]:
    """Flatten OTel metrics data into one scrubbed record per data point (and series).

    A metric that cannot be mapped is handed to ``on_fault`` and left out (raised
    when there is none); points beyond ``series``' limit join the overflow series.
    """
    iso = IsoCache()
    records: list[MetricPointRecord] = []
    for resource_metrics in metrics_data.resource_metrics:
        service = service_of(resource_metrics.resource)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope.name
            for metric in scope_metrics.metrics:
                try:
                    records.extend(
                        _metric_points(metric, service, scope, scrubber, limits, series, iso)
                    )
                except Exception as exc:
                    if on_fault is None:
                        raise
                    on_fault(exc)
    return records


def _metric_points(
    metric: Any,
    service: str,
    scope: str,
    scrubber: Scrubber,
    limits: RecordLimits,
    series: SeriesLimit | None,
    iso: IsoCache,
) -> list[MetricPointRecord]:
    data = metric.data
    records: list[MetricPointRecord] = []
    overflow: MetricPointRecord | None = None
    for point in data.data_points:
        admitted = series is None or series.admits(scope, metric.name, point.attributes or {})
        attributes = attributes_dict(point.attributes) if admitted else {OVERFLOW_ATTRIBUTE: True}
        notes = bound_attributes(attributes, limits, None, "attributes") if admitted else None
        record: MetricPointRecord = {
            "timestamp": iso(point.time_unix_nano),
            "name": metric.name,
            "description": metric.description or "",
            "unit": metric.unit or "",
            "attributes": scrubber.attributes_in_place(attributes) if admitted else attributes,
            "service": service,
            "scope": scope,
        }
        if notes is not None:
            notes.attach(record)  # type: ignore[arg-type]
        start = getattr(point, "start_time_unix_nano", None)
        if start:
            record["start_timestamp"] = iso(start)
        if isinstance(data, Sum):
            record["type"] = "sum"
            record["temporality"] = _TEMPORALITY_NAMES[data.aggregation_temporality]
            record["monotonic"] = data.is_monotonic
            record["value"] = point.value
        elif isinstance(data, Gauge):
            record["type"] = "gauge"
            record["value"] = point.value
        elif isinstance(data, HistogramData):
            record["type"] = "histogram"
            record["temporality"] = _TEMPORALITY_NAMES[data.aggregation_temporality]
            record["sum"] = point.sum
            record["count"] = point.count
            record["min"] = point.min
            record["max"] = point.max
            record["bucket_counts"] = list(point.bucket_counts)
            record["explicit_bounds"] = list(point.explicit_bounds)
        elif isinstance(data, ExponentialHistogram):
            record["type"] = "exponential_histogram"
            record["temporality"] = _TEMPORALITY_NAMES[data.aggregation_temporality]
            record["sum"] = point.sum
            record["count"] = point.count
            record["min"] = point.min
            record["max"] = point.max
        if admitted:
            records.append(record)
        elif overflow is None:
            overflow = record
            records.append(record)
        else:
            _merge_into(overflow, record)
    return records


def _merge_into(series: MetricPointRecord, point: MetricPointRecord) -> None:
    """Fold one more point into the overflow series' point of this export."""
    kind = series.get("type")
    if kind == "sum":
        series["value"] = series["value"] + point["value"]
    elif kind == "gauge":
        series["value"] = point["value"]  # the last value, as a gauge aggregates
    elif kind in ("histogram", "exponential_histogram"):
        series["sum"] = series["sum"] + point["sum"]
        series["count"] = series["count"] + point["count"]
        series["min"] = min(series["min"], point["min"])
        series["max"] = max(series["max"], point["max"])
        if kind == "histogram":
            if series.get("explicit_bounds") == point.get("explicit_bounds"):
                series["bucket_counts"] = [
                    a + b
                    for a, b in zip(series["bucket_counts"], point["bucket_counts"], strict=True)
                ]
            else:
                series.pop("bucket_counts", None)  # not comparable: only sum/count/min/max
                series.pop("explicit_bounds", None)


def _point_count(metrics_data: MetricsData) -> int:
    return sum(
        len(metric.data.data_points)
        for rm in metrics_data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    )
