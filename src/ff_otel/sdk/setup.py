"""``configure()``, ``force_flush()`` and ``shutdown()``: one call sets everything up.

``configure()`` validates the settings and creates the store before it touches
anything that is running, so a bad value leaves the previous configuration in
place. Calling it again builds a fresh set of OTel providers and switches the
process over to them; the old ones are flushed and shut down.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from pathlib import Path
from typing import Any

from ff_otel.compliance.spool import SPOOL
from ff_otel.compliance.trails import audit_act
from ff_otel.instrumentation import logging_bridge
from ff_otel.privacy.scrubber import ScrubbingOptions
from ff_otel.sdk import global_providers, runtime
from ff_otel.sdk.handle import FFOtel
from ff_otel.settings.resolution import resolve_settings
from ff_otel.settings.running import activate, deactivate
from ff_otel.spec.alerting_config import AlertRule, FFNotificationSettingsDTO
from ff_otel.spec.config import FFAnalyticsConfigDTO, FFBusinessInputsDTO
from ff_otel.store.layout import StoreLayout
from ff_otel.store.limits import RecordLimits

__all__ = ["FFOtel", "configure", "current", "force_flush", "shutdown"]

_logger = logging.getLogger("ff_otel")
_lock = threading.RLock()
_current: FFOtel | None = None


def configure(
    *,
    base_path: str | Path | None = None,
    service_name: str | None = None,
    analytics: FFAnalyticsConfigDTO | None = None,
    otlp_endpoint: str | None = None,
    system_metrics: bool | None = None,
    scrubbing: ScrubbingOptions | None = None,
    business: FFBusinessInputsDTO | None = None,
    alert_rules: list[AlertRule] | None = None,
    notifications: FFNotificationSettingsDTO | None = None,
    logging: bool | None = None,
    logging_level: str | None = None,
    limits: RecordLimits | None = None,
    query_url: str | None = None,
    query_timeout_seconds: float | None = None,
) -> FFOtel:
    """Set up tracing, metrics and logs into the flatfile store (and OTLP when asked).

    Every argument also comes from the environment or the ``FF_OTEL_CONFIG``
    TOML file; code beats environment beats file. ``scrubbing`` adds patterns
    and a callback to the scrubber that runs before every exporter;
    ``business`` gives the BI cost and revenue inputs; ``alert_rules`` add to
    the built-in rules and ``notifications`` says how to reach people;
    ``logging`` sends standard ``logging`` records at ``logging_level`` and
    above to the store with their trace context; ``limits`` bound what one
    stored record may hold (:class:`~ff_otel.RecordLimits`); ``query_url``
    (``FF_OTEL_QUERY_URL``) is where ``ff_otel.sql`` and BI query by default
    (``chdb://``, ``clickhouse://``, ``clickhouses://``; the local store when
    unset), ``query_timeout_seconds`` the longest such a backend may take. Raises
    :class:`~ff_otel.ConfigError` for an invalid value and
    :class:`~ff_otel.StoreError` when the store cannot be created, in both
    cases before changing what is already running.
    """
    global _current
    arguments: dict[str, Any] = {
        "base_path": base_path,
        "service_name": service_name,
        "analytics": analytics,
        "otlp_endpoint": otlp_endpoint,
        "system_metrics": system_metrics,
        "business": business,
        "alert_rules": alert_rules,
        "notifications": notifications,
        "logging": logging,
        "logging_level": logging_level,
        "limits": limits,
        "query_url": query_url,
        "query_timeout_seconds": query_timeout_seconds,
    }
    settings = resolve_settings(arguments)
    layout = StoreLayout(settings.base_path)
    if settings.disabled:
        handle = FFOtel(settings=settings, layout=layout)
    else:
        layout.initialize(settings.analytics)
        layout.check_writable()
        # Here, not at the top: the assembly loads the pipeline, the alert
        # engine and the notifiers, which code that only asks for
        # ``current()`` or ``shutdown()`` (the pytest plugin) need not pay
        # for. The fork hook below is registered after it, so that it runs
        # after the hooks of the modules it loads (lease, appender, health)
        # have reset their inherited locks.
        from ff_otel.sdk import assembly

        _reconfigure_forked_children()

        handle = assembly.build(settings, layout, scrubbing)
    handle._configured_with = {**arguments, "scrubbing": scrubbing}
    with _lock:
        previous, _current = _current, handle
        activate(layout, settings)
        if handle.tracer_provider is not None:
            assert handle.meter_provider and handle.logger_provider
            runtime.tracer = handle.tracer_provider.get_tracer("ff_otel")
            global_providers.switch_providers(
                handle.tracer_provider, handle.meter_provider, handle.logger_provider
            )
            if settings.logging:
                handle.log_bridge = logging_bridge.attach(
                    handle.logger_provider, settings.logging_level
                )
        else:
            runtime.tracer = None
            global_providers.release_providers()
    if previous is not None:
        previous.shutdown()
    if handle.enabled:
        audit_act(
            layout,
            "configure",
            str(layout.base_path),
            service=settings.service_name,
            analytics_level=settings.analytics.analytics_level,
            otlp=bool(settings.otlp_endpoint),
            reconfigured=previous is not None,
        )
    return handle


def force_flush(timeout_millis: int = 30_000) -> bool:
    """Everything recorded so far is in the files when this returns True."""
    handle = _current
    return handle.force_flush(timeout_millis) if handle is not None else True


def shutdown() -> None:
    """Flush, stop background work and detach from the OTel globals; safe to call twice."""
    global _current
    with _lock:
        handle, _current = _current, None
        deactivate()
        runtime.tracer = None
        if handle is not None:
            global_providers.release_providers()
    if handle is not None:
        handle.shutdown()
    # Compliance records still waiting for the disk get a last try; what is
    # left is logged as lost (the spool lives in memory).
    SPOOL.give_up()


def current() -> FFOtel | None:
    """The running configuration, or None."""
    return _current


def _shutdown_at_exit(*_: Any) -> None:
    shutdown()


atexit.register(_shutdown_at_exit)


def _configure_forked_child() -> None:
    # A forked child (a gunicorn worker, a multiprocessing child) has none of
    # the parent's threads, a copy of its queues and the parent's process
    # identity in its samplers: it drops that configuration unflushed and
    # configures afresh with the same arguments, so each worker records its
    # own telemetry into the shared store (the collector lease stays the
    # parent's; see store/lease.py).
    global _current, _lock
    _lock = threading.RLock()
    inherited, _current = _current, None
    if inherited is None:
        return
    inherited._abandon()
    deactivate()
    runtime.tracer = None
    try:
        configure(**inherited._configured_with)
    except Exception:
        global_providers.release_providers()
        _logger.exception("ff-otel: process %d (forked) could not configure itself", os.getpid())


_fork_hook_registered = False


def _reconfigure_forked_children() -> None:
    global _fork_hook_registered
    if not _fork_hook_registered:
        _fork_hook_registered = True
        os.register_at_fork(after_in_child=_configure_forked_child)
