"""The compliance calls: audit, security events, verify the trail, retention, the
regulatory report, export.

``record_security_event`` appends to ``compliance/security_events.jsonl`` with
its details scrubbed like every other attribute, users named by subject
references (:mod:`ff_otel.privacy.subjects`), so erasure leaves nothing there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ff_otel.compliance import export as exporting
from ff_otel.compliance import regulatory, retention
from ff_otel.compliance.audit import VerificationResult, verify
from ff_otel.compliance.spool import (
    append_compliance,
    audit_record,
    bounded_details,
    write_fault,
)
from ff_otel.compliance.trails import trail_for
from ff_otel.core import clock
from ff_otel.privacy.subjects import SubjectScrubber
from ff_otel.sdk import setup
from ff_otel.settings.resolution import resolve_settings
from ff_otel.settings.running import store_layout
from ff_otel.spec.config import FFAnalyticsConfigDTO
from ff_otel.spec.enums import AlertSeverity
from ff_otel.store.documents import read_json
from ff_otel.store.layout import StoreLayout


def audit(actor: str, action: str, resource: str, outcome: str = "success", **details: Any) -> bool:
    """Append a record to the hash-chained audit trail; True when it is in the file.

    ``details`` are scrubbed like every attribute, except that users are named
    by subject references (:mod:`ff_otel.privacy.subjects`), as are a person
    ``actor`` (roles and system actors stay) and a user-like ``resource``.
    False when ff-otel is not configured, or when the record could not be
    written now (a full disk): it then waits in the compliance spool and is
    chained and written as soon as the disk accepts it (see
    :mod:`ff_otel.compliance.spool`). It never raises for the disk or the
    details; raises ``ValueError`` when ``actor``, ``action`` or ``resource``
    is not a non-empty string.
    """
    for name, value in (("actor", actor), ("action", action), ("resource", resource)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    if not isinstance(outcome, str) or not outcome:
        raise ValueError(f"outcome must be a non-empty string, got {outcome!r}")
    handle = setup.current()
    if handle is None or handle.scrubber is None:
        return False
    try:
        subjects = handle.scrubber.twin(SubjectScrubber)
        scrubbed = subjects.body(bounded_details(details, handle.settings.limits), "details")
        trail = trail_for(handle.layout, handle.settings.service_name)
        actor, resource = subjects.actor(actor), subjects.resource(resource)
    except Exception as exc:
        return write_fault("audit", exc)
    return audit_record(trail, actor, action, resource, outcome, scrubbed)


def verify_audit_trail(
    base_path: str | Path | None = None, *, progress: Callable[[int], None] | None = None
) -> VerificationResult:
    """Check the whole chain: ``ok``, ``records``, ``first_bad_index``, ``reason``.

    ``progress`` is called with the records checked so far, every 10,000 records.
    """
    return verify(store_layout(base_path).audit_logs, progress)


def run_retention(
    now: datetime | str | None = None,
    base_path: str | Path | None = None,
    *,
    analytics: FFAnalyticsConfigDTO | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Rotate, compress and delete by policy now (or as of ``now``); returns what was done.

    The policy is ``analytics`` (default: the configured one, else the defaults);
    ``progress`` is called with each file examined.
    """
    layout = store_layout(base_path)
    moment = None if now is None else _instant(now)
    return retention.run_retention(layout, analytics or _analytics(), moment, progress)


def generate_regulatory_report(base_path: str | Path | None = None) -> dict[str, Any]:
    """Write ``compliance/regulatory_reports.json`` now and return it."""
    layout = store_layout(base_path)
    report = regulatory.write(layout, _analytics())
    trail_for(layout).append("system", "regulatory_report", str(layout.regulatory_reports_path))
    return report


def export_data(
    streams: Sequence[str],
    destination: str | Path,
    *,
    formats: Sequence[str] = ("jsonl",),
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    actor: str | None = None,
    base_path: str | Path | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Export streams or whole categories to JSON Lines / CSV with a manifest; audited.

    ``progress`` is called with a file's name and its records so far, every 10,000.
    Streams named by ``data_export_restrictions`` are refused with a ``ValueError``:
    those of the configuration in effect (``configure()``'s, else the
    ``FF_OTEL_*`` variables and ``FF_OTEL_CONFIG`` file) and those recorded in
    the store's ``analytics_metadata.json`` by the services that configured it.
    """
    layout = store_layout(base_path)
    return exporting.export_data(
        layout,
        streams,
        Path(destination),
        formats=formats,
        start=start,
        end=end,
        actor=actor,
        progress=progress,
        restrictions=_export_restrictions(layout),
    )


def _export_restrictions(layout: StoreLayout) -> list[str]:
    # A restriction set by the service holds for whoever exports its store
    # (an operator's shell has none of the service's settings): its own
    # configuration is recorded in the store's metadata at every configure().
    handle = setup.current()
    analytics = handle.settings.analytics if handle is not None else resolve_settings({}).analytics
    restrictions = list(analytics.privacy_config.data_export_restrictions)
    try:
        recorded = read_json(layout.metadata_path).get("privacy_config") or {}
    except (FileNotFoundError, ValueError, AttributeError):
        recorded = {}
    for restriction in recorded.get("data_export_restrictions") or ():
        if isinstance(restriction, str) and restriction not in restrictions:
            restrictions.append(restriction)
    return restrictions


def _instant(value: datetime | str) -> datetime:
    return clock.parse_instant(value)


def _analytics() -> FFAnalyticsConfigDTO:
    handle = setup.current()
    return handle.settings.analytics if handle is not None else FFAnalyticsConfigDTO()


SEVERITIES = frozenset(s.value for s in AlertSeverity)


def record_security_event(event_type: str, severity: str = "warning", **details: Any) -> bool:
    """Record a security event; True when it is in the file.

    False when ff-otel is not configured, or when it could not be written now
    (it waits in the compliance spool, see :mod:`ff_otel.compliance.spool`);
    never raises for the disk or the details. Raises ``ValueError`` for an
    empty event type or an unknown severity.
    """
    if not isinstance(event_type, str) or not event_type:
        raise ValueError(f"event_type must be a non-empty string, got {event_type!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}; use one of {sorted(SEVERITIES)}")
    handle = setup.current()
    if handle is None or handle.scrubber is None:
        return False
    try:
        subjects = handle.scrubber.twin(SubjectScrubber)
        record = {
            "timestamp": clock.now_iso(),
            "event_type": subjects.free_text(event_type),
            "severity": severity,
            "service": handle.settings.service_name,
            "details": subjects.body(bounded_details(details, handle.settings.limits), "details"),
        }
    except Exception as exc:
        return write_fault("record_security_event", exc)
    return append_compliance(handle.layout.security_events, record)
