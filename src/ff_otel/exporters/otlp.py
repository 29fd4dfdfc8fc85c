"""The standard OTLP exporters, wired beside the flatfile ones.

Protocol comes from ``OTEL_EXPORTER_OTLP_PROTOCOL`` (``grpc``, the Python
default, or ``http/protobuf``); headers, compression, timeouts and TLS come
from the standard ``OTEL_EXPORTER_OTLP_*`` variables, which the exporters
read themselves (metric temporality too: collectors get the OTel default,
cumulative, unless ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` says
otherwise).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.metrics.export import MetricExporter
from opentelemetry.sdk.trace.export import SpanExporter

from ff_otel.environment_variables import OTEL_EXPORTER_OTLP_PROTOCOL

_PROTOCOLS = ("grpc", "http/protobuf")


@dataclass(frozen=True)
class OtlpExporters:
    spans: SpanExporter
    metrics: MetricExporter
    logs: LogRecordExporter


def otlp_exporters(endpoint: str, protocol: str | None = None) -> OtlpExporters:
    """OTLP exporters for all three signals sending to ``endpoint``.

    Raises ``ValueError`` naming the variable when the protocol is unknown.
    """
    protocol = (protocol or os.environ.get(OTEL_EXPORTER_OTLP_PROTOCOL) or "grpc").strip()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        insecure = endpoint.startswith("http://")
        return OtlpExporters(
            spans=OTLPSpanExporter(endpoint=endpoint, insecure=insecure),
            metrics=OTLPMetricExporter(endpoint=endpoint, insecure=insecure),
            logs=OTLPLogExporter(endpoint=endpoint, insecure=insecure),
        )
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http._log_exporter import (
            OTLPLogExporter as HttpLogExporter,
        )
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter as HttpMetricExporter,
        )
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpSpanExporter,
        )

        base = endpoint.rstrip("/")
        return OtlpExporters(
            spans=HttpSpanExporter(endpoint=f"{base}/v1/traces"),
            metrics=HttpMetricExporter(endpoint=f"{base}/v1/metrics"),
            logs=HttpLogExporter(endpoint=f"{base}/v1/logs"),
        )
    raise ValueError(
        f"{OTEL_EXPORTER_OTLP_PROTOCOL}={protocol!r} is not supported; use one of {_PROTOCOLS}"
    )
