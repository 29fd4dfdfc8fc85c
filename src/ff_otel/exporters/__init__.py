"""OTel exporters that write the flatfile store, and the OTLP wiring beside them."""

from ff_otel.exporters.logs import FlatfileLogExporter, register_event_route
from ff_otel.exporters.metrics import FlatfileMetricExporter
from ff_otel.exporters.otlp import OtlpExporters, otlp_exporters
from ff_otel.exporters.spans import FlatfileSpanExporter

__all__ = [
    "FlatfileLogExporter",
    "FlatfileMetricExporter",
    "FlatfileSpanExporter",
    "OtlpExporters",
    "otlp_exporters",
    "register_event_route",
]
