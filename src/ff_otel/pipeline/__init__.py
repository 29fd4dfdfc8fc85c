"""The periodic pipeline: snapshots, health, sessions, BI, reports and housekeeping."""

from ff_otel.pipeline.health import CheckResult, register_health_check
from ff_otel.pipeline.runner import Pipeline
from ff_otel.pipeline.status import SystemHealth

__all__ = ["CheckResult", "Pipeline", "SystemHealth", "register_health_check"]
