"""The periodic pipeline: interval snapshots, health, and (later) rollups, alerts and BI."""

from ff_otel.pipeline.health import CheckResult, register_health_check
from ff_otel.pipeline.runner import Pipeline, SystemHealth

__all__ = ["CheckResult", "Pipeline", "SystemHealth", "register_health_check"]
