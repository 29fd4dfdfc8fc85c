"""Standard ``logging`` records become OTel log records in the store (opt-in).

``configure(logging=True)`` (or ``FF_OTEL_LOGGING=true``, or the standard
``OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true``) puts one handler on
the root logger. It is the OTel SDK's ``LoggingHandler`` (message as body,
``extra=`` fields as attributes, exception type, message and stack, and the
active span's trace and span ids) bound to ff-otel's own ``LoggerProvider``, so
records pass the scrubber and land in ``system_metrics/logs.jsonl``, errors
also in ``error_rates.jsonl``. On top of the SDK's handler it:

- ignores records of ff-otel's and OpenTelemetry's own loggers and never
  re-enters itself, so an exporter or the SDK that logs cannot feed back;
- counts and reports its own faults (rate-limited) instead of raising into
  the code that logged;
- replaces the handler of a previous ``configure()`` rather than adding a
  second one, and is taken off again by ``shutdown()``;
- lowers the root logger's level to the configured one when it is higher
  (Python's default is WARNING), and puts it back when removed;
- leaves Python's last-resort printing to stderr as it was: a warning that
  no other handler sees is still printed;
- stays on the root logger when the application later calls
  ``logging.basicConfig``, ``dictConfig`` or ``fileConfig``, without keeping
  ``basicConfig`` from adding its console handler.
"""

from __future__ import annotations

import functools
import logging
import logging.config
import threading
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from opentelemetry._logs import LoggerProvider
from opentelemetry.sdk._logs import LoggingHandler
from opentelemetry.util.types import Attributes

from ff_otel.exporters.guard import ExportGuard

_OWN_LOGGERS = frozenset({"ff_otel", "opentelemetry"})
# Values the SDK stores as they are; anything else becomes its str() here,
# so an object in ``extra=`` is kept readable instead of making the SDK warn.
_PLAIN_VALUES = (str, bool, int, float, bytes, type(None), list, tuple, dict)

_lock = threading.Lock()
_attached: LoggingBridge | None = None
_root_level_before: int | None = None
_root_level_set: int | None = None
_config_functions_wrapped = False

F = TypeVar("F", bound=Callable[..., Any])


class LoggingBridge(LoggingHandler):
    """The root logger's handler that sends records to one ff-otel ``LoggerProvider``.

    Created and attached by :func:`attach`; applications do not construct it.
    ``guard.stats`` counts the records it could not pass on.
    """

    def __init__(self, logger_provider: LoggerProvider, level: int) -> None:
        with warnings.catch_warnings():
            # The SDK marks this handler deprecated in favour of one in
            # opentelemetry-instrumentation-logging, whose instrumentor would
            # also put its own handler on the root logger under
            # opentelemetry-instrument; the SDK's handler is the same code.
            warnings.simplefilter("ignore", DeprecationWarning)
            # The handler's own level stays NOTSET so that it sees the records
            # below ``level`` too, which _print_if_unhandled needs.
            super().__init__(logger_provider=logger_provider)
        self.threshold = level
        self.guard = ExportGuard("logging bridge")
        self._emitting: ContextVar[bool] = ContextVar("ff_otel_logging_bridge", default=False)

    def emit(self, record: logging.LogRecord) -> None:
        _print_if_unhandled(record, self)
        if (
            record.levelno < self.threshold
            or record.name.partition(".")[0] in _OWN_LOGGERS
            or self._emitting.get()
        ):
            return
        token = self._emitting.set(True)
        try:
            super().emit(record)
        except Exception as exc:
            self.guard.failed(exc, dropped=1)
        finally:
            self._emitting.reset(token)

    @staticmethod
    def _get_attributes(record: logging.LogRecord) -> Attributes:
        attributes = LoggingHandler._get_attributes(record) or {}
        return {
            key: value if isinstance(value, _PLAIN_VALUES) else str(value)
            for key, value in attributes.items()
        }

    def flush(self) -> None:
        # ff_otel.force_flush() flushes the provider. The SDK's version starts
        # a thread per call, and logging.shutdown() calls it at exit after
        # ff-otel's own exit hook has already shut the provider down.
        return None


def _print_if_unhandled(record: logging.LogRecord, bridge: LoggingBridge) -> None:
    """Python's last resort (WARNING and above to stderr) as if the bridge were absent.

    Python prints a record no handler saw; the bridge counts as one, which
    would silence an application that never configured logging, and ff-otel's
    own error reports, which the bridge does not store.
    """
    last_resort = logging.lastResort
    if last_resort is None or record.levelno < last_resort.level:
        return
    logger: Any = logging.root.manager.loggerDict.get(record.name)
    if not isinstance(logger, logging.Logger):
        logger = logging.root
    while logger is not None:
        if any(handler is not bridge for handler in logger.handlers):
            return
        logger = logger.parent if logger.propagate else None
    last_resort.handle(record)


def attach(logger_provider: LoggerProvider, level_name: str) -> LoggingBridge:
    """Put a bridge to ``logger_provider`` on the root logger, replacing any earlier one."""
    global _attached
    level = logging.getLevelName(level_name)
    if not isinstance(level, int):
        raise ValueError(f"unknown logging level {level_name!r}")
    bridge = LoggingBridge(logger_provider, level)
    root = logging.getLogger()
    with _lock:
        _wrap_config_functions()
        previous, _attached = _attached, bridge
        if previous is not None:
            root.removeHandler(previous)
            _restore_root_level(root)
        root.addHandler(bridge)
        _lower_root_level(root, level)
    return bridge


def detach(bridge: LoggingBridge) -> None:
    """Take ``bridge`` off the root logger if it is still the attached one; safe twice."""
    global _attached
    root = logging.getLogger()
    with _lock:
        if _attached is not bridge:
            return
        _attached = None
        root.removeHandler(bridge)
        _restore_root_level(root)


def attached() -> LoggingBridge | None:
    """The bridge on the root logger now, or None."""
    return _attached


def _lower_root_level(root: logging.Logger, level: int) -> None:
    global _root_level_before, _root_level_set
    if root.level > level:
        _root_level_before, _root_level_set = root.level, level
        root.setLevel(level)


def _restore_root_level(root: logging.Logger) -> None:
    global _root_level_before, _root_level_set
    # Only undo our own change: a level the application set since then stays.
    if _root_level_before is not None and root.level == _root_level_set:
        root.setLevel(_root_level_before)
    _root_level_before = _root_level_set = None


def _keeps_bridge(config_function: F) -> F:
    @functools.wraps(config_function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        bridge = _attached
        root = logging.getLogger()
        if bridge is None or bridge not in root.handlers:
            return config_function(*args, **kwargs)
        # basicConfig does nothing when the root logger has a handler, and
        # dictConfig/fileConfig remove the ones they did not create.
        root.removeHandler(bridge)
        try:
            return config_function(*args, **kwargs)
        finally:
            if _attached is bridge:
                root.addHandler(bridge)

    return wrapped  # type: ignore[return-value]


def _wrap_config_functions() -> None:
    global _config_functions_wrapped
    if _config_functions_wrapped:
        return
    _config_functions_wrapped = True
    logging.basicConfig = _keeps_bridge(logging.basicConfig)
    logging.config.dictConfig = _keeps_bridge(logging.config.dictConfig)
    logging.config.fileConfig = _keeps_bridge(logging.config.fileConfig)
