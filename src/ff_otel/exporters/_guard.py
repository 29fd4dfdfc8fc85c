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

_LOG_EVERY_SECONDS = 60.0
_logger = logging.getLogger("ff_otel.exporters")


@dataclass
class ExportStats:
    """What one exporter has done since it was created."""

    exported: int = 0
    failures: int = 0
    dropped: int = 0
    last_error: str | None = None
    last_export_ok: bool | None = None
    _last_logged: float = field(default=0.0, repr=False)
    _unlogged: int = field(default=0, repr=False)


class ExportGuard:
    """Thread-safe success and failure bookkeeping for one exporter."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stats = ExportStats()
        self._lock = threading.Lock()

    def succeeded(self, count: int) -> None:
        with self._lock:
            self.stats.exported += count
            self.stats.last_export_ok = True

    def failed(self, exc: BaseException, dropped: int) -> None:
        now = time.monotonic()
        with self._lock:
            stats = self.stats
            stats.failures += 1
            stats.dropped += dropped
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
