"""Alert operations on the configured store, for code that has no manager at hand."""

from __future__ import annotations

from datetime import datetime

from ff_otel.alerting import operations
from ff_otel.sdk import setup


def silence_alerts(
    matchers: dict[str, str],
    *,
    duration_minutes: float | None = None,
    ends_at: datetime | str | None = None,
    created_by: str,
    comment: str = "",
) -> str:
    """Keep alerts whose labels match from notifying until the silence ends; returns its id.

    Labels are ``rule``, ``component``, ``severity``, ``alert_type`` and a rule's own.
    """
    handle = setup.current()
    if handle is None:
        raise RuntimeError("ff-otel is not configured: call configure() first")
    return operations.silence(
        handle.layout.alerts,
        matchers,
        duration_minutes=duration_minutes,
        ends_at=ends_at,
        created_by=created_by,
        comment=comment,
    )
