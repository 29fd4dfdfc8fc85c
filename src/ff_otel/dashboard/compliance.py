"""The compliance panel: is the audit chain intact, and is retention in force?

Retention counts as in force when the collector's hourly ``retention_run`` is
in the audit trail within the last two hours and succeeded, and (when a
regulatory report exists) no data class holds records older than its
retention period allows: whole daily segments are deleted, so a record may
outlive the period by up to the day its segment covers, plus a day of slack.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ff_otel.core import clock
from ff_otel.dashboard.context import StoreView
from ff_otel.dashboard.slow_figures import (
    AUDIT_MAX_AGE_SECONDS,
    SlowFigures,
    audit_state,
    verify_audit,
)
from ff_otel.store.documents import read_json
from ff_otel.store.reader import read_recent

_RUN_EVERY = timedelta(hours=2)
_LOOK_BACK = timedelta(hours=48)
_AUDIT_BYTES = 8 * 1024 * 1024
_SEGMENT_SLACK_DAYS = 2


def compliance_status(view: StoreView, figures: SlowFigures) -> dict[str, Any]:
    """Audit chain verification (computed off the request path) and retention in force."""
    verified = figures.get(
        "audit",
        lambda: verify_audit(view),
        max_age=AUDIT_MAX_AGE_SECONDS,
        key=audit_state(view),
    )
    audit: dict[str, Any] = {"status": "computing"}
    if verified is not None:
        audit = {"status": "ready", **(verified.value or {}), **verified.to_dict()}
    report = _regulatory_report(view)
    return {
        # Consent, the audit trail and retention stay in each host's store.
        "scope": f"this store ({view.layout.base_path})",
        "audit_chain": audit,
        "retention": _retention(view, report),
        "regulatory_report": None
        if report is None
        else {
            "generated_at": report.get("generated_at"),
            "privacy_requests": report.get("privacy_requests"),
            "security_events": report.get("security_events"),
            "pseudonymisation": report.get("pseudonymisation"),
        },
    }


def _regulatory_report(view: StoreView) -> dict[str, Any] | None:
    try:
        report = read_json(view.layout.regulatory_reports_path)
    except (FileNotFoundError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def _retention(view: StoreView, report: dict[str, Any] | None) -> dict[str, Any]:
    now = clock.now()
    policy = view.retention_days()
    runs, deletions = [], 0
    for record in read_recent(view.layout.audit_logs, now - _LOOK_BACK, max_bytes=_AUDIT_BYTES):
        action = record.get("action")
        if action == "retention_run":
            runs.append(record)
        elif action == "retention_delete":
            deletions += 1
    last = runs[-1] if runs else None
    problems: list[str] = []
    if last is None:
        problems.append("no retention run in the audit trail in the last 48 h")
    else:
        age = now - clock.parse_instant(last["timestamp"])
        if age > _RUN_EVERY:
            problems.append(f"last retention run {age.total_seconds() / 3600:.1f} h ago")
        if last.get("outcome") != "success":
            problems.append(f"last retention run: {last.get('outcome')}")
    oldest = _oldest_by_class(report, now) if report is not None else {}
    for data_class, age_days in oldest.items():
        allowed = policy.get(data_class)
        if allowed is not None and age_days > allowed + _SEGMENT_SLACK_DAYS:
            problems.append(
                f"{data_class} data {age_days:.0f} days old, policy keeps {allowed} days"
            )
    return {
        "in_force": not problems,
        "problems": problems,
        "policy_days": policy,
        "last_run": None
        if last is None
        else {
            "timestamp": last.get("timestamp"),
            "outcome": last.get("outcome"),
            "details": last.get("details"),
        },
        "runs_48h": len(runs),
        "deletions_48h": deletions,
        "oldest_days": {name: round(days, 2) for name, days in oldest.items()},
        "oldest_as_of": report.get("generated_at") if report else None,
    }


def _oldest_by_class(report: dict[str, Any], now: Any) -> dict[str, float]:
    """Age in days of the oldest record of each data class, as of the report."""
    oldest: dict[str, str] = {}
    for item in report.get("inventory") or ():
        stamp, data_class = item.get("oldest"), item.get("data_class")
        if (
            isinstance(stamp, str)
            and isinstance(data_class, str)
            and (data_class not in oldest or stamp < oldest[data_class])
        ):
            oldest[data_class] = stamp
    generated = report.get("generated_at")
    as_of = clock.parse_instant(generated) if isinstance(generated, str) else now
    return {
        name: (as_of - clock.parse_instant(stamp)).total_seconds() / 86400
        for name, stamp in oldest.items()
    }
