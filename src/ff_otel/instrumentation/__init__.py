"""Instrumentation that ff-otel provides itself: psutil system and process metrics.

Beside them: ``distro`` (the OpenTelemetry distro and configurator that
``opentelemetry-instrument`` loads) and ``launcher`` (``ff-otel-instrument``),
loaded through their entry points rather than imported here.
"""

from ff_otel.instrumentation.system_metrics import (
    ResourceReading,
    SystemSampler,
    register_host_instruments,
    register_process_instruments,
)

__all__ = [
    "ResourceReading",
    "SystemSampler",
    "register_host_instruments",
    "register_process_instruments",
]
