"""ff-otel: OpenTelemetry instrumentation with a local flatfile analytics store.

One call sets it up, one decorator traces a function::

    import ff_otel

    ff_otel.configure(base_path="./ff_data", service_name="chat-api")

    @ff_otel.instrument
    def handle(message): ...

Importing the package is cheap: each public name is imported from its module
the first time it is used (PEP 562), so a script or CLI call that needs only
``record_user_event`` does not pay for DuckDB, the alert notifiers or the
pydantic configuration models until something asks for them.

The modules beside this one are the public calls by topic (:mod:`~ff_otel.users`,
:mod:`~ff_otel.query`, :mod:`~ff_otel.reporting`, the spec's facade
:mod:`~ff_otel.manager`, the pytest plugin :mod:`~ff_otel.testing`) and the
environment variables' names; the packages are the layers below them, each
importing only from those under it (the order is ``tests/test_layers.py``'s).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ff_otel.alerting import AlertState
    from ff_otel.compliance.audit import AuditGap, VerificationResult
    from ff_otel.exporters import FlatfileLogExporter, FlatfileMetricExporter, FlatfileSpanExporter
    from ff_otel.exporters.replay import ReplayReport, replay_spans
    from ff_otel.manager import FFMetricsCollectionManager
    from ff_otel.pipeline import register_health_check
    from ff_otel.privacy import ScrubbingOptions, ScrubMatch
    from ff_otel.query import query
    from ff_otel.reporting import generate_report
    from ff_otel.sdk.alerts import silence_alerts
    from ff_otel.sdk.compliance import (
        audit,
        export_data,
        generate_regulatory_report,
        record_security_event,
        run_retention,
        verify_audit_trail,
    )
    from ff_otel.sdk.meters import counter, histogram, up_down_counter
    from ff_otel.sdk.setup import FFOtel, configure, current, force_flush, shutdown
    from ff_otel.sdk.tracing import instrument, span
    from ff_otel.settings.model import ConfigError, FFOtelSettings
    from ff_otel.spec.alerting_config import (
        AlertRule,
        FFAnalyticsAlertingConfigDTO,
        FFNotificationSettingsDTO,
    )
    from ff_otel.spec.config import (
        FFAnalyticsConfigDTO,
        FFBusinessInputsDTO,
        FFConfigurationManagerConfigDTO,
        FFStorageConfigDTO,
    )
    from ff_otel.spec.enums import AggregationPeriod, AlertSeverity, AnalyticsLevel
    from ff_otel.spec.models import (
        FFAnalyticsAlertDTO,
        FFBusinessIntelligenceDTO,
        FFSystemMetricsDTO,
        FFUserAnalyticsDTO,
    )
    from ff_otel.spec.privacy_config import FFAnalyticsPrivacyConfigDTO
    from ff_otel.spec.protocols import AnalyticsProtocol, MonitoringProtocol
    from ff_otel.sql import QueryError, sql, sql_arrow
    from ff_otel.store import ReadStats, RecordLimits, StoreError, StoreLayout, read_records
    from ff_otel.users import (
        ErasureResult,
        erase_user,
        export_user_data,
        opt_in,
        opt_out,
        record_user_event,
    )

_LAZY: dict[str, str] = {
    "AggregationPeriod": "ff_otel.spec.enums",
    "AlertRule": "ff_otel.spec.alerting_config",
    "AlertState": "ff_otel.alerting",
    "AlertSeverity": "ff_otel.spec.enums",
    "AnalyticsLevel": "ff_otel.spec.enums",
    "AnalyticsProtocol": "ff_otel.spec.protocols",
    "AuditGap": "ff_otel.compliance.audit",
    "ConfigError": "ff_otel.settings.model",
    "ErasureResult": "ff_otel.users",
    "FFAnalyticsAlertDTO": "ff_otel.spec.models",
    "FFAnalyticsAlertingConfigDTO": "ff_otel.spec.alerting_config",
    "FFAnalyticsConfigDTO": "ff_otel.spec.config",
    "FFAnalyticsPrivacyConfigDTO": "ff_otel.spec.privacy_config",
    "FFBusinessInputsDTO": "ff_otel.spec.config",
    "FFBusinessIntelligenceDTO": "ff_otel.spec.models",
    "FFConfigurationManagerConfigDTO": "ff_otel.spec.config",
    "FFMetricsCollectionManager": "ff_otel.manager",
    "FFNotificationSettingsDTO": "ff_otel.spec.alerting_config",
    "FFOtel": "ff_otel.sdk.setup",
    "FFOtelSettings": "ff_otel.settings.model",
    "FFStorageConfigDTO": "ff_otel.spec.config",
    "FFSystemMetricsDTO": "ff_otel.spec.models",
    "FFUserAnalyticsDTO": "ff_otel.spec.models",
    "FlatfileLogExporter": "ff_otel.exporters",
    "FlatfileMetricExporter": "ff_otel.exporters",
    "FlatfileSpanExporter": "ff_otel.exporters",
    "MonitoringProtocol": "ff_otel.spec.protocols",
    "QueryError": "ff_otel.sql",
    "ReadStats": "ff_otel.store",
    "RecordLimits": "ff_otel.store",
    "ReplayReport": "ff_otel.exporters.replay",
    "ScrubMatch": "ff_otel.privacy",
    "ScrubbingOptions": "ff_otel.privacy",
    "StoreError": "ff_otel.store",
    "StoreLayout": "ff_otel.store",
    "VerificationResult": "ff_otel.compliance.audit",
    "audit": "ff_otel.sdk.compliance",
    "configure": "ff_otel.sdk.setup",
    "counter": "ff_otel.sdk.meters",
    "current": "ff_otel.sdk.setup",
    "erase_user": "ff_otel.users",
    "export_data": "ff_otel.sdk.compliance",
    "export_user_data": "ff_otel.users",
    "force_flush": "ff_otel.sdk.setup",
    "generate_regulatory_report": "ff_otel.sdk.compliance",
    "generate_report": "ff_otel.reporting",
    "histogram": "ff_otel.sdk.meters",
    "instrument": "ff_otel.sdk.tracing",
    "opt_in": "ff_otel.users",
    "opt_out": "ff_otel.users",
    "query": "ff_otel.query",
    "read_records": "ff_otel.store",
    "record_security_event": "ff_otel.sdk.compliance",
    "record_user_event": "ff_otel.users",
    "register_health_check": "ff_otel.pipeline",
    "replay_spans": "ff_otel.exporters.replay",
    "run_retention": "ff_otel.sdk.compliance",
    "shutdown": "ff_otel.sdk.setup",
    "silence_alerts": "ff_otel.sdk.alerts",
    "span": "ff_otel.sdk.tracing",
    "sql": "ff_otel.sql",
    "sql_arrow": "ff_otel.sql",
    "up_down_counter": "ff_otel.sdk.meters",
    "verify_audit_trail": "ff_otel.sdk.compliance",
}

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


_SHADOWED = frozenset({"query", "sql"})
"""Public functions named like the submodule they live in."""


class _Package(types.ModuleType):
    # Importing a submodule binds it on its package: without this, the first
    # ``import ff_otel.sql`` anywhere would turn ``ff_otel.sql`` from the
    # function into the module (the eager imports used to rebind it back).
    def __setattr__(self, name: str, value: object) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ff_otel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
