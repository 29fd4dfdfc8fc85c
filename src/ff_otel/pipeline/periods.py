"""Calendar periods of the store's timestamps: a period's key and its bounds.

A minute (``2026-05-04T10:07``), hour (``2026-05-04T10``), day
(``2026-05-04``), ISO week (its Monday, ``2026-05-04``) or month
(``2026-05``), in UTC, as reports name their periods.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ff_otel.core import clock


def bucket_key(period: str, stamp: str) -> str:
    """The key of the ``period`` holding the store timestamp ``stamp``."""
    if period == "minute":
        return stamp[:16]
    if period == "hour":
        return stamp[:13]
    if period == "day":
        return stamp[:10]
    if period == "month":
        return stamp[:7]
    if period == "week":
        day = date.fromisoformat(stamp[:10])
        return (day - timedelta(days=day.weekday())).isoformat()
    raise ValueError(f"unknown aggregation period {period!r}")


def bucket_bounds(period: str, key: str) -> tuple[datetime, datetime]:
    """Start (inclusive) and end (exclusive) of the period ``key``, in UTC."""
    if period == "minute":
        start = clock.parse_instant(key + ":00")
        return start, start + timedelta(minutes=1)
    if period == "hour":
        start = clock.parse_instant(key + ":00:00")
        return start, start + timedelta(hours=1)
    if period in ("day", "week"):
        start = clock.parse_instant(key + "T00:00:00")
        return start, start + timedelta(days=1 if period == "day" else 7)
    start = clock.parse_instant(key + "-01T00:00:00")
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start, start.replace(year=year, month=month)
