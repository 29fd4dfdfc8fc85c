"""Users over time for BI: when each was first seen, daily actives, weekly retention cohorts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ff_otel.pipeline.buckets import bucket_key
from ff_otel.store.layout import StoreLayout
from ff_otel.store.reader import read_records


def first_seen(layout: StoreLayout) -> dict[str, str]:
    """When each user was first seen (the rollups' first-seen log), earliest record wins."""
    seen: dict[str, str] = {}
    for line in read_records(layout.analytics_path / "aggregates" / "first_seen.jsonl"):
        user, stamp = line.get("user_hash"), line.get("timestamp")
        if (
            isinstance(user, str)
            and isinstance(stamp, str)
            and (user not in seen or stamp < seen[user])
        ):
            seen[user] = stamp
    return seen


def daily_users(per_day: dict[str, set[str]], stop: datetime) -> list[int]:
    """Users per UTC day, from the first day anyone was active to the day ``stop`` ends.

    A day without activity is a day with no active users, not a missing day:
    leaving it out would put the later days at the wrong place on the line.
    """
    if not per_day:
        return []
    day, last = date.fromisoformat(min(per_day)), (stop - timedelta(microseconds=1)).date()
    counts = []
    while day <= last:
        counts.append(len(per_day.get(day.isoformat(), ())))
        day += timedelta(days=1)
    return counts


def retention_cohorts(
    active_by_week: dict[str, set[str]], first_seen: dict[str, str], stop_iso: str
) -> list[dict[str, Any]]:
    """Users by week first seen, and the share of each cohort active in each later week."""
    weeks = sorted(active_by_week)
    # Users by the week they were first seen, as of the window's end: someone
    # who first came after it is in no cohort of this window yet.
    week_of_day: dict[str, str] = {}
    by_week: dict[str, set[str]] = {}
    for user, seen in first_seen.items():
        if seen < stop_iso:
            day = seen[:10]
            first_week = week_of_day.get(day)
            if first_week is None:
                first_week = week_of_day[day] = bucket_key("week", day)
            by_week.setdefault(first_week, set()).add(user)
    cohorts = []
    for index, week in enumerate(weeks):
        members = by_week.get(week, set())
        if not members:
            continue
        retained = [
            round(100 * len(members & active_by_week[later]) / len(members), 2)
            for later in weeks[index:]
        ]
        cohorts.append({"cohort_week": week, "size": len(members), "retained_percent": retained})
    return cohorts
