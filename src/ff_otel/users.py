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
from typing import Any

import orjson

from ff_otel import _clock, setup
from ff_otel.analytics.recorder import validate_event
from ff_otel.compliance.trails import audit_act
from ff_otel.privacy.erasure import erase_lines, lines_with
from ff_otel.privacy.keys import load_hash_key
from ff_otel.privacy.pseudonym import Pseudonymizer
from ff_otel.store.appender import append_records
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
    consented (when consent is required) or is outside the sample. Invalid
    arguments raise ``TypeError``/``ValueError`` naming the argument.
    """
    user, session, kind, data, epoch_ns = validate_event(
        user_id, session_id, event_type, event_data, timestamp
    )
    handle = setup.current()
    if handle is None or handle.analytics is None:
        return False
    return handle.analytics.record(user, session, kind, data, epoch_ns)


def opt_out(user_id: str) -> bool:
    """Stop storing this user's events, in every process and across restarts.

    False (and a warning) when ff-otel is not configured or
    ``allow_user_opt_out`` is off.
    """
    handle = setup.current()
    if handle is None or handle.consent is None or handle.pseudonymizer is None:
        return False
    if not handle.settings.analytics.privacy_config.allow_user_opt_out:
        _logger.warning("ff-otel: opt_out ignored: allow_user_opt_out is False")
        return False
    reference = handle.pseudonymizer.reference("consent", _checked(user_id))
    handle.consent.record(reference, "opted_out", service=handle.settings.service_name)
    audit_act(handle.layout, "consent_opt_out", f"consent:{reference}", actor="data_subject")
    return True


def opt_in(user_id: str) -> bool:
    """Record the user's consent (lifting an opt-out); False when not configured."""
    handle = setup.current()
    if handle is None or handle.consent is None or handle.pseudonymizer is None:
        return False
    reference = handle.pseudonymizer.reference("consent", _checked(user_id))
    handle.consent.record(reference, "opted_in", service=handle.settings.service_name)
    audit_act(handle.layout, "consent_opt_in", f"consent:{reference}", actor="data_subject")
    return True


def erase_user(user_id: str, base_path: str | Path | None = None) -> int:
    """Remove every record of this user from the store; returns how many were removed.

    Works on the configured store, or on ``base_path``. Telemetry already
    queued in this process is flushed first, so it is erased too.
    """
    user_id = _checked(user_id)
    layout, pseudonymizer = _store(base_path)
    handle = setup.current()
    if handle is not None:
        handle.force_flush()
    begin = time.perf_counter()
    pseudonym = pseudonymizer.user(user_id)
    removed, files = erase_lines(layout, pseudonym.encode())
    if handle is not None and not handle.settings.analytics.privacy_config.anonymize_user_data:
        # Stored under the raw id (anonymisation was switched off): remove those too.
        raw_removed, raw_files = erase_lines(layout, orjson.dumps(user_id))
        removed += raw_removed
        files = sorted(set(files) | set(raw_files))
    if handle is not None and handle.pipeline is not None:
        handle.pipeline.forget_user(pseudonym)
    pseudonymizer.forget(user_id)
    _record_request(
        layout,
        "erasure",
        pseudonymizer.reference("erasure", user_id),
        begin,
        records_removed=removed,
        files=files,
    )
    return removed


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
    layout = setup.store_layout(base_path)
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
    append_records(
        layout.privacy_events,
        [
            {
                "timestamp": _clock.now_iso(),
                "event_type": kind,
                ref_field: reference,
                **details,
                "duration_ms": round((time.perf_counter() - begin) * 1000, 3),
            }
        ],
    )
