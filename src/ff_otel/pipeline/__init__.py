"""The periodic pipeline: snapshots, health, sessions, alerts, BI, reports and
housekeeping on every tick, and the fleet monitor's tick over a query backend.
It may import every layer from :mod:`ff_otel.alerting` down (alerting,
instrumentation, analytics, exporters, privacy, compliance, sql, settings, store,
spec, core); what it reports upward (export statistics, leadership) comes in as
callbacks from :mod:`ff_otel.sdk.assembly`.
"""

from ff_otel.pipeline.health import CheckResult, register_health_check
from ff_otel.pipeline.runner import Pipeline
from ff_otel.pipeline.status import SystemHealth

__all__ = ["CheckResult", "Pipeline", "SystemHealth", "register_health_check"]
