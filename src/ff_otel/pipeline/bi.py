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
- ``projected_growth_30_days`` (with ``enable_predictive_analytics`` only):
  least-squares line through daily active users
  (at least two days; every UTC day from the first with activity in the last
  max(period, 7) days to ``end``, a day without activity counting zero), its
  value 30 days after ``end`` vs its value at ``end``, in %;
- ``resource_utilization_trends``: mean per day (per hour for a day window);
- stickiness: DAU (last day), WAU (last 7 days), MAU (last 30 days), DAU/MAU;
- retention cohorts: users by week first seen (before ``end``), share active in
  each later week of the window.

Recommendations and bottlenecks come from the alerting thresholds. Costs and
revenue come only from the optional business inputs; without them those
fields are absent, not zero. So are the figures the config's switches turn
off (:func:`ff_otel.pipeline.levels.withheld_bi_fields`): they are not computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ff_otel import _clock
from ff_otel.config import FFAnalyticsConfigDTO, FFBusinessInputsDTO
from ff_otel.models import FFBusinessIntelligenceDTO
from ff_otel.pipeline import cohorts, insights
from ff_otel.pipeline.buckets import bucket_key, iter_documents
from ff_otel.pipeline.levels import withheld_bi_fields
from ff_otel.pipeline.sketch import LatencySketch, add_stored_sketch, stored_sketch
from ff_otel.store.appender import append_records
from ff_otel.store.layout import StoreLayout

PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}


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
    scan = _Scan(start, stop, days, hourly_resources=period == "day")
    for key, document in iter_documents(layout, "hour", stop - timedelta(days=lookback), stop):
        scan.add(key, document)
    first_seen = cohorts.first_seen(layout)
    start_iso, stop_iso = _clock.format_iso(start), _clock.format_iso(stop)
    # Figures the configuration switches off are not computed at all.
    withheld = withheld_bi_fields(analytics)
    absent = set(withheld)

    active, before = scan.active, scan.before
    new = {u for u in active if start_iso <= first_seen.get(u, stop_iso) < stop_iso}
    returning = active - new
    dto = FFBusinessIntelligenceDTO(analysis_period=period)
    dto.total_users = sum(1 for seen in first_seen.values() if seen < stop_iso)
    dto.active_users = len(active)
    dto.new_users = len(new)
    dto.returning_users = len(returning)
    if before and "user_growth_rate_percent" not in withheld:
        dto.user_growth_rate_percent = round(100 * (len(active) - len(before)) / len(before), 3)
    else:
        absent.add("user_growth_rate_percent")

    features, previous_features = (
        ({}, {}) if "most_used_features" in withheld else (scan.features, scan.previous_features)
    )
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

    by_hour = scan.by_hour
    dto.peak_usage_hours = [
        hour for hour in sorted(range(24), key=lambda h: (-by_hour[h], h)) if by_hour[hour]
    ][:3]
    if scan.sessions and "average_session_duration_minutes" not in withheld:
        dto.average_session_duration_minutes = round(scan.duration / scan.sessions / 60, 3)
    else:
        absent.add("average_session_duration_minutes")
    if "user_satisfaction_trends" not in withheld:
        dto.user_satisfaction_trends = [
            round(total / count, 3) for _, (total, count) in sorted(scan.ratings.items())
        ]

    projection = None
    if "projected_growth_30_days" not in withheld:
        projection = insights.projected_growth(cohorts.daily_users(scan.daily_users, stop))
    if projection is None:
        absent.add("projected_growth_30_days")
    else:
        dto.projected_growth_30_days = projection
    trends = {
        name: [round(total / count, 3) for _, (total, count) in sorted(points.items())]
        for name, points in sorted(scan.resources.items())
    }
    if "resource_utilization_trends" not in withheld:
        dto.resource_utilization_trends = trends
    dto.scaling_recommendations = insights.scaling_recommendations(
        trends, projection, period, analytics, stop
    )
    components = scan.components()
    dto.performance_bottlenecks = insights.performance_bottlenecks(components, analytics)
    dto.user_experience_improvements = insights.experience_improvements(
        dto, previous_features, components, analytics
    )
    dto.cost_optimization_opportunities = insights.cost_opportunities(
        scan.cpu_sum, scan.cpu_count, scan.cpu_peak
    )
    dormant = before - active
    dto.churn_risk_indicators = insights.churn_signals(before, dormant, dto)
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

    extras: dict[str, Any] = {
        "window_start": start_iso,
        "window_end": stop_iso,
        "lifecycle": {
            "new": len(new),
            "returning": len(active & before),
            "resurrecting": len(returning - before),
            "dormant": len(dormant),
        },
        "stickiness": scan.stickiness(),
        "requests": scan.requests_summary(),
    }
    if "retention_cohorts" not in withheld:
        extras["retention_cohorts"] = cohorts.retention_cohorts(scan.weekly, first_seen, stop_iso)
    return BIResult(dto, start, stop, extras, absent)


def _hour_keys(start: datetime, stop: datetime) -> tuple[str, str]:
    """The first and last hour bucket keys of ``[start, stop)``."""
    return (
        _clock.format_iso(start)[:13],
        _clock.format_iso(stop - timedelta(microseconds=1))[:13],
    )


