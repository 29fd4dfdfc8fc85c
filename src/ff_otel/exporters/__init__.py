"""OTel exporters that write the flatfile store, the scrubbing and circuit-breaking
wrappers, the OTLP wiring beside them and the replay of what a collector missed.
It may import :mod:`ff_otel.privacy` (every exporter scrubs), :mod:`ff_otel.settings`,
:mod:`ff_otel.store`, :mod:`ff_otel.spec`, :mod:`ff_otel.core` and
:mod:`ff_otel.environment_variables`.
"""

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
