"""Users over time for BI: daily actives and weekly retention cohorts, from SQL counts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any


def daily_users(per_day: dict[str, int], stop: datetime) -> list[int]:
    """Users per UTC day, from the first day anyone was active to the day ``stop`` ends.

    A day without activity is a day with no active users, not a missing day:
    leaving it out would put the later days at the wrong place on the line.
    """
    if not per_day:
        return []
    day, last = date.fromisoformat(min(per_day)), (stop - timedelta(microseconds=1)).date()
    counts = []
    while day <= last:
        counts.append(per_day.get(day.isoformat(), 0))
        day += timedelta(days=1)
    return counts


def retention_cohorts(
    weeks: list[str], sizes: list[dict[str, Any]], retained: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Users by week first seen, and the share of each cohort active in each later week.

    ``weeks``: the window's weeks (Monday dates) with any record, oldest first;
    ``sizes``: ``{"cohort", "users"}`` per week first seen (before the window's
    end: someone who first came after it is in no cohort of this window yet);
    ``retained``: ``{"cohort", "week", "users"}``, a cohort's users active in a week.
    """
    size = {cell["cohort"]: cell["users"] for cell in sizes}
    active = {(cell["cohort"], cell["week"]): cell["users"] for cell in retained}
    cohorts = []
    for index, week in enumerate(weeks):
        members = size.get(week, 0)
        if not members:
            continue
        kept = [round(100 * active.get((week, later), 0) / members, 2) for later in weeks[index:]]
        cohorts.append({"cohort_week": week, "size": members, "retained_percent": kept})
    return cohorts
