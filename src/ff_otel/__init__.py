"""ff-otel: OpenTelemetry instrumentation with a local flatfile analytics store.

One call sets it up, one decorator traces a function::

    import ff_otel

    ff_otel.configure(base_path="./ff_data", service_name="chat-api")

    @ff_otel.instrument
    def handle(message): ...
"""

from ff_otel.alerting import AlertRule, AlertState, FFNotificationSettingsDTO
from ff_otel.alerting.api import silence_alerts
from ff_otel.compliance.api import (
    audit,
    export_data,
    generate_regulatory_report,
    run_retention,
    verify_audit_trail,
)
from ff_otel.compliance.audit import AuditGap, VerificationResult
from ff_otel.compliance.security import record_security_event
from ff_otel.config import (
    AggregationPeriod,
    AlertSeverity,
    AnalyticsLevel,
    FFAnalyticsAlertingConfigDTO,
    FFAnalyticsConfigDTO,
    FFAnalyticsPrivacyConfigDTO,
    FFBusinessInputsDTO,
    FFConfigurationManagerConfigDTO,
    FFStorageConfigDTO,
)
from ff_otel.exporters import FlatfileLogExporter, FlatfileMetricExporter, FlatfileSpanExporter
from ff_otel.exporters.replay import ReplayReport, replay_spans
from ff_otel.manager import FFMetricsCollectionManager
from ff_otel.meters import counter, histogram, up_down_counter
from ff_otel.models import (
    FFAnalyticsAlertDTO,
    FFBusinessIntelligenceDTO,
    FFSystemMetricsDTO,
    FFUserAnalyticsDTO,
)
from ff_otel.pipeline import register_health_check
from ff_otel.privacy import ScrubbingOptions, ScrubMatch
from ff_otel.protocols import AnalyticsProtocol, MonitoringProtocol
from ff_otel.query import query
from ff_otel.reporting import generate_report
from ff_otel.settings import ConfigError, FFOtelSettings
from ff_otel.setup import FFOtel, configure, current, force_flush, shutdown
from ff_otel.sql import QueryError, sql, sql_arrow
from ff_otel.store import ReadStats, RecordLimits, StoreError, StoreLayout, read_records
from ff_otel.tracing import instrument, span
from ff_otel.users import (
    ErasureResult,
    erase_user,
    export_user_data,
    opt_in,
    opt_out,
    record_user_event,
)

__version__ = "0.1.0"

__all__ = [
    "AggregationPeriod",
    "AlertRule",
    "AlertSeverity",
    "AlertState",
    "AnalyticsLevel",
    "AnalyticsProtocol",
    "AuditGap",
    "ConfigError",
    "ErasureResult",
    "FFAnalyticsAlertDTO",
    "FFAnalyticsAlertingConfigDTO",
    "FFAnalyticsConfigDTO",
    "FFAnalyticsPrivacyConfigDTO",
    "FFBusinessInputsDTO",
    "FFBusinessIntelligenceDTO",
    "FFConfigurationManagerConfigDTO",
    "FFMetricsCollectionManager",
    "FFNotificationSettingsDTO",
    "FFOtel",
    "FFOtelSettings",
    "FFStorageConfigDTO",
    "FFSystemMetricsDTO",
    "FFUserAnalyticsDTO",
    "FlatfileLogExporter",
    "FlatfileMetricExporter",
    "FlatfileSpanExporter",
    "MonitoringProtocol",
    "QueryError",
    "ReadStats",
    "RecordLimits",
    "ReplayReport",
    "ScrubMatch",
    "ScrubbingOptions",
    "StoreError",
    "StoreLayout",
    "VerificationResult",
    "audit",
    "configure",
    "counter",
    "current",
    "erase_user",
    "export_data",
    "export_user_data",
    "force_flush",
    "generate_regulatory_report",
    "generate_report",
    "histogram",
    "instrument",
    "opt_in",
    "opt_out",
    "query",
    "read_records",
    "record_security_event",
    "record_user_event",
    "register_health_check",
    "replay_spans",
    "run_retention",
    "shutdown",
    "silence_alerts",
    "span",
    "sql",
    "sql_arrow",
    "up_down_counter",
    "verify_audit_trail",
]
