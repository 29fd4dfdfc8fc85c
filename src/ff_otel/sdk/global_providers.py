"""OTel global providers that follow ``configure()`` across reconfiguration.

OpenTelemetry lets a process set its global providers once. ff-otel rebuilds
its SDK providers on every ``configure()``, so it installs these switchable
providers as the globals on first use and re-points them each time:
instrumentation libraries that cached a tracer, meter or logger from the
globals keep recording into the current store after a reconfigure.
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry._logs import Logger, LoggerProvider, NoOpLogger
from opentelemetry.metrics import Meter, MeterProvider
from opentelemetry.metrics._internal import _ProxyMeter
from opentelemetry.util.types import Attributes


class _Switchboard:
    """The current real providers, and a generation that changes with each switch."""

    def __init__(self) -> None:
        self.generation = 0
        self.tracer_provider: trace.TracerProvider = trace.NoOpTracerProvider()
        self.logger_provider: LoggerProvider = _logs.NoOpLoggerProvider()
        self.meters: dict[tuple[str, str | None, str | None], _SwitchMeter] = {}
        self.meter_provider: MeterProvider = metrics.NoOpMeterProvider()
        self.lock = threading.Lock()
        self.installed = False


_board = _Switchboard()


def switch_providers(
    tracer_provider: trace.TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
) -> None:
    """Point the global providers at these SDK providers (installing them once)."""
    with _board.lock:
        _board.tracer_provider = tracer_provider
        _board.logger_provider = logger_provider
        _board.meter_provider = meter_provider
        _board.generation += 1
        for meter in _board.meters.values():
            meter.on_set_meter_provider(meter_provider)
        first = not _board.installed
        _board.installed = True
    if first:
        trace.set_tracer_provider(switch_tracer_provider)
        metrics.set_meter_provider(switch_meter_provider)
        _logs.set_logger_provider(switch_logger_provider)


def release_providers() -> None:
    """After ``shutdown()``: globals record nothing until the next ``configure()``."""
    switch_providers(
        trace.NoOpTracerProvider(), metrics.NoOpMeterProvider(), _logs.NoOpLoggerProvider()
    )


class _SwitchTracerProvider(trace.TracerProvider):
    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes | None = None,
    ) -> trace.Tracer:
        return _SwitchTracer(
            (instrumenting_module_name, instrumenting_library_version, schema_url, attributes)
        )


class _SwitchTracer(trace.Tracer):
    def __init__(self, args: tuple[Any, ...]) -> None:
        self._args = args
        self._generation = -1
        self._tracer: trace.Tracer = trace.NoOpTracer()

    def _current(self) -> trace.Tracer:
        if self._generation != _board.generation:
            self._generation = _board.generation
            self._tracer = _board.tracer_provider.get_tracer(*self._args)
        return self._tracer

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._current().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._current().start_as_current_span(*args, **kwargs)


class _BindingInstruments(list[Any]):
    """The proxy meter's instrument list: a new instrument is bound to the current meter."""

    def __init__(self, meter: _SwitchMeter) -> None:
        super().__init__()
        self._meter = meter

    def append(self, instrument: Any) -> None:
        super().append(instrument)
        if self._meter.bound is not None:
            instrument.on_meter_set(self._meter.bound)


class _SwitchMeter(_ProxyMeter):
    """OTel's proxy meter, re-bindable: it always hands out proxy instruments."""

    def __init__(self, name: str, version: str | None, schema_url: str | None) -> None:
        super().__init__(name, version=version, schema_url=schema_url)
        self.bound: Meter | None = None
        self._instruments = _BindingInstruments(self)

    def on_set_meter_provider(self, meter_provider: MeterProvider) -> None:
        real = meter_provider.get_meter(self._name, self._version, self._schema_url)
        with self._lock:
            self.bound = real
            for instrument in self._instruments:
                instrument.on_meter_set(real)


class _SwitchMeterProvider(MeterProvider):
    def get_meter(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes | None = None,
    ) -> Meter:
        key = (name, version, schema_url)
        with _board.lock:
            meter = _board.meters.get(key)
            if meter is None:
                meter = _board.meters[key] = _SwitchMeter(name, version, schema_url)
                meter.on_set_meter_provider(_board.meter_provider)
        return meter


class _SwitchLoggerProvider(LoggerProvider):
    def get_logger(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes | None = None,
    ) -> Logger:
        return _SwitchLogger(name, version, schema_url, attributes)


class _SwitchLogger(Logger):
    def __init__(
        self, name: str, version: str | None, schema_url: str | None, attributes: Attributes
    ) -> None:
        super().__init__(name, version, schema_url, attributes)
        self._generation = -1
        self._logger: Logger = NoOpLogger(name)

    def _current(self) -> Logger:
        if self._generation != _board.generation:
            self._generation = _board.generation
            self._logger = _board.logger_provider.get_logger(
                self._name, self._version, self._schema_url, self._attributes
            )
        return self._logger

    def emit(self, record: Any = None, **kwargs: Any) -> None:
        if record is None:
            self._current().emit(**kwargs)
        else:
            self._current().emit(record)

    def enabled(self, **kwargs: Any) -> bool:
        return self._current().enabled(**kwargs)


switch_tracer_provider = _SwitchTracerProvider()
switch_meter_provider = _SwitchMeterProvider()
switch_logger_provider = _SwitchLoggerProvider()
