"""Alerting: the built-in rules, the alert engine and its state, anomaly detection
and scoring, alert operations (acknowledge, resolve, silence) and the notifiers.
It may import :mod:`ff_otel.compliance` (operations are audited),
:mod:`ff_otel.sql`, :mod:`ff_otel.settings`, :mod:`ff_otel.store`,
:mod:`ff_otel.spec` and :mod:`ff_otel.core`; the fleet-wide monitor that feeds
it from SQL snapshots is :mod:`ff_otel.pipeline.fleet`.
"""

from ff_otel.alerting.anomaly import Anomaly, AnomalyDetector
from ff_otel.alerting.scoring import AnomalyScorer
from ff_otel.alerting.state import AlertState
from ff_otel.spec.alerting_config import AlertRule, FFNotificationSettingsDTO

__all__ = [
    "AlertRule",
    "AlertState",
    "Anomaly",
    "AnomalyDetector",
    "AnomalyScorer",
    "FFNotificationSettingsDTO",
]
