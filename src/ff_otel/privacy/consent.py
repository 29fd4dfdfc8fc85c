"""Consent: opt-outs and opt-ins, kept as privacy events and honoured everywhere.

Every consent change is a line in ``compliance/privacy_events.jsonl``; the
current state of a user is the last change recorded for them. Each process
reads new lines at most every quarter second, so a change made by one worker
(or before a restart) holds in all of them. Records name the user by a
consent reference (a keyed hash under its own label), never by the user's
pseudonym, so erasing a user's data leaves their objection in force without
leaving anything that links to it.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Literal

from ff_otel.compliance.spool import append_compliance
from ff_otel.core import clock
from ff_otel.store.layout import StoreLayout
from ff_otel.store.tail import StreamTail

ConsentState = Literal["opted_out", "opted_in"]
_REFRESH_SECONDS = 0.25


class ConsentRegistry:
    """The consent state of every user the store has a consent record for."""

    def __init__(self, layout: StoreLayout) -> None:
        self._layout = layout
        self._tail = StreamTail(layout.privacy_events, from_end=False)
        self._states: dict[str, ConsentState] = {}
        self._lock = threading.Lock()
        self._refreshed_at = 0.0
        self._generation = 0
        self._refresh()

    def state(self, reference: str) -> ConsentState | None:
        """The latest consent change for this reference, or None when there was none."""
        if time.monotonic() - self._refreshed_at > _REFRESH_SECONDS:
            self._refresh()
        return self._states.get(reference)

    def generation(self) -> int:
        """A number that changes whenever any user's consent state may have changed.

        Reads new consent lines first when the last read is older than a
        quarter second, as :meth:`state` does: a decision cached under one
        generation (the user recorder's) is current while the number stays.
        """
        if time.monotonic() - self._refreshed_at > _REFRESH_SECONDS:
            self._refresh()
        return self._generation

    def record(self, reference: str, state: ConsentState, **details: Any) -> bool:
        """Apply a consent change in this process at once and append it; False when the
        append waits in the compliance spool (the change holds here meanwhile)."""
        event = "opt_out" if state == "opted_out" else "opt_in"
        with self._lock:
            self._states[reference] = state
            self._generation += 1
        return append_compliance(
            self._layout.privacy_events,
            {
                "timestamp": clock.now_iso(),
                "event_type": event,
                "consent_ref": reference,
                **details,
            },
        )

    def _refresh(self) -> None:
        with self._lock:
            self._refreshed_at = time.monotonic()
            for record in self._tail.read_new():
                reference = record.get("consent_ref")
                if not isinstance(reference, str):
                    continue
                if record.get("event_type") == "opt_out":
                    self._states[reference] = "opted_out"
                elif record.get("event_type") == "opt_in":
                    self._states[reference] = "opted_in"
                else:
                    continue
                self._generation += 1
