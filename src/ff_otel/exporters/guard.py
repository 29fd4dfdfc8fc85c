"""Counting and rate-limited logging of exporter faults.

Telemetry must never crash the host: an exporter catches every fault, hands it
here, and returns failure to the OTel SDK. The first fault of a kind is logged
with its cause; repeats are counted and summarised at most once a minute, so a
full disk does not flood the application's own logs.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from ff_otel.store.appender import SerializationFaults

_LOG_EVERY_SECONDS = 60.0
_logger = logging.getLogger("ff_otel.exporters")


@dataclass
class ExportStats:
    """What one exporter has done since it was created."""

    exported: int = 0
    failures: int = 0
    dropped: int = 0
    """Records not stored: a failed write, or a record that could not be mapped or serialised."""
    repaired: int = 0
    """Records stored with values a limit cut or a repair replaced (see ``dropped_values``)."""
    last_error: str | None = None
    last_export_ok: bool | None = None
    _last_logged: float = field(default=0.0, repr=False)
    _unlogged: int = field(default=0, repr=False)


class ExportGuard:
    """Thread-safe success and failure bookkeeping for one exporter."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stats = ExportStats()
        self.faults = SerializationFaults()
        """Passed to the appender: what it repaired or left out, folded into ``stats``."""
        self._lock = threading.Lock()
        self._flushed_dropped = 0

    def succeeded(self, count: int) -> None:
        with self._lock:
            self.stats.exported += count
            self.stats.last_export_ok = True

    def settle(self, cut: int = 0) -> int:
        """Fold the appender's faults and ``cut`` (records the limits changed) into the stats;
        returns how many records the appender left out since the previous call."""
        faults = self.faults
        with self._lock:
            repaired, dropped = faults.repaired, faults.dropped
            faults.repaired = faults.dropped = 0
            self.stats.repaired += repaired + cut
            self.stats.dropped += dropped
        if dropped:
            self._log(TypeError(faults.last_reason), dropped, count_failure=False)
        return dropped

    def record_fault(self, exc: BaseException, dropped: int = 1) -> None:
        """Records left out one by one (the rest of their batch was stored): counted, logged."""
        with self._lock:
            self.stats.dropped += dropped
        self._log(exc, dropped, count_failure=False)

    def dropped_total(self) -> int:
        with self._lock:
            return self.stats.dropped

    def flush_ok(self) -> bool:
        """True when no record was left out since the previous call (for ``force_flush``)."""
        with self._lock:
            ok = self.stats.dropped == self._flushed_dropped
            self._flushed_dropped = self.stats.dropped
            return ok

    def failed(self, exc: BaseException, dropped: int) -> None:
        """A whole export failed: ``dropped`` records were not stored."""
        with self._lock:
            self.stats.dropped += dropped
        self._log(exc, dropped, count_failure=True)

    def _log(self, exc: BaseException, dropped: int, *, count_failure: bool) -> None:
        now = time.monotonic()
        with self._lock:
            stats = self.stats
            if count_failure:
                stats.failures += 1
                stats.last_export_ok = False
            stats.last_error = f"{type(exc).__name__}: {exc}"
            first = stats._last_logged == 0.0
            if not first and now - stats._last_logged < _LOG_EVERY_SECONDS:
                stats._unlogged += 1
                return
            repeats, stats._unlogged, stats._last_logged = stats._unlogged, 0, now
        _logger.error(
            "ff-otel %s exporter failed; %d record(s) not stored (%s)%s",
            self.name,
            dropped,
            stats.last_error,
            f"; {repeats} more failure(s) since the last report" if repeats else "",
            exc_info=exc if first else None,
        )
