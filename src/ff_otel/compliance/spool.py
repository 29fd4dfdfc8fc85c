"""Compliance writes that never raise and are never silently lost: the bounded spool.

Audit records, security events and privacy events (consent changes, served
requests) are evidence. When one cannot be written (a full disk, a read-only
remount), the caller is told (its call returns False) and the record waits
here, in memory, in the order it was made. The spool is retried before any
newer compliance record is written (so the files keep their order), once a
second by a background thread while anything waits, and at ``force_flush()``
and ``shutdown()``. A failed append leaves its file exactly as it was (the
appender cuts a partial write back), and an audit record is chained only when
it is finally written, so the hash chain stays valid; such a record carries
the moment it was made in ``details.occurred_at``.

The spool holds at most :data:`CAPACITY` records. Beyond that, or when a
process ends with records still waiting, each record lost is counted and
logged at ERROR with what it was (kind, action or event type), never dropped
without a word.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ff_otel.compliance.audit import AuditTrail
from ff_otel.core import clock
from ff_otel.store.appender import append_records
from ff_otel.store.limits import DROPPED_FIELD, Notes, RecordLimits, bound_value

CAPACITY = 10_000
"""Records the spool holds at most."""
_RETRY_SECONDS = 1.0
_logger = logging.getLogger("ff_otel.compliance")


@dataclass
class SpoolStats:
    """What the spool has done in this process."""

    spooled: int = 0
    """Records that could not be written at once."""
    recovered: int = 0
    """Spooled records written later."""
    lost: int = 0
    """Records given up (spool full, or still waiting at shutdown); each was logged."""
    waiting: int = 0
    last_error: str | None = None


@dataclass
class _Pending:
    describe: str
    write: Callable[[str | None], None]
    """Writes the record; given the moment it was first tried when it is late."""
    made_at: str = field(default_factory=clock.now_iso)
    late: bool = False


class ComplianceSpool:
    """Compliance records in the order they were made, written now or as soon as possible."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.stats = SpoolStats()
        self._waiting: deque[_Pending] = deque()
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, describe: str, write: Callable[[str | None], None]) -> bool:
        """Write now (True), or spool and retry later (False); never raises an I/O error."""
        pending = _Pending(describe, write)
        with self._lock:
            if not self._drain_locked() or not self._try(pending):
                self._hold(pending)
                return False
            return True

    def drain(self) -> bool:
        """Write what waits; True when nothing is left waiting."""
        with self._lock:
            return self._drain_locked()

    def give_up(self) -> None:
        """At shutdown: one last try, then every record still waiting is logged as lost."""
        with self._lock:
            if self._drain_locked():
                return
            kinds = Counter(pending.describe for pending in self._waiting)
            oldest = self._waiting[0].made_at
            self.stats.lost += len(self._waiting)
            self._waiting.clear()
            self.stats.waiting = 0
        _logger.error(
            "ff-otel: %d compliance record(s) LOST at shutdown, still waiting for the disk "
            "(oldest made at %s; last error: %s): %s",
            sum(kinds.values()),
            oldest,
            self.stats.last_error,
            ", ".join(f"{n} x {kind}" for kind, n in kinds.most_common()),
        )

    def _drain_locked(self) -> bool:
        while self._waiting:
            if not self._try(self._waiting[0]):
                return False
            self._waiting.popleft()
            self.stats.recovered += 1
            self.stats.waiting = len(self._waiting)
        return True

    def _try(self, pending: _Pending) -> bool:
        try:
            pending.write(pending.made_at if pending.late else None)
        except OSError as exc:
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            return False
        return True

    def _hold(self, pending: _Pending) -> None:
        first = not self._waiting
        pending.late = True
        if len(self._waiting) >= self.capacity:
            self._lose(self._waiting.popleft(), f"the spool is full ({self.capacity} records)")
        self._waiting.append(pending)
        self.stats.spooled += 1
        self.stats.waiting = len(self._waiting)
        if first:
            _logger.error(
                "ff-otel: a compliance record could not be written (%s); it is kept in memory "
                "and retried every %.0f s, with every later one, until the disk accepts it",
                self.stats.last_error,
                _RETRY_SECONDS,
            )
        self._ensure_retrying()

    def _lose(self, pending: _Pending, why: str) -> None:
        self.stats.lost += 1
        _logger.error(
            "ff-otel: compliance record LOST (%s): %s, made at %s; last error: %s",
            why,
            pending.describe,
            pending.made_at,
            self.stats.last_error,
        )

    def _ensure_retrying(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._wake.clear()
        self._thread = threading.Thread(
            target=self._retry_loop, name="ff-otel-compliance-spool", daemon=True
        )
        self._thread.start()

    def _retry_loop(self) -> None:
        while not self._wake.wait(_RETRY_SECONDS):
            with self._lock:
                if self._drain_locked():
                    _logger.warning(
                        "ff-otel: the disk accepts compliance records again; "
                        "%d spooled record(s) written so far",
                        self.stats.recovered,
                    )
                    self._thread = None
                    return

    def _after_fork_in_child(self) -> None:
        # The parent goes on retrying its own records; a copy here would write
        # them twice.
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._thread = None
        self._waiting.clear()
        self.stats = SpoolStats()


SPOOL = ComplianceSpool()
"""The process's one compliance spool."""
os.register_at_fork(after_in_child=SPOOL._after_fork_in_child)


def append_compliance(path: Path, record: dict[str, Any]) -> bool:
    """Append one compliance record (security or privacy event); False when it was spooled."""

    def write(late: str | None) -> None:
        append_records(path, [record])

    return SPOOL.submit(f"{path.name} {record.get('event_type')!s}", write)


def audit_record(
    trail: AuditTrail,
    actor: str,
    action: str,
    resource: str,
    outcome: str,
    details: dict[str, Any],
) -> bool:
    """Append one audit record to the chain; False when it was spooled."""

    def write(late: str | None) -> None:
        chained = details if late is None else {**details, "occurred_at": late}
        trail.append(actor, action, resource, outcome, chained)

    return SPOOL.submit(f"audit record of {action!r}", write)


def bounded_details(details: dict[str, Any], limits: RecordLimits) -> dict[str, Any]:
    """``details`` within the record limits (depth, length, string keys) before scrubbing,
    with what was cut listed under ``dropped_values``."""
    notes = Notes()
    bounded: dict[str, Any] = bound_value(details, limits, notes, "details")
    if notes.entries:
        bounded[DROPPED_FIELD] = notes.entries
    return bounded


@dataclass
class WriteFaults:
    """Faults public write calls caught instead of raising, by call."""

    counts: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    _last_logged: dict[str, float] = field(default_factory=dict)


WRITE_FAULTS = WriteFaults()
_LOG_EVERY_SECONDS = 60.0


def write_fault(call: str, exc: BaseException) -> bool:
    """Count and log a fault a public write call caught; returns False, the call's answer.

    The first fault of a call is logged with its traceback, repeats at most once a minute.
    """
    now = time.monotonic()
    faults = WRITE_FAULTS
    faults.counts[call] = faults.counts.get(call, 0) + 1
    faults.last_error = f"{type(exc).__name__}: {exc}"
    last = faults._last_logged.get(call)
    if last is None or now - last >= _LOG_EVERY_SECONDS:
        faults._last_logged[call] = now
        _logger.error(
            "ff-otel: %s failed and stored nothing (%s); %d such fault(s) so far",
            call,
            faults.last_error,
            faults.counts[call],
            exc_info=exc if last is None else None,
        )
    return False
