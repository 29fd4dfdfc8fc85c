"""The user-event queue and the thread that turns its events into store lines.

``record_user_event`` only checks, pseudonymises and enqueues (see
:mod:`ff_otel.analytics.recorder`); everything that costs per event happens
here, on one background thread: the event data is cut to the record limits
and scrubbed, its lines are built and written in batches by the store's one
appender. A full queue refuses the event, counts it and logs (at most once a
minute), so the caller never waits. ``flush()`` writes everything queued
before it returns; a crash loses what was still queued (at most
``QUEUE_SIZE`` events, a batch's worth of writing at a time).

When ``enable_external_analytics`` lets a collector have user events, each
stored event is also emitted as an OTel log event (``ff.user_event``) from
this thread, so the caller never pays the SDK's logs pipeline either.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opentelemetry._logs import Logger, SeverityNumber

from ff_otel.analytics.mapping import user_event_lines
from ff_otel.core.gc import gc_paused
from ff_otel.exporters.guard import ExportGuard
from ff_otel.exporters.mapping import IsoCache
from ff_otel.privacy.scrubber import Scrubber
from ff_otel.spec.models import USER_EVENT
from ff_otel.store.appender import Placed, append_records, append_records_placed
from ff_otel.store.layout import StoreLayout
from ff_otel.store.limits import DROPPED_FIELD, Notes, RecordLimits, bound_value

_logger = logging.getLogger("ff_otel.analytics")

QUEUE_SIZE = 262_144
"""Events waiting for the writer, at most: a burst of 200,000 fits with the writer asleep."""
BATCH_SIZE = 4_096
"""Events written per append (one write per file)."""
_DNT_KEYS = ("dnt", "do_not_track")
_INFO = SeverityNumber.INFO
_TYPE_CACHE_LIMIT = 4_096

QueuedEvent = tuple[int, str, str, str, dict[str, Any]]
"""(epoch ns, stored user, stored session, event type, event data) as the caller left it."""


class QueueFull(Exception):
    """The user-event queue held ``QUEUE_SIZE`` events: the event was not recorded."""


class UserEventWriter:
    """A bounded queue of user events and the thread that stores them."""

    def __init__(
        self,
        layout: StoreLayout,
        scrubber: Scrubber,
        limits: RecordLimits,
        service: str,
        *,
        track_features: bool,
        delay_seconds: float,
        external: Logger | None = None,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.layout = layout
        self.scrubber = scrubber
        self.limits = limits
        self.service = service
        self.track_features = track_features
        self.delay_seconds = delay_seconds
        self.external = external
        """The OTel logger user events reach collectors through, when any may have them."""
        self.queue_size = queue_size
        self.on_stored: Callable[[Placed, list[dict[str, Any]]], None] | None = None
        """Told where each batch of ``behavior_patterns.jsonl`` lines went, with the records
        they are (this process's collector folds them without reading them back)."""
        self.guard = ExportGuard("user event")
        """Events accepted but not stored: a full queue, a failed write, a fault."""
        self._queue: deque[QueuedEvent] = deque()
        self._types: dict[str, str] = {}
        self._closed = False
        self._reset_threading()
        _writers.add(self)

    def _reset_threading(self) -> None:
        self._wake = threading.Event()
        self._write_lock = threading.Lock()
        self._thread: threading.Thread | None = threading.Thread(
            target=self._run, name="ff-otel-user-events", daemon=True
        )
        self._thread.start()

    def put(self, event: QueuedEvent) -> bool:
        """Queue one event; False (counted) when the queue is full or the writer closed."""
        queue = self._queue
        if len(queue) >= self.queue_size or self._closed:
            self.guard.record_fault(QueueFull(f"{self.queue_size} user events already queued"))
            return False
        queue.append(event)
        if len(queue) >= BATCH_SIZE and not self._wake.is_set():
            self._wake.set()
        return True

    def queued(self) -> int:
        return len(self._queue)

    def flush(self) -> bool:
        """Store everything queued so far; False when an event was not stored since the
        previous flush (a full queue, a failed write)."""
        self._drain()
        return self.guard.flush_ok()

    def close(self) -> None:
        """Store what is queued and stop the thread; later events are refused."""
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        self._drain()

    def abandon(self) -> None:
        """Drop the queue unwritten (a forked child: the events are the parent's)."""
        self._closed = True
        self._queue.clear()
        self._wake.set()

    def _after_fork_in_child(self) -> None:
        # The child has a copy of the parent's queue and locks (perhaps held by
        # the parent's writer thread, which does not exist here) and no thread.
        self._closed = True
        self._queue = deque()
        self._wake = threading.Event()
        self._write_lock = threading.Lock()
        self._thread = None

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.delay_seconds)
            self._wake.clear()
            if not self._closed:
                self._drain()

    def _drain(self) -> None:
        # One drainer at a time, a whole batch under the lock: a flush that
        # finds the thread mid-batch waits for that batch to be written.
        with self._write_lock:
            queue = self._queue
            while queue:
                take = queue.popleft
                batch = [take() for _ in range(min(len(queue), BATCH_SIZE))]
                try:
                    # A batch's lines make no cycles and are freed with it (see
                    # ff_otel.core.gc): with the collector running, it walked them
                    # as they were built, a fifth of the writer's time.
                    with gc_paused():
                        self._write(batch)
                except Exception as exc:  # never let the thread die with events queued
                    self.guard.failed(exc, dropped=len(batch))

    def _write(self, batch: list[QueuedEvent]) -> None:
        guard, layout, track_features, service = (
            self.guard,
            self.layout,
            self.track_features,
            self.service,
        )
        scrub_body = self.scrubber.body
        iso = IsoCache()
        by_file: dict[Path, list[dict[str, Any]]] = defaultdict(list)
        external: list[tuple[int, str, str, str, Any]] = []
        stored = 0
        for epoch_ns, user, session, event_type, data in batch:
            try:
                if data:
                    data = scrub_body(self._bounded(data), "event_data")
                kind = self._event_type(event_type)
                for path, line in user_event_lines(
                    layout,
                    iso(epoch_ns),
                    kind,
                    user,
                    session,
                    data,
                    service,
                    track_features=track_features,
                ):
                    by_file[path].append(line)
            except Exception as exc:
                guard.record_fault(exc)
                continue
            stored += 1
            if self.external is not None:
                external.append((epoch_ns, user, session, kind, data))
        lost = 0
        for path, lines in by_file.items():
            placed = None
            try:
                if path == layout.behavior_patterns and self.on_stored is not None:
                    placed = append_records_placed(path, lines, guard.faults)
                else:
                    append_records(path, lines, guard.faults)
            except Exception as exc:
                guard.failed(exc, dropped=len(lines) if path == layout.behavior_patterns else 0)
                if path == layout.behavior_patterns:
                    lost = len(lines)
            if placed is not None:
                self._hand_over(placed, lines)
        lost += guard.settle()
        guard.succeeded(max(0, stored - lost))
        if external:
            self._emit(external)

    def _hand_over(self, placed: Placed, lines: list[dict[str, Any]]) -> None:
        assert self.on_stored is not None
        try:
            self.on_stored(placed, lines)
        except Exception as exc:  # the lines are stored: the collector reads them back
            _logger.debug("ff-otel: stored user events not handed to the collector: %s", exc)

    def _bounded(self, data: dict[str, Any]) -> dict[str, Any]:
        # Do-Not-Track was honoured at the call; the flag itself is not stored.
        for key in _DNT_KEYS:
            data.pop(key, None)
        # Within the record limits before the scrubber walks it: data nested
        # thousands deep or keyed by non-strings is cut here, and says so.
        notes = Notes()
        bounded: dict[str, Any] = bound_value(data, self.limits, notes, "event_data")
        if notes.entries:
            bounded[DROPPED_FIELD] = notes.entries
        return bounded

    def _event_type(self, event_type: str) -> str:
        # Scrubbed like free text (rollups count events by type); a service
        # uses a handful of types, so each is scrubbed once.
        kind = self._types.get(event_type)
        if kind is None:
            if len(self._types) >= _TYPE_CACHE_LIMIT:
                self._types.clear()
            kind = self._types[event_type] = self.scrubber.free_text(event_type)
        return kind

    def _emit(self, events: list[tuple[int, str, str, str, Any]]) -> None:
        assert self.external is not None
        emit = self.external.emit
        for epoch_ns, user, session, kind, data in events:
            try:
                emit(
                    timestamp=epoch_ns,
                    severity_number=_INFO,
                    severity_text="INFO",
                    event_name=USER_EVENT,
                    body=data,
                    attributes={"user.hash": user, "session.id": session, "ff.event.type": kind},
                )
            except Exception as exc:  # the collector's path must not cost the store's
                _logger.debug("ff-otel: user event not handed to OTLP: %s", exc)


_writers: weakref.WeakSet[UserEventWriter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for writer in list(_writers):
        writer._after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)