class _Scan:
    """What BI needs from the hourly documents, gathered in one pass over them.

    Documents arrive oldest first and none is kept: only the window's sums,
    sets of users and merged sketches are, so memory stays small however
    many hours the look-back holds.
    """

    def __init__(
        self, start: datetime, stop: datetime, days: int, *, hourly_resources: bool
    ) -> None:
        self.current = _hour_keys(start, stop)
        self.previous = _hour_keys(start - timedelta(days=days), start)
        self.daily = _hour_keys(stop - timedelta(days=max(days, 7)), stop)
        self.recent = {span: _hour_keys(stop - timedelta(days=span), stop) for span in (1, 7, 30)}
        self.hourly_resources = hourly_resources
        self.active: set[str] = set()
        self.before: set[str] = set()
        self.features: dict[str, dict[str, Any]] = {}
        self.previous_features: dict[str, dict[str, Any]] = {}
        self.by_hour = [0] * 24
        self.sessions: float = 0
        self.duration: float = 0
        self.ratings: dict[str, list[float]] = {}
        self.daily_users: dict[str, set[str]] = {}
        self.recent_users: dict[int, set[str]] = {span: set() for span in self.recent}
        self.resources: dict[str, dict[str, list[float]]] = {}
        self.cpu_count: float = 0
        self.cpu_sum: float = 0
        self.cpu_peak: float | None = None
        self.spans: dict[str, dict[str, Any]] = {}
        self.requests: dict[str, Any] = {"count": 0, "errors": 0, "latency": stored_sketch()}
        self.weekly: dict[str, set[str]] = {}
        self._week_of: dict[str, str] = {}

    def add(self, key: str, document: dict[str, Any]) -> None:
        users = document.get("users") or ()
        for span, (first, last) in self.recent.items():
            if first <= key <= last:
                self.recent_users[span].update(users)
        first, last = self.daily
        if users and first <= key <= last:
            self.daily_users.setdefault(key[:10], set()).update(users)
        first, last = self.previous
        if first <= key <= last:
            self.before.update(users)
            _add_features(self.previous_features, document)
        first, last = self.current
        if first <= key <= last:
            self._add_current(key, document, users)

    def _add_current(self, key: str, document: dict[str, Any], users: Any) -> None:
        self.active.update(users)
        _add_features(self.features, document)
        day = key[:10]
        week = self._week_of.get(day)
        if week is None:
            week = self._week_of[day] = bucket_key("week", day)
        self.weekly.setdefault(week, set()).update(users)
        by_hour = self.by_hour
        for hour, count in enumerate((document.get("events") or {}).get("by_hour") or ()):
            by_hour[hour] += count
        sessions = document.get("sessions") or {}
        self.sessions += sessions.get("count", 0)
        self.duration += sessions.get("duration_sum", 0)
        if sessions.get("ratings_count"):
            cell = self.ratings.setdefault(day, [0.0, 0.0])
            cell[0] += sessions["ratings_sum"]
            cell[1] += sessions["ratings_count"]
        resources = document.get("resources") or {}
        point = key if self.hourly_resources else day
        for name, summary in resources.items():
            cell = self.resources.setdefault(name, {}).setdefault(point, [0.0, 0.0])
            cell[0] += summary["sum"]
            cell[1] += summary["count"]
        cpu = resources.get("cpu_usage_percent")
        if cpu is not None:
            self.cpu_count += cpu["count"]
            self.cpu_sum += cpu["sum"]
            peak = self.cpu_peak
            self.cpu_peak = cpu["max"] if peak is None else max(peak, cpu["max"])
        for name, c in (document.get("spans") or {}).items():
            entry = self.spans.get(name)
            if entry is None:
                entry = self.spans[name] = {"count": 0, "errors": 0, "latency": stored_sketch()}
            entry["count"] += c["count"]
            entry["errors"] += c["errors"]
            add_stored_sketch(entry["latency"], c.get("latency") or {})
        requests = document.get("requests")
        if requests:
            self.requests["count"] += requests["count"]
            self.requests["errors"] += requests["errors"]
            add_stored_sketch(self.requests["latency"], requests.get("latency") or {})

    def components(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "count": c["count"],
                "errors": c["errors"],
                "latency": LatencySketch.from_json(c["latency"]),
            }
            for name, c in self.spans.items()
        }

    def stickiness(self) -> dict[str, float]:
        dau, wau, mau = (len(self.recent_users[span]) for span in (1, 7, 30))
        return {
            "dau": dau,
            "wau": wau,
            "mau": mau,
            "dau_over_mau": round(dau / mau, 4) if mau else 0.0,
        }

    def requests_summary(self) -> dict[str, Any]:
        sketch = LatencySketch.from_json(self.requests["latency"])
        return {
            "count": self.requests["count"],
            "errors": self.requests["errors"],
            "p50_ms": sketch.quantile(0.5),
            "p95_ms": sketch.quantile(0.95),
            "p99_ms": sketch.quantile(0.99),
        }


def _add_features(merged: dict[str, dict[str, Any]], document: dict[str, Any]) -> None:
    for name, f in (document.get("features") or {}).items():
        entry = merged.get(name)
        if entry is None:
            entry = merged[name] = {"uses": 0, "users": set()}
        entry["uses"] += f["uses"]
        entry["users"].update(f["users"])


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
                **{
                    name: result.extras[name]
                    for name in ("lifecycle", "stickiness", "retention_cohorts")
                    if name in result.extras
                },
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
