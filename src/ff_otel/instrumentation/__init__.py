"""Telemetry ff-otel gathers itself: psutil system and process metrics and the
standard ``logging`` bridge. It may import :mod:`ff_otel.exporters` (the export
guard), :mod:`ff_otel.store`, :mod:`ff_otel.spec` and :mod:`ff_otel.core`. The
distro, configurator and ``ff-otel-instrument`` launcher configure the SDK and so
live in :mod:`ff_otel.sdk`.
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
