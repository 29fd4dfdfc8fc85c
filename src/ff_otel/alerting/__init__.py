"""Alert rules, the alert engine, anomaly detection and notifiers."""

from ff_otel.alerting.anomaly import Anomaly, AnomalyDetector
from ff_otel.alerting.notifiers import FFNotificationSettingsDTO
from ff_otel.alerting.rules import AlertRule
from ff_otel.alerting.scoring import AnomalyScorer
from ff_otel.alerting.state import AlertState

__all__ = [
    "AlertRule",
    "AlertState",
    "Anomaly",
    "AnomalyDetector",
    "AnomalyScorer",
    "FFNotificationSettingsDTO",
]
