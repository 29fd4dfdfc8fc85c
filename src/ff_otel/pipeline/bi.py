"""Business intelligence from the hourly rollups, with product-analytics definitions.

A window is the hourly buckets starting in ``[end - period, end)`` (day = 1
day, week = 7, month = 30); the previous window is the same length before it.
Definitions (the README repeats them, PostHog/Amplitude style):

- active users: distinct users with an event in the window; total users: users
  first seen before ``end``; new users: first event ever in the window;
  returning users: active and first seen before the window;
- lifecycle: new; returning (active now and in the previous window);
  resurrecting (active now, not in the previous window, seen before); dormant
  (active in the previous window, not now);
- ``user_growth_rate_percent``: active users vs the previous window;
- feature adoption: users of the feature / active users; abandonment: users of
  the feature in the previous window who did not use it in this one / those users;
- ``peak_usage_hours``: the three UTC hours of day with most events;
- ``average_session_duration_minutes``: sessions that ended in the window;
- ``user_satisfaction_trends``: mean rating per day, days with ratings only;
- ``projected_growth_30_days``: least-squares line through daily active users
  (at least two days), its value 30 days after ``end`` vs its value at ``end``, in %;
- ``resource_utilization_trends``: mean per day (per hour for a day window);
- stickiness: DAU (last day), WAU (last 7 days), MAU (last 30 days), DAU/MAU;
- retention cohorts: users by week first seen, share active in each later week.

Recommendations and bottlenecks come from the alerting thresholds. Costs and
revenue come only from the optional business inputs; without them those
fields are absent, not zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ff_otel import _clock
from ff_otel.config import FFAnalyticsConfigDTO, FFBusinessInputsDTO
from ff_otel.models import FFBusinessIntelligenceDTO
from ff_otel.pipeline.rollups import Bucket, bucket_key, load_buckets
from ff_otel.pipeline.sketch import LatencySketch
from ff_otel.store.appender import append_records
from ff_otel.store.layout import StoreLayout
from ff_otel.store.reader import read_records

PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}
_CPU_THRESHOLD = 90.0
_ABANDONMENT_WORTH_NOTING = 50.0
_LOW_ADOPTION = 5.0
_UNDERUSED_CPU = 20.0


@dataclass
class BIResult:
    """The DTO, the extra product-analytics figures, and the fields that could not be computed."""

    dto: FFBusinessIntelligenceDTO
    window_start: datetime
    window_end: datetime
    extras: dict[str, Any]
    absent: set[str]


def window_of(period: str, end: datetime | str | None) -> tuple[datetime, datetime]:
    if period not in PERIOD_DAYS:
        raise ValueError(f"period must be one of {list(PERIOD_DAYS)}, got {period!r}")
    stop = _clock.now() if end is None else _clock.parse_instant(end)
    return stop - timedelta(days=PERIOD_DAYS[period]), stop


def generate(
    layout: StoreLayout,
    analytics: FFAnalyticsConfigDTO,
    period: str,
    end: datetime | str | None = None,
    inputs: FFBusinessInputsDTO | None = None,
) -> BIResult:
    start, stop = window_of(period, end)
    days = PERIOD_DAYS[period]
    lookback = max(2 * days, 30)
    hourly = load_buckets(layout, "hour", stop - timedelta(days=lookback), stop)
    current = _within(hourly, start, stop)
    previous = _within(hourly, start - timedelta(days=days), start)
    first_seen = _first_seen(layout)
    start_iso, stop_iso = _clock.format_iso(start), _clock.format_iso(stop)
    absent: set[str] = set()

    active = _users(current)
    before = _users(previous)
    new = {u for u in active if start_iso <= first_seen.get(u, stop_iso) < stop_iso}
    returning = active - new
    dto = FFBusinessIntelligenceDTO(analysis_period=period)
    dto.total_users = sum(1 for seen in first_seen.values() if seen < stop_iso)
    dto.active_users = len(active)
    dto.new_users = len(new)
    dto.returning_users = len(returning)
    if before:
        dto.user_growth_rate_percent = round(100 * (len(active) - len(before)) / len(before), 3)
    else:
        absent.add("user_growth_rate_percent")

    features, previous_features = _features(current), _features(previous)
    ranked = sorted(features.items(), key=lambda item: (-item[1]["uses"], item[0]))
    dto.feature_adoption_rates = {
        name: round(100 * len(f["users"]) / len(active), 3) for name, f in ranked if active
    }
    dto.most_used_features = [
        {
            "feature": name,
            "usage_count": f["uses"],
            "users": len(f["users"]),
            "adoption_rate": dto.feature_adoption_rates.get(name, 0.0),
        }
        for name, f in ranked[:10]
    ]
    dto.feature_abandonment_rates = {
        name: round(
            100 * len(f["users"] - features.get(name, {"users": set()})["users"]) / len(f["users"]),
            3,
        )
        for name, f in sorted(previous_features.items())
        if f["users"]
    }

    by_hour = [0] * 24
    for bucket in current:
        for hour, count in enumerate(bucket.events["by_hour"]):
            by_hour[hour] += count
    dto.peak_usage_hours = [
        hour for hour in sorted(range(24), key=lambda h: (-by_hour[h], h)) if by_hour[hour]
    ][:3]
    sessions = sum(b.sessions["count"] for b in current)
    if sessions:
        duration = sum(b.sessions["duration_sum"] for b in current)
        dto.average_session_duration_minutes = round(duration / sessions / 60, 3)
    else:
        absent.add("average_session_duration_minutes")
    dto.user_satisfaction_trends = _daily_ratings(current)

    daily_active = _daily_users(hourly, stop - timedelta(days=max(days, 7)), stop)
    projection = _projected_growth(daily_active)
    if projection is None:
        absent.add("projected_growth_30_days")
    else:
        dto.projected_growth_30_days = projection
    dto.resource_utilization_trends = _resource_trends(current, hourly=period == "day")
    dto.scaling_recommendations = _scaling(dto, analytics, stop)
    components = _components(current)
    dto.performance_bottlenecks = _bottlenecks(components, analytics)
    dto.user_experience_improvements = _ux(dto, previous_features, components, analytics)
    dto.cost_optimization_opportunities = _cost_opportunities(current)
    dormant = before - active
    dto.churn_risk_indicators = _churn(before, dormant, dto)
    if inputs and inputs.monthly_cost is not None and active:
        dto.cost_per_user = round(inputs.monthly_cost * days / 30 / len(active), 4)
    else:
        absent.add("cost_per_user")
    if inputs and inputs.monthly_revenue is not None and active:
        dto.revenue_per_user = round(inputs.monthly_revenue * days / 30 / len(active), 4)
    else:
        absent.add("revenue_per_user")
    if "cost_per_user" not in absent and "revenue_per_user" not in absent:
        dto.roi_indicators = {
            "revenue_to_cost_ratio": round(dto.revenue_per_user / dto.cost_per_user, 4)
            if dto.cost_per_user
            else 0.0,
            "net_revenue_per_user": round(dto.revenue_per_user - dto.cost_per_user, 4),
        }
    else:
        absent.add("roi_indicators")

    extras = {
        "window_start": start_iso,
        "window_end": stop_iso,
        "lifecycle": {
            "new": len(new),
            "returning": len(active & before),
            "resurrecting": len(returning - before),
            "dormant": len(dormant),
        },
        "stickiness": _stickiness(hourly, stop),
        "retention_cohorts": _cohorts(current, first_seen),
        "requests": _requests(current),
    }
    return BIResult(dto, start, stop, extras, absent)


def _within(buckets: list[Bucket], start: datetime, stop: datetime) -> list[Bucket]:
    first = _clock.format_iso(start)[:13]
    last = _clock.format_iso(stop - timedelta(microseconds=1))[:13]
    return [b for b in buckets if first <= b.key <= last]


def _users(buckets: list[Bucket]) -> set[str]:
    users: set[str] = set()
    for bucket in buckets:
        users |= bucket.users
    return users


def _features(buckets: list[Bucket]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for bucket in buckets:
        for name, f in bucket.features.items():
            entry = merged.setdefault(name, {"uses": 0, "users": set()})
            entry["uses"] += f["uses"]
            entry["users"] |= f["users"]
    return merged


def _first_seen(layout: StoreLayout) -> dict[str, str]:
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


def _daily_ratings(buckets: list[Bucket]) -> list[float]:
    per_day: dict[str, list[float]] = {}
    for bucket in buckets:
        s = bucket.sessions
        if s["ratings_count"]:
            day = per_day.setdefault(bucket.key[:10], [0.0, 0.0])
            day[0] += s["ratings_sum"]
            day[1] += s["ratings_count"]
    return [round(total / count, 3) for _, (total, count) in sorted(per_day.items())]


def _daily_users(buckets: list[Bucket], start: datetime, stop: datetime) -> list[int]:
    per_day: dict[str, set[str]] = {}
    for bucket in _within(buckets, start, stop):
        per_day.setdefault(bucket.key[:10], set()).update(bucket.users)
    return [len(users) for _, users in sorted(per_day.items())]


def _fit(values: list[float]) -> tuple[float, float]:
    """Least-squares intercept and slope of values over 0..n-1."""
    n = len(values)
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    spread = sum((x - mean_x) ** 2 for x in range(n))
    slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / spread
    return mean_y - slope * mean_x, slope


def _projected_growth(daily_active: list[int]) -> float | None:
    if len(daily_active) < 2:
        return None
    intercept, slope = _fit([float(v) for v in daily_active])
    now = intercept + slope * (len(daily_active) - 1)
    if now <= 0:
        return None
    return round(100 * (slope * 30) / now, 3)


def _resource_trends(buckets: list[Bucket], *, hourly: bool) -> dict[str, list[float]]:
    grouped: dict[str, dict[str, list[float]]] = {}
    for bucket in buckets:
        key = bucket.key if hourly else bucket.key[:10]
        for name, summary in bucket.resources.items():
            cell = grouped.setdefault(name, {}).setdefault(key, [0.0, 0.0])
            cell[0] += summary["sum"]
            cell[1] += summary["count"]
    return {
        name: [round(total / count, 3) for _, (total, count) in sorted(points.items())]
        for name, points in sorted(grouped.items())
    }


def _scaling(
    dto: FFBusinessIntelligenceDTO, analytics: FFAnalyticsConfigDTO, stop: datetime
) -> list[str]:
    alerting = analytics.alerting_config
    limits = {
        "cpu_usage_percent": _CPU_THRESHOLD,
        "memory_usage_percent": alerting.memory_usage_threshold_percent,
        "disk_usage_percent": alerting.disk_usage_threshold_percent,
    }
    advice: list[str] = []
    for name, limit in limits.items():
        points = dto.resource_utilization_trends.get(name) or []
        if not points:
            continue
        latest = points[-1]
        if latest >= limit:
            advice.append(
                f"{name} at {latest:.1f}%, over its {limit:g}% threshold: add capacity now"
            )
            continue
        if len(points) < 2:
            continue
        _, slope = _fit(points)
        if slope <= 0:
            continue
        steps = (limit - latest) / slope
        step = timedelta(hours=1) if dto.analysis_period == "day" else timedelta(days=1)
        reach = stop + steps * step
        if reach - stop <= timedelta(days=30):
            advice.append(
                f"{name} rising {slope:.2f} points per {'hour' if step.seconds else 'day'} "
                f"from {latest:.1f}%: reaches {limit:g}% around {reach.date().isoformat()}; "
                "plan capacity"
            )
    if dto.projected_growth_30_days >= 50:
        advice.append(
            f"daily active users projected +{dto.projected_growth_30_days:.0f}% in 30 days: "
            "plan capacity for the growth"
        )
    return advice


def _components(buckets: list[Bucket]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for bucket in buckets:
        for name, c in bucket.spans.items():
            entry = merged.setdefault(name, {"count": 0, "errors": 0, "latency": LatencySketch()})
            entry["count"] += c["count"]
            entry["errors"] += c["errors"]
            entry["latency"].merge(c["latency"])
    return merged


def _bottlenecks(
    components: dict[str, dict[str, Any]], analytics: FFAnalyticsConfigDTO
) -> list[str]:
    alerting = analytics.alerting_config
    found: list[tuple[float, str]] = []
    for name, c in components.items():
        p95 = c["latency"].quantile(0.95) or 0.0
        rate = 100 * c["errors"] / c["count"] if c["count"] else 0.0
        reasons = []
        if p95 > alerting.response_time_threshold_ms:
            reasons.append(f"p95 {p95:.0f} ms > {alerting.response_time_threshold_ms:g} ms")
        if rate > alerting.error_rate_threshold_percent:
            reasons.append(f"{rate:.1f}% errors > {alerting.error_rate_threshold_percent:g}%")
        if reasons:
            found.append((p95, f"{name}: {'; '.join(reasons)} over {c['count']} spans"))
    return [text for _, text in sorted(found, key=lambda item: -item[0])]


def _ux(
    dto: FFBusinessIntelligenceDTO,
    previous_features: dict[str, dict[str, Any]],
    components: dict[str, dict[str, Any]],
    analytics: FFAnalyticsConfigDTO,
) -> list[str]:
    advice = []
    for name, rate in sorted(dto.feature_abandonment_rates.items(), key=lambda i: -i[1]):
        if rate >= _ABANDONMENT_WORTH_NOTING:
            users = len(previous_features[name]["users"])
            advice.append(
                f"feature {name!r}: {rate:.0f}% of the previous window's {users} users "
                "did not use it again"
            )
    for name, rate in sorted(dto.feature_adoption_rates.items(), key=lambda i: i[1]):
        if rate < _LOW_ADOPTION:
            advice.append(f"feature {name!r} reaches only {rate:.1f}% of active users")
    threshold = analytics.alerting_config.response_time_threshold_ms
    for name, c in sorted(components.items()):
        p95 = c["latency"].quantile(0.95) or 0.0
        if p95 > threshold:
            advice.append(f"users wait on {name}: p95 {p95:.0f} ms (threshold {threshold:g} ms)")
    return advice


def _cost_opportunities(buckets: list[Bucket]) -> list[str]:
    cpu = [b.resources["cpu_usage_percent"] for b in buckets if "cpu_usage_percent" in b.resources]
    if not cpu:
        return []
    count = sum(s["count"] for s in cpu)
    mean = sum(s["sum"] for s in cpu) / count
    peak = max(s["max"] for s in cpu)
    if peak < _UNDERUSED_CPU * 2 and mean < _UNDERUSED_CPU:
        return [
            f"CPU averaged {mean:.1f}% (peak {peak:.1f}%) over the window: "
            "the host could be smaller"
        ]
    return []


def _churn(before: set[str], dormant: set[str], dto: FFBusinessIntelligenceDTO) -> list[str]:
    signals = []
    if before and dormant:
        share = 100 * len(dormant) / len(before)
        signals.append(
            f"{len(dormant)} of {len(before)} users active in the previous window "
            f"were not active in this one ({share:.0f}%)"
        )
    if dto.user_growth_rate_percent < 0:
        signals.append(
            f"active users fell {-dto.user_growth_rate_percent:.1f}% vs the previous window"
        )
    return signals


def _stickiness(buckets: list[Bucket], stop: datetime) -> dict[str, float]:
    dau = len(_users(_within(buckets, stop - timedelta(days=1), stop)))
    wau = len(_users(_within(buckets, stop - timedelta(days=7), stop)))
    mau = len(_users(_within(buckets, stop - timedelta(days=30), stop)))
    return {"dau": dau, "wau": wau, "mau": mau, "dau_over_mau": round(dau / mau, 4) if mau else 0.0}


def _cohorts(buckets: list[Bucket], first_seen: dict[str, str]) -> list[dict[str, Any]]:
    active_by_week: dict[str, set[str]] = {}
    for bucket in buckets:
        week = bucket_key("week", bucket.key[:10])
        active_by_week.setdefault(week, set()).update(bucket.users)
    weeks = sorted(active_by_week)
    cohorts = []
    for index, week in enumerate(weeks):
        members = {u for u, seen in first_seen.items() if bucket_key("week", seen[:10]) == week}
        if not members:
            continue
        retained = [
            round(100 * len(members & active_by_week[later]) / len(members), 2)
            for later in weeks[index:]
        ]
        cohorts.append({"cohort_week": week, "size": len(members), "retained_percent": retained})
    return cohorts


def _requests(buckets: list[Bucket]) -> dict[str, Any]:
    sketch = LatencySketch()
    count = errors = 0
    for bucket in buckets:
        count += bucket.requests["count"]
        errors += bucket.requests["errors"]
        sketch.merge(bucket.requests["latency"])
    return {
        "count": count,
        "errors": errors,
        "p50_ms": sketch.quantile(0.5),
        "p95_ms": sketch.quantile(0.95),
        "p99_ms": sketch.quantile(0.99),
    }


def store(layout: StoreLayout, result: BIResult) -> None:
    """Append the result to the spec's four BI files (each what fits it; absent stays absent)."""
    dto = result.dto.to_dict()
    head = {
        "insight_id": dto["insight_id"],
        "timestamp": dto["timestamp"],
        "analysis_period": dto["analysis_period"],
        "window_start": result.extras["window_start"],
        "window_end": result.extras["window_end"],
    }

    def pick(*fields: str) -> dict[str, Any]:
        return {f: dto[f] for f in fields if f not in result.absent}

    folder = layout.business_intelligence_path
    append_records(
        folder / "usage_trends.jsonl",
        [
            {
                **head,
                **pick(
                    "total_users",
                    "active_users",
                    "new_users",
                    "returning_users",
                    "user_growth_rate_percent",
                    "most_used_features",
                    "feature_adoption_rates",
                    "feature_abandonment_rates",
                    "peak_usage_hours",
                    "average_session_duration_minutes",
                    "user_satisfaction_trends",
                    "churn_risk_indicators",
                ),
                "lifecycle": result.extras["lifecycle"],
                "stickiness": result.extras["stickiness"],
                "retention_cohorts": result.extras["retention_cohorts"],
            }
        ],
    )
    append_records(
        folder / "optimization_insights.jsonl",
        [
            {
                **head,
                **pick(
                    "performance_bottlenecks",
                    "cost_optimization_opportunities",
                    "user_experience_improvements",
                ),
                "requests": result.extras["requests"],
            }
        ],
    )
    append_records(
        folder / "capacity_planning.jsonl",
        [
            {
                **head,
                **pick(
                    "projected_growth_30_days",
                    "resource_utilization_trends",
                    "scaling_recommendations",
                ),
            }
        ],
    )
    roi = pick("roi_indicators", "cost_per_user", "revenue_per_user")
    if roi:
        append_records(folder / "roi_analytics.jsonl", [{**head, **roi}])
