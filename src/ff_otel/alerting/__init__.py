"""Alert rules, the alert engine, anomaly detection and notifiers."""

from ff_otel.alerting.anomaly import Anomaly, AnomalyDetector
from ff_otel.alerting.notifiers import FFNotificationSettingsDTO
from ff_otel.alerting.rules import AlertRule
from ff_otel.alerting.scoring import AnomalyScorer

__all__ = ["AlertRule", "Anomaly", "AnomalyDetector", "AnomalyScorer", "FFNotificationSettingsDTO"]
