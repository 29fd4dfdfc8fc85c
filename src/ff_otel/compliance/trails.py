"""One audit trail per store in a process, and ff-otel's own administrative acts."""

from __future__ import annotations

import getpass
import os
import threading
from pathlib import Path
from typing import Any

from ff_otel.compliance.audit import AuditTrail
from ff_otel.compliance.spool import audit_record
from ff_otel.store.layout import StoreLayout

_trails: dict[Path, AuditTrail] = {}
_lock = threading.Lock()


def _forget_inherited_trails() -> None:
    # A forked child shares its parent's open audit file, and a flock belongs
    # to the open file: appends from the two (or from two sibling workers)
    # would no longer exclude each other and could fork the hash chain. The
    # child closes its copies (the parent's file and lock are unaffected) and
    # opens its own on its first append.
    global _lock
    _lock = threading.Lock()
    for trail in _trails.values():
        trail.close()
    _trails.clear()


os.register_at_fork(after_in_child=_forget_inherited_trails)


def trail_for(layout: StoreLayout, service: str | None = None) -> AuditTrail:
    path = layout.audit_logs.resolve()
    with _lock:
        trail = _trails.get(path)
        if trail is None:
            trail = _trails[path] = AuditTrail(layout.audit_logs, service)
        return trail


def system_actor() -> str:
    """Who ff-otel's own acts are attributed to: the process's OS user."""
    try:
        return f"system:{getpass.getuser()}"
    except (KeyError, OSError):
        return "system:unknown"


def audit_act(
    layout: StoreLayout,
    action: str,
    resource: str,
    *,
    actor: str | None = None,
    outcome: str = "success",
    service: str | None = None,
    **details: Any,
) -> bool:
    """Record one of ff-otel's administrative acts in the store's audit trail.

    False when it could not be written now (it waits in the compliance spool).
    """
    return audit_record(
        trail_for(layout, service), actor or system_actor(), action, resource, outcome, details
    )
