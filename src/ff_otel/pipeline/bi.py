"""Business intelligence in SQL over the store's views, with product-analytics definitions.

A window is the whole UTC hours overlapping ``[end - period, end)`` (day = 1
day, week = 7, month = 30); the previous window is the same length before it.
Definitions (the README repeats them, PostHog/Amplitude style):

- active users: distinct users with an event in the window; total users: users
  first seen (their earliest stored event) before ``end``; new users: first
  event ever in the window;
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

from ff_otel.core import clock
from ff_otel.pipeline import bi_figures as figures
from ff_otel.pipeline import cohorts, insights
from ff_otel.pipeline.levels import withheld_bi_fields
from ff_otel.spec.config import FFAnalyticsConfigDTO, FFBusinessInputsDTO
from ff_otel.spec.models import FFBusinessIntelligenceDTO
from ff_otel.sql.engine import resolve_query_url
from ff_otel.store.appender import append_records
from ff_otel.store.layout import StoreLayout

PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}
PER_HOST_FIELDS = frozenset(
    {
        "average_session_duration_minutes",
        "user_satisfaction_trends",
        "resource_utilization_trends",
        "cost_optimization_opportunities",
    }
)
"""Absent over ClickHouse: sessions are closed and resources read per host, in its store."""
_NO_SESSIONS: dict[str, Any] = {"totals": {"count": 0, "duration": 0}, "ratings": [], "weeks": []}
_NO_READINGS: dict[str, Any] = {
    "points": [],
    "cpu": {"count": 0, "sum": None, "max": None},
    "weeks": [],
}


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
    stop = clock.now() if end is None else clock.parse_instant(end)
    return stop - timedelta(days=PERIOD_DAYS[period]), stop


def generate(
    layout: StoreLayout,
    analytics: FFAnalyticsConfigDTO,
    period: str,
    end: datetime | str | None = None,
    inputs: FFBusinessInputsDTO | None = None,
    query_url: str | None = None,
) -> BIResult:
    """BI for the window, from the store or (``query_url``, else the configured one) the
    fleet's ClickHouse, where the per-host figures are absent (:data:`PER_HOST_FIELDS`)."""
    start, stop = window_of(period, end)
    days = PERIOD_DAYS[period]
    windows = figures.Windows(start, stop, days)
    base = layout.base_path
    url = resolve_query_url(query_url)
    users = figures.user_figures(base, windows, url)
    spans = figures.span_figures(base, windows, url)
    # Figures the configuration switches off are not computed at all.
    withheld = withheld_bi_fields(analytics)
    absent = set(withheld)
    if url:
        sessions, resources = _NO_SESSIONS, _NO_READINGS
        absent |= PER_HOST_FIELDS
    else:
        sessions = figures.session_figures(base, windows)
        resources = figures.resource_figures(base, windows, hourly=period == "day")
    start_iso, stop_iso = clock.format_iso(start), clock.format_iso(stop)

    counts = users["users"]
    active, before = counts["active"], counts["before"]
    dto = FFBusinessIntelligenceDTO(analysis_period=period)
    dto.total_users = users["total_users"]
    dto.active_users = active
    dto.new_users = counts["new"]
    dto.returning_users = active - counts["new"]
    if before and "user_growth_rate_percent" not in withheld:
        dto.user_growth_rate_percent = round(100 * (active - before) / before, 3)
    else:
        absent.add("user_growth_rate_percent")

    features = [] if "most_used_features" in withheld else users["features"] or []
    ranked = sorted((f for f in features if f["users"]), key=lambda f: (-f["uses"], f["feature"]))
    dto.feature_adoption_rates = {
        f["feature"]: round(100 * f["users"] / active, 3) for f in ranked if active
    }
    dto.most_used_features = [
        {
            "feature": f["feature"],
            "usage_count": f["uses"],
            "users": f["users"],
            "adoption_rate": dto.feature_adoption_rates.get(f["feature"], 0.0),
        }
        for f in ranked[:10]
    ]
    previous_users = {f["feature"]: f["before"] for f in features if f["before"]}
    lost = {f["feature"]: f["lost"] for f in features}
    dto.feature_abandonment_rates = {
        name: round(100 * lost[name] / count, 3) for name, count in sorted(previous_users.items())
    }

    by_hour = [0] * 24
    for cell in users["by_hour"] or ():
        by_hour[cell["hour"]] = cell["events"]
    dto.peak_usage_hours = [
        hour for hour in sorted(range(24), key=lambda h: (-by_hour[h], h)) if by_hour[hour]
    ][:3]
    totals = sessions["totals"]
    if totals["count"] and "average_session_duration_minutes" not in withheld:
        dto.average_session_duration_minutes = round(totals["duration"] / totals["count"] / 60, 3)
    else:
        absent.add("average_session_duration_minutes")
    if "user_satisfaction_trends" not in absent:
        dto.user_satisfaction_trends = [
            round(cell["sum"] / cell["count"], 3)
            for cell in sorted(sessions["ratings"] or (), key=lambda cell: cell["day"])
        ]

    projection = None
    if "projected_growth_30_days" not in withheld:
        daily = {cell["day"]: cell["users"] for cell in users["daily"] or ()}
        projection = insights.projected_growth(cohorts.daily_users(daily, stop))
    if projection is None:
        absent.add("projected_growth_30_days")
    else:
        dto.projected_growth_30_days = projection
    points: dict[str, dict[str, tuple[float, int]]] = {}
    for cell in resources["points"] or ():
        points.setdefault(cell["name"], {})[cell["point"]] = (cell["sum"], cell["count"])
    trends = {
        name: [round(total / count, 3) for _, (total, count) in sorted(by_point.items())]
        for name, by_point in sorted(points.items())
    }
    if "resource_utilization_trends" not in absent:
        dto.resource_utilization_trends = trends
    dto.scaling_recommendations = insights.scaling_recommendations(
        trends, projection, period, analytics, stop
    )
    dto.performance_bottlenecks = insights.performance_bottlenecks(spans.components, analytics)
    dto.user_experience_improvements = insights.experience_improvements(
        dto, previous_users, spans.components, analytics
    )
    cpu = resources["cpu"]
    dto.cost_optimization_opportunities = insights.cost_opportunities(
        cpu["sum"] or 0.0, cpu["count"], cpu["max"]
    )
    dormant = counts["dormant"]
    dto.churn_risk_indicators = insights.churn_signals(before, dormant, dto)
    if inputs and inputs.monthly_cost is not None and active:
        dto.cost_per_user = round(inputs.monthly_cost * days / 30 / active, 4)
    else:
        absent.add("cost_per_user")
    if inputs and inputs.monthly_revenue is not None and active:
        dto.revenue_per_user = round(inputs.monthly_revenue * days / 30 / active, 4)
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
            "new": counts["new"],
            "returning": counts["both"],
            "resurrecting": counts["resurrecting"],
            "dormant": dormant,
        },
        "stickiness": {
            "dau": counts["dau"],
            "wau": counts["wau"],
            "mau": counts["mau"],
            "dau_over_mau": round(counts["dau"] / counts["mau"], 4) if counts["mau"] else 0.0,
        },
        "requests": _requests_summary(spans.requests),
    }
    if "retention_cohorts" not in withheld:
        weeks = {
            *(users["weeks"] or ()),
            *(sessions["weeks"] or ()),
            *(resources["weeks"] or ()),
            *spans.weeks,
        }
        extras["retention_cohorts"] = cohorts.retention_cohorts(
            sorted(weeks), users["cohorts"] or [], users["retained"] or []
        )
    return BIResult(dto, start, stop, extras, absent)


def _requests_summary(requests: dict[str, Any]) -> dict[str, Any]:
    sketch = requests["latency"]
    return {
        "count": requests["count"],
        "errors": requests["errors"],
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
