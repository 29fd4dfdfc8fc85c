"""Delivering alert notifications: log, webhook (Alertmanager shapes) and email.

Notifications are queued and sent by one daemon thread, never on the
collector's or the application's threads. Each delivery has a timeout and a
bounded number of retries with backoff; a dead endpoint costs the queue some
time and nothing else. Every delivery, failed or not, is reported back
(``on_result``) so that it lands in ``alerts.jsonl``.

Webhooks get Alertmanager's webhook payload (version 4) by default, so any
receiver written for Alertmanager understands them; ``webhook_format =
"alertmanager_api"`` instead posts the alerts to an Alertmanager's
``/api/v2/alerts``, letting Alertmanager do the routing.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import smtplib
import threading
import time
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import orjson

from ff_otel.alerting.state import AlertState
from ff_otel.spec.alerting_config import FFAnalyticsAlertingConfigDTO, FFNotificationSettingsDTO

_logger = logging.getLogger("ff_otel.alerts")
_QUEUE_LIMIT = 1000
_NEVER = "0001-01-01T00:00:00Z"


DeliveryResult = Callable[[dict[str, Any], str, str, bool, str | None, int], None]
"""(alert record, channel, target, delivered, error, attempts)."""


class NotificationDispatcher:
    """A queue and one sender thread for every channel the alerting config enables."""

    def __init__(
        self,
        alerting: FFAnalyticsAlertingConfigDTO,
        settings: FFNotificationSettingsDTO,
        service: str,
        on_result: DeliveryResult,
    ) -> None:
        self.alerting = alerting
        self.settings = settings
        self.service = service
        self._on_result = on_result
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(_QUEUE_LIMIT)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def notify(self, record: dict[str, Any]) -> None:
        """Log now; queue webhook and email delivery. Never blocks."""
        if self.alerting.enable_log_alerts:
            level = logging.getLevelName(self.alerting.alert_log_level)
            _logger.log(
                level if isinstance(level, int) else logging.WARNING,
                "ff-otel alert %s [%s] %s: %s",
                record.get("event"),
                record.get("severity"),
                record.get("title"),
                record.get("message"),
            )
        if not (self.alerting.enable_webhook_alerts and self.alerting.webhook_urls) and not (
            self.alerting.enable_email_alerts and self.alerting.email_recipients
        ):
            return
        self._start()
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._on_result(record, "queue", "", False, "notification queue full", 0)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (up to ``timeout``), then stop the thread."""
        thread = self._thread
        if thread is None:
            return
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        thread.join(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="ff-otel-notifier", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            record = self._queue.get()
            if record is None:
                return
            self._send_all(record)

    def _send_all(self, record: dict[str, Any]) -> None:
        if self.alerting.enable_webhook_alerts:
            for url in self.alerting.webhook_urls:
                self._deliver(record, "webhook", url, functools.partial(self._post, url, record))
        if self.alerting.enable_email_alerts and self.alerting.email_recipients:
            targets = ",".join(self.alerting.email_recipients)
            self._deliver(record, "email", targets, lambda: self._email(record))

    def _deliver(
        self, record: dict[str, Any], channel: str, target: str, send: Callable[[], None]
    ) -> None:
        attempts = 0
        error: str | None = None
        for attempt in range(self.settings.notify_retries + 1):
            attempts = attempt + 1
            try:
                send()
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                time.sleep(min(0.2 * 2**attempt, 2.0))
                continue
            self._on_result(record, channel, target, True, None, attempts)
            return
        _logger.warning("ff-otel: %s notification to %s failed: %s", channel, target, error)
        self._on_result(record, channel, target, False, error, attempts)

    def _post(self, url: str, record: dict[str, Any]) -> None:
        if self.settings.webhook_format == "alertmanager_api":
            body: Any = [alertmanager_alert(record, self.service)]
            url = url.rstrip("/") + "/api/v2/alerts"
        else:
            body = alertmanager_webhook(record, self.service)
        request = urllib.request.Request(
            url,
            data=orjson.dumps(body),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.settings.notify_timeout_seconds) as reply:
            reply.read()

    def _email(self, record: dict[str, Any]) -> None:
        settings = self.settings
        message = EmailMessage()
        state = _notified_state(record).upper()
        message["Subject"] = f"[ff-otel] {state} {record.get('severity')}: {record.get('title')}"
        message["From"] = settings.smtp_from
        message["To"] = ", ".join(self.alerting.email_recipients)
        message.set_content(_email_text(record, self.service))
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(message)


def _notified_state(record: dict[str, Any]) -> AlertState:
    # Only firing (fired, escalated) and resolved alerts are notified; the names
    # are Alertmanager's too.
    return AlertState.RESOLVED if record.get("state") == AlertState.RESOLVED else AlertState.FIRING


def alertmanager_alert(record: dict[str, Any], service: str) -> dict[str, Any]:
    """One alert in Alertmanager's API shape."""
    labels = {
        "alertname": str(record.get("rule") or record.get("alert_type")),
        "severity": str(record.get("severity")),
        "service": service,
        **(
            {"component": str(record["affected_component"])}
            if record.get("affected_component")
            else {}
        ),
        **{str(k): str(v) for k, v in (record.get("labels") or {}).items()},
    }
    annotations = {"summary": str(record.get("title")), "description": str(record.get("message"))}
    if record.get("documentation_links"):
        annotations["runbook_url"] = str(record["documentation_links"][0])
    return {
        "labels": labels,
        "annotations": annotations,
        "startsAt": record.get("fired_at") or record.get("timestamp"),
        "endsAt": record.get("timestamp") if record.get("resolved") else _NEVER,
        "generatorURL": "",
    }


def alertmanager_webhook(record: dict[str, Any], service: str) -> dict[str, Any]:
    """Alertmanager's webhook payload (version 4) for one alert."""
    alert = alertmanager_alert(record, service)
    status = _notified_state(record).value
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{alert["labels"]["alertname"]}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "ff-otel",
        "groupLabels": {"alertname": alert["labels"]["alertname"]},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "",
        "alerts": [{**alert, "status": status, "fingerprint": str(record.get("alert_id"))}],
    }


def _email_text(record: dict[str, Any], service: str) -> str:
    lines = [
        f"{record.get('title')}",
        "",
        f"{record.get('message')}",
        "",
        f"service: {service}",
        f"severity: {record.get('severity')}",
        f"component: {record.get('affected_component') or '-'}",
        f"value: {record.get('current_value')} (threshold {record.get('threshold_value')})",
        f"event: {record.get('event')}",
        f"alert id: {record.get('alert_id')}",
    ]
    for action in record.get("recommended_actions") or ():
        lines.append(f"- {action}")
    return "\n".join(lines) + "\n"
