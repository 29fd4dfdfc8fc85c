"""ff-otel as an OpenTelemetry distro and configurator for ``opentelemetry-instrument``.

The contrib package's ``sitecustomize`` loads one distro (``OTEL_PYTHON_DISTRO``,
else the first installed), calls its ``configure()``, then one configurator
(``OTEL_PYTHON_CONFIGURATOR``, else the first installed), then every installed
instrumentor not named in ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``.

:class:`FFOtelDistro` makes ff-otel's configurator and the ``ff_flatfile``
exporters the defaults. :class:`FFOtelConfigurator` is one
``ff_otel.configure()`` call with everything taken from the environment: the
store, system metrics and the pipeline, OTLP when an endpoint is set, and
beside them whatever ``OTEL_TRACES_EXPORTER``, ``OTEL_METRICS_EXPORTER`` and
``OTEL_LOGS_EXPORTER`` name, each loaded from its entry point and scrubbed
like everything else that leaves the process.

The store always receives all three signals (it is what ff-otel is for, and
the pipeline reads it); those variables choose what goes beside it.
``ff_flatfile`` and ``none`` add nothing. ``otlp`` (or ``otlp_proto_grpc``,
``otlp_proto_http``) adds nothing when an OTLP endpoint is configured, since
``configure()`` already sends every signal there; without one it adds that
signal's OTLP exporter with the exporter's own defaults and variables.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass
from types import FrameType
from typing import Any

from opentelemetry.environment_variables import (
    OTEL_LOGS_EXPORTER,
    OTEL_METRICS_EXPORTER,
    OTEL_TRACES_EXPORTER,
)
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.instrumentation.environment_variables import OTEL_PYTHON_CONFIGURATOR
from opentelemetry.sdk._configuration import _BaseConfigurator
from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_METRIC_EXPORT_INTERVAL,
)
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.util._importlib_metadata import entry_points

from ff_otel.exporters.entry_points import FLATFILE_EXPORTER
from ff_otel.exporters.scrubbing import (
    ScrubbingLogExporter,
    ScrubbingMetricExporter,
    ScrubbingSpanExporter,
)
from ff_otel.privacy.scrubber import Scrubber
from ff_otel.sdk.assembly import ExtraExports, set_extra_exporters
from ff_otel.sdk.setup import configure, shutdown
from ff_otel.settings.model import ConfigError, FFOtelSettings
from ff_otel.store.layout import StoreError

DISTRO_NAME = "ff_otel"
"""The name of the distro and configurator entry points (``OTEL_PYTHON_DISTRO=ff_otel``)."""

_logger = logging.getLogger("ff_otel.instrumentation")
_SIGTERM_FLUSH_SECONDS = 10.0
_NO_EXPORTER = "none"
_OTLP_PROTOCOL_EXPORTERS = {"grpc": "otlp_proto_grpc", "http/protobuf": "otlp_proto_http"}
_OTLP_NAMES = {"otlp", *_OTLP_PROTOCOL_EXPORTERS.values()}


@dataclass(frozen=True)
class _Signal:
    variable: str
    group: str
    protocol_variable: str
    base: type


_TRACES = _Signal(
    OTEL_TRACES_EXPORTER,
    "opentelemetry_traces_exporter",
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    SpanExporter,
)
_METRICS = _Signal(
    OTEL_METRICS_EXPORTER,
    "opentelemetry_metrics_exporter",
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    MetricExporter,
)
_LOGS = _Signal(
    OTEL_LOGS_EXPORTER,
    "opentelemetry_logs_exporter",
    OTEL_EXPORTER_OTLP_LOGS_PROTOCOL,
    LogRecordExporter,
)


class FFOtelDistro(BaseDistro):  # type: ignore[misc]
    """``OTEL_PYTHON_DISTRO=ff_otel``: ff-otel's configurator and exporters by default.

    Only defaults are set: a variable the user set keeps its value, so
    ``OTEL_PYTHON_CONFIGURATOR`` can still choose another configurator (which
    then writes the store through the ``ff_flatfile`` exporters).
    """

    def _configure(self, **kwargs: Any) -> None:
        os.environ.setdefault(OTEL_PYTHON_CONFIGURATOR, DISTRO_NAME)
        for kind in (_TRACES, _METRICS, _LOGS):
            os.environ.setdefault(kind.variable, FLATFILE_EXPORTER)


class FFOtelConfigurator(_BaseConfigurator):
    """``OTEL_PYTHON_CONFIGURATOR=ff_otel``: ``ff_otel.configure()`` from the environment.

    A configuration error is logged as one line and the program runs on
    unrecorded: telemetry must not stop the service it observes.
    """

    def _configure(self, **kwargs: Any) -> None:
        set_extra_exporters(environment_exporters)
        try:
            configure()
        except (ConfigError, StoreError) as exc:
            _logger.error("ff-otel: auto-instrumentation is not recording: %s", exc)
            return
        flush_before_sigterm()


def flush_before_sigterm() -> None:
    """Where SIGTERM would end the process unhandled, flush ff-otel first.

    Python runs no ``atexit`` handler when a signal's default action ends the
    process, so the last batches and the final pipeline run would be lost
    (uvicorn, for one, re-raises SIGTERM after its graceful shutdown). The
    handler flushes, then ends the process by SIGTERM exactly as before, so
    the exit status is unchanged. A program or server that handles SIGTERM
    itself replaces this handler, and ends through ``atexit`` as usual.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _flush_then_terminate)


