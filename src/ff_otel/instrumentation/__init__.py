"""Instrumentation that ff-otel provides itself: psutil system and process metrics."""

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
