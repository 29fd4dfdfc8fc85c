"""The standard OTLP exporters, wired beside the flatfile ones.

Protocol comes from ``OTEL_EXPORTER_OTLP_PROTOCOL`` (``grpc``, the Python
default, or ``http/protobuf``); headers, compression, timeouts and TLS come
from the standard ``OTEL_EXPORTER_OTLP_*`` variables, which the exporters
read themselves (metric temporality too: collectors get the OTel default,
cumulative, unless ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` says
otherwise). Only the endpoint is passed in: for gRPC, TLS follows the SDK's
own rule (``https://`` means TLS; otherwise ``OTEL_EXPORTER_OTLP_INSECURE``
when set, else ``http://`` means plaintext), so nothing here overrides it.
For OTLP/HTTP, ``OTEL_EXPORTER_OTLP_CERTIFICATE`` is kept even where the
general ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` are set (see
:mod:`ff_otel.exporters._otlp_http`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
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


def otlp_protocol(protocol: str | None = None) -> str:
    """``protocol``, else ``OTEL_EXPORTER_OTLP_PROTOCOL``, else ``grpc``.

    Raises ``ValueError`` naming the variable when the protocol is unknown.
    """
    protocol = (protocol or os.environ.get(OTEL_EXPORTER_OTLP_PROTOCOL) or "grpc").strip()
    if protocol not in _PROTOCOLS:
        raise ValueError(
            f"{OTEL_EXPORTER_OTLP_PROTOCOL}={protocol!r} is not supported; use one of {_PROTOCOLS}"
        )
    return protocol


def otlp_span_exporter(endpoint: str, protocol: str | None = None) -> SpanExporter:
    """The standard OTLP span exporter alone (what ``ff-otel replay`` sends through).

    Raises ``ValueError`` when the protocol or an ``OTEL_EXPORTER_OTLP_*`` value is unusable.
    """
    protocol = otlp_protocol(protocol)
    with _unusable_settings(endpoint):
        return _span_exporter(endpoint, protocol)


def otlp_exporters(endpoint: str, protocol: str | None = None) -> OtlpExporters:
    """OTLP exporters for all three signals sending to ``endpoint``.

    Raises ``ValueError`` when the protocol or an ``OTEL_EXPORTER_OTLP_*`` value is unusable.
    """
    protocol = otlp_protocol(protocol)
    with _unusable_settings(endpoint):
        return _exporters(endpoint, protocol)


@contextmanager
def _unusable_settings(endpoint: str) -> Iterator[None]:
    # The exporters read their variables as they start and fail in their own
    # ways (a bad timeout is a float() error, a bad gRPC compression its own
    # exception type): one clear ValueError instead, a ConfigError in configure().
    try:
        yield
    except Exception as exc:
        raise ValueError(
            f"OTLP export to {endpoint} cannot start: {exc} "
            "(check the OTEL_EXPORTER_OTLP_* variables)"
        ) from exc


def _span_exporter(endpoint: str, protocol: str) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    from ff_otel.exporters._otlp_http import http_session

    return HttpSpanExporter(
        endpoint=_signal_url(endpoint, "traces"), session=http_session("traces")
    )


def _exporters(endpoint: str, protocol: str) -> OtlpExporters:
    spans = _span_exporter(endpoint, protocol)
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return OtlpExporters(
            spans=spans,
            metrics=OTLPMetricExporter(endpoint=endpoint),
            logs=OTLPLogExporter(endpoint=endpoint),
        )
    from opentelemetry.exporter.otlp.proto.http._log_exporter import (
        OTLPLogExporter as HttpLogExporter,
    )
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpMetricExporter,
    )

    from ff_otel.exporters._otlp_http import http_session

    return OtlpExporters(
        spans=spans,
        metrics=HttpMetricExporter(
            endpoint=_signal_url(endpoint, "metrics"), session=http_session("metrics")
        ),
        logs=HttpLogExporter(endpoint=_signal_url(endpoint, "logs"), session=http_session("logs")),
    )


def _signal_url(endpoint: str, signal: str) -> str:
    # OTLP/HTTP takes one URL per signal under the base endpoint, as the
    # SDK does for OTEL_EXPORTER_OTLP_ENDPOINT.
    return f"{endpoint.rstrip('/')}/v1/{signal}"
