"""The user-facing calls for user analytics and privacy requests.

``record_user_event`` records what a user did; ``opt_out``/``opt_in`` change
consent; ``erase_user`` and ``export_user_data`` serve the rights to erasure
and of access. Each privacy request is itself a record in
``compliance/privacy_events.jsonl``, naming the user only by a purpose-bound
reference.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import orjson

from ff_otel.analytics.recorder import validate_event
from ff_otel.compliance.spool import append_compliance, write_fault
from ff_otel.compliance.trails import audit_act
from ff_otel.core import clock
from ff_otel.privacy.consent import ConsentState
from ff_otel.privacy.erasure import erase_lines, lines_with
from ff_otel.privacy.keys import load_hash_key
from ff_otel.privacy.pseudonym import Pseudonymizer
from ff_otel.sdk import setup
from ff_otel.settings.running import store_layout
from ff_otel.store.layout import StoreLayout

_logger = logging.getLogger("ff_otel.privacy")


def record_user_event(
    user_id: str,
    session_id: str,
    event_type: str,
    event_data: dict[str, Any] | None = None,
    timestamp: datetime | str | None = None,
) -> bool:
    """Record one user event; True when it was accepted for storage.

    ``event_type`` is one of the spec's (``session_start``, ``session_end``,
    ``feature_usage``, ``content_interaction``) or any custom name;
    ``timestamp`` (aware datetime or ISO-8601 string) backfills history. False
    means it was deliberately not stored: ff-otel is not configured, user
    analytics are off, or the user opted out, sent Do-Not-Track, has not
    consented (when consent is required) or is outside the sample, or the
    event could not be recorded (counted and logged; data nested deeper than
    the record limits or keyed by non-strings is cut, not refused). Invalid
    arguments raise ``TypeError``/``ValueError`` naming the argument, before
    anything is stored; nothing else is ever raised.
    """
    user, session, kind, data, epoch_ns = validate_event(
        user_id, session_id, event_type, event_data, timestamp
    )
    handle = setup.current()
    if handle is None or handle.analytics is None:
        return False
    try:
        return handle.analytics.record(user, session, kind, data, epoch_ns)
    except Exception as exc:
        return write_fault("record_user_event", exc)


def opt_out(user_id: str) -> bool:
    """Stop storing this user's events, in every process and across restarts.

    False (and a warning) when ff-otel is not configured or
    ``allow_user_opt_out`` is off, and when the change could not be written
    now: it holds in this process at once and waits in the compliance spool
    until the disk accepts it. Raises ``ValueError`` for an empty user id.
    """
    user_id = _checked(user_id)
    handle = setup.current()
    if handle is None or handle.consent is None or handle.pseudonymizer is None:
        return False
    if not handle.settings.analytics.privacy_config.allow_user_opt_out:
        _logger.warning("ff-otel: opt_out ignored: allow_user_opt_out is False")
        return False
    return _consent_change(handle, user_id, "opted_out")


def opt_in(user_id: str) -> bool:
    """Record the user's consent (lifting an opt-out); False when not configured, or
    when the change waits in the compliance spool (as for :func:`opt_out`)."""
    user_id = _checked(user_id)
    handle = setup.current()
    if handle is None or handle.consent is None or handle.pseudonymizer is None:
        return False
    return _consent_change(handle, user_id, "opted_in")


def _consent_change(handle: setup.FFOtel, user_id: str, state: ConsentState) -> bool:
    assert handle.consent is not None and handle.pseudonymizer is not None
    action = "consent_opt_out" if state == "opted_out" else "consent_opt_in"
    try:
        reference = handle.pseudonymizer.reference("consent", user_id)
        stored = handle.consent.record(reference, state, service=handle.settings.service_name)
        audited = audit_act(handle.layout, action, f"consent:{reference}", actor="data_subject")
    except Exception as exc:
        return write_fault(action.replace("consent_", ""), exc)
    return stored and audited


class ErasureResult(int):
    """How many records ``erase_user`` removed (an ``int``), and whether it finished.

    ``complete`` is False when a file could not be rewritten (a full disk):
    the user's records in it are still there, ``error`` says why, and calling
    ``erase_user`` again erases what is left.
    """

    complete: bool
    error: str | None

    def __new__(cls, removed: int, complete: bool = True, error: str | None = None) -> Self:
        result = super().__new__(cls, removed)
        result.complete = complete
        result.error = error
        return result


def erase_user(user_id: str, base_path: str | Path | None = None) -> ErasureResult:
    """Remove every record of this user from the store; returns how many were removed.

    Works on the configured store, or on ``base_path``. Telemetry already
    queued in this process is flushed first, so it is erased too. Never
    raises an I/O error: the result's ``complete`` is False when the store
    could not be rewritten (see :class:`ErasureResult`). Raises ``ValueError``
    for an empty user id and :class:`~ff_otel.StoreError` when there is no store.
    """
    user_id = _checked(user_id)
    layout, pseudonymizer = _store(base_path)
    handle = setup.current()
    if handle is not None:
        handle.force_flush()
    begin = time.perf_counter()
    pseudonym = pseudonymizer.user(user_id)
    removed, error = 0, None
    files: list[str] = []
    needles = [pseudonym.encode()]
    if handle is not None and not handle.settings.analytics.privacy_config.anonymize_user_data:
        # Stored under the raw id (anonymisation was switched off): remove those too.
        needles.append(orjson.dumps(user_id))
    try:
        for needle in needles:
            count, changed = erase_lines(layout, needle)
            removed += count
            files = sorted(set(files) | set(changed))
    except OSError as exc:
        error = f"{type(exc).__name__}: {exc}"
        write_fault("erase_user", exc)
    if handle is not None and handle.pipeline is not None:
        handle.pipeline.forget_user(pseudonym)
    if handle is not None and handle.analytics is not None:
        handle.analytics.forget(user_id)
    if error is None:
        pseudonymizer.forget(user_id)
    details: dict[str, Any] = {"records_removed": removed, "files": files}
    if error is not None:
        details["complete"] = False
        details["error"] = error
    _record_request(
        layout, "erasure", pseudonymizer.reference("erasure", user_id), begin, **details
    )
    return ErasureResult(removed, error is None, error)


def export_user_data(user_id: str, base_path: str | Path | None = None) -> list[dict[str, Any]]:
    """Every stored record of this user, each as ``{"file": ..., "record": ...}``."""
    user_id = _checked(user_id)
    layout, pseudonymizer = _store(base_path)
    handle = setup.current()
    if handle is not None:
        handle.force_flush()
    begin = time.perf_counter()
    found = lines_with(layout, pseudonymizer.user(user_id).encode())
    _record_request(
        layout,
        "access_export",
        pseudonymizer.reference("access", user_id),
        begin,
        records_exported=len(found),
    )
    return found


def _checked(user_id: object) -> str:
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    if not isinstance(user_id, str) or not user_id:
        raise ValueError(f"user_id must be a non-empty string, got {user_id!r}")
    return user_id


def _store(base_path: str | Path | None) -> tuple[StoreLayout, Pseudonymizer]:
    layout = store_layout(base_path)
    handle = setup.current()
    if (
        handle is not None
        and handle.pseudonymizer is not None
        and handle.layout.base_path.resolve() == layout.base_path.resolve()
    ):
        return handle.layout, handle.pseudonymizer
    return layout, Pseudonymizer(load_hash_key(layout.analytics_path))


def _record_request(
    layout: StoreLayout, kind: str, reference: str, begin: float, **details: Any
) -> None:
    """A served privacy request: an audit record and a privacy event, both by reference."""
    ref_field = "erasure_ref" if kind == "erasure" else "access_ref"
    audit_act(layout, kind, f"{ref_field.removesuffix('_ref')}:{reference}", **details)
    append_compliance(
        layout.privacy_events,
        {
            "timestamp": clock.now_iso(),
            "event_type": kind,
            ref_field: reference,
            **details,
            "duration_ms": round((time.perf_counter() - begin) * 1000, 3),
        },
    )