def _flush_then_terminate(signum: int, frame: FrameType | None) -> None:
    # The flush runs on its own thread, waited for a bounded time: the
    # interrupted main thread may hold a lock the flush needs.
    flusher = threading.Thread(target=shutdown, name="ff-otel-sigterm-flush", daemon=True)
    flusher.start()
    flusher.join(_SIGTERM_FLUSH_SECONDS)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.raise_signal(signal.SIGTERM)


def environment_exporters(settings: FFOtelSettings, scrubber: Scrubber) -> ExtraExports:
    """The exporters the ``OTEL_*_EXPORTER`` variables add beside the store, scrubbed.

    A name that no installed package provides, or whose exporter fails to
    start, is logged and skipped; the rest still run.
    """
    otlp_configured = bool(settings.otlp_endpoint)
    interval_ms = (
        None
        if os.environ.get(OTEL_METRIC_EXPORT_INTERVAL)
        else settings.analytics.collection_interval_seconds * 1000
    )
    spans: list[SpanProcessor] = [
        BatchSpanProcessor(ScrubbingSpanExporter(exporter, scrubber))
        for exporter in _exporters(_TRACES, otlp_configured)
    ]
    logs: list[LogRecordProcessor] = [
        BatchLogRecordProcessor(ScrubbingLogExporter(exporter, scrubber))
        for exporter in _exporters(_LOGS, otlp_configured)
    ]
    metrics: list[MetricReader] = [
        PeriodicExportingMetricReader(
            ScrubbingMetricExporter(exporter, scrubber), export_interval_millis=interval_ms
        )
        for exporter in _exporters(_METRICS, otlp_configured)
    ]
    return ExtraExports(spans=spans, logs=logs, metrics=metrics)


def exporter_names(variable: str) -> list[str]:
    """The names in one ``OTEL_*_EXPORTER`` variable that add an exporter beside the store."""
    names = [name.strip() for name in os.environ.get(variable, "").split(",")]
    return [name for name in names if name and name not in (FLATFILE_EXPORTER, _NO_EXPORTER)]


def _exporters(signal: _Signal, otlp_configured: bool) -> list[Any]:
    found = []
    for name in exporter_names(signal.variable):
        if name in _OTLP_NAMES and otlp_configured:
            continue
        exporter = _load_exporter(signal, name)
        if exporter is not None:
            found.append(exporter)
    return found


def _load_exporter(signal: _Signal, name: str) -> Any | None:
    where = f"{signal.variable} names {name!r}"
    entry_name = name
    if name == "otlp":
        protocol = (
            os.environ.get(signal.protocol_variable)
            or os.environ.get(OTEL_EXPORTER_OTLP_PROTOCOL)
            or "grpc"
        ).strip()
        if protocol not in _OTLP_PROTOCOL_EXPORTERS:
            _logger.error("ff-otel: %s with OTLP protocol %r, which is unknown", where, protocol)
            return None
        entry_name = _OTLP_PROTOCOL_EXPORTERS[protocol]
    candidates = list(entry_points(group=signal.group, name=entry_name))
    if not candidates:
        _logger.error("ff-otel: %s, but no installed package provides it; skipped", where)
        return None
    try:
        factory = candidates[0].load()
        if isinstance(factory, type) and issubclass(factory, MetricReader):
            # A pull reader (e.g. Prometheus) serves what it reads itself:
            # there is no export step where the scrubber could run.
            _logger.error("ff-otel: %s, a metric reader that cannot be scrubbed; skipped", where)
            return None
        exporter = factory()
    except Exception:
        _logger.exception("ff-otel: %s, which failed to start; skipped", where)
        return None
    if not isinstance(exporter, signal.base):
        _logger.error("ff-otel: %s, which is not a %s; skipped", where, signal.base.__name__)
        return None
    return exporter
