"""Business intelligence against known truth, and bad inputs.

Three hundred users over sixty days are backfilled through
``ff_otel.record_user_event(..., timestamp=...)``: first-active days, returning
users, feature use, sessions with their durations and ratings, and a quiet day
with no activity at all. Every BI figure is then computed again in this file
from the generated events (never from the store), following the definitions in
``ff_otel.pipeline.bi``'s docstring, and compared with what the manager returns
and stores.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import ff_otel

# A Monday about a hundred days ago: recent enough that no retention period
# (the collector applies them) reaches the history, and the same weekdays every run.
_AGO = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=100)
T0 = _AGO - timedelta(days=_AGO.weekday())
DAYS = 60
USERS = 300
QUIET_DAY = 55  # nobody uses the product that day (an outage)
PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}
FEATURES = [
    "search",
    "chat",
    "export",
    "summarize",
    "share",
    "upload",
    "templates",
    "voice",
    "tags",
    "api",
    "calendar",
    "dashboard",
]
FEATURE_WEIGHTS = [30, 25, 12, 10, 8, 6, 5, 4, 3, 2, 1, 1]
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 12, 11, 9, 10, 12, 11, 9, 7, 5, 4, 3, 2, 2, 1]


@dataclass
class Event:
    user: str
    session: str
    kind: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return list(self.data.get("features", []))


def generate_history(seed: int = 20260105) -> list[Event]:
    """Users with known first days, return habits, sessions, features and ratings.

    A fifth of the users come once; the others return on a share of the days
    after their first (some stop for good at a random day). A day has one or
    two sessions, each ``session_start``, up to three ``feature_usage`` events,
    sometimes a ``content_interaction``, and ``session_end`` with its duration;
    about a third carry one rating (on ``session_end`` or on an action). Some
    days also have an event outside any session. Sessions last under 25
    minutes, so none is closed by the 30-minute idle timeout.
    """
    rng = random.Random(seed)
    events: list[Event] = []
    for number in range(USERS):
        user = f"user-{number:03d}"
        first = min(DAYS - 1, int(DAYS * rng.random() ** 0.8))
        first += first == QUIET_DAY
        comes_once = rng.random() < 0.2
        habit = rng.uniform(0.1, 0.7)
        last = DAYS - 1 if rng.random() < 0.6 else rng.randint(first, DAYS - 1)
        sessions = 0
        for day in range(first, last + 1):
            if day != first and (comes_once or rng.random() > habit):
                continue
            for _ in range(1 if rng.random() < 0.7 else 2):
                sessions += 1
                session = _session(rng, user, f"{user}-s{sessions}", day)
                if all(e.at.date() != (T0 + timedelta(days=QUIET_DAY)).date() for e in session):
                    events.extend(session)
            if rng.random() < 0.1 and day != QUIET_DAY:
                at = T0 + timedelta(days=day, seconds=rng.randrange(86_400))
                events.append(Event(user, "", "notification_opened", at))
    events.sort(key=lambda e: e.at)
    return events


def _session(rng: random.Random, user: str, session: str, day: int) -> list[Event]:
    hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
    start = T0 + timedelta(days=day, hours=hour, seconds=rng.randrange(3600))
    duration = rng.randint(60, 1500)
    events = [
        Event(user, session, "session_start", start, {"platform": rng.choice(["web", "ios"])})
    ]
    for _ in range(rng.randint(0, 3)):
        used = sorted(set(rng.choices(FEATURES, FEATURE_WEIGHTS, k=rng.randint(1, 2))))
        at = start + timedelta(seconds=rng.randint(1, duration - 1))
        events.append(Event(user, session, "feature_usage", at, {"features": used}))
    if rng.random() < 0.3:
        at = start + timedelta(seconds=rng.randint(1, duration - 1))
        events.append(Event(user, session, "content_interaction", at, {"messages": 2}))
    end = Event(user, session, "session_end", start + timedelta(seconds=duration))
    end.data["duration"] = duration
    if rng.random() < 0.35:
        rated = end if len(events) == 1 or rng.random() < 0.6 else rng.choice(events[1:])
        rated.data["rating"] = rng.randint(1, 5)
    return [*events, end]


# --- the BI definitions, computed from the events ---------------------------------------


def _in(events: list[Event], start: datetime, stop: datetime) -> list[Event]:
    return [e for e in events if start <= e.at < stop]


def _users(events: list[Event]) -> set[str]:
    return {e.user for e in events}


def _feature_users(events: list[Event]) -> dict[str, set[str]]:
    users: dict[str, set[str]] = {}
    for e in events:
        for feature in e.features:
            users.setdefault(feature, set()).add(e.user)
    return users


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _least_squares_growth(daily: list[int]) -> float | None:
    """Exact least squares over x = 0..n-1: 30 days' rise over the value at the last day, %."""
    n = len(daily)
    if n < 2:
        return None
    mean_x, mean_y = Fraction(n - 1, 2), Fraction(sum(daily), n)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(daily)) / sum(
        (x - mean_x) ** 2 for x in range(n)
    )
    at_end = mean_y + slope * (n - 1 - mean_x)
    if at_end <= 0:
        return None
    return round(float(100 * 30 * slope / at_end), 3)


def expected_bi(events: list[Event], period: str, end: datetime) -> dict[str, Any]:
    """Every figure of the BI contract for the window ending at ``end``, from the events."""
    days = PERIOD_DAYS[period]
    start = end - timedelta(days=days)
    now, before = _in(events, start, end), _in(events, start - timedelta(days=days), start)
    first_seen: dict[str, datetime] = {}
    for e in events:
        first_seen[e.user] = min(first_seen.get(e.user, e.at), e.at)
    active, active_before = {e.user for e in now}, {e.user for e in before}
    new = {u for u in active if first_seen[u] >= start}

    uses = Counter(f for e in now for f in e.features)
    users_of, users_before = _feature_users(now), _feature_users(before)
    adoption = {f: round(100 * len(users) / len(active), 3) for f, users in users_of.items()}
    ranked = sorted(uses, key=lambda f: (-uses[f], f))[:10]

    by_hour = Counter(e.at.hour for e in now)
    ended = [e for e in now if e.kind == "session_end"]
    # A session's rating (the mean of its ratings, rounded: one each here)
    # counts on the day the session ended.
    ratings: dict[str, list[int]] = {}
    rating_of = {e.session: e.data["rating"] for e in events if "rating" in e.data}
    for e in ended:
        if e.session in rating_of:
            ratings.setdefault(e.at.date().isoformat(), []).append(rating_of[e.session])

    # Daily active users over the last max(days, 7) days, every calendar day
    # from the first with activity to the last, quiet days counting zero.
    recent = _in(events, end - timedelta(days=max(days, 7)), end)
    per_day: dict[date, set[str]] = {}
    for e in recent:
        per_day.setdefault(e.at.date(), set()).add(e.user)
    daily: list[int] = []
    if per_day:
        day, last_day = min(per_day), (end - timedelta(microseconds=1)).date()
        while day <= last_day:
            daily.append(len(per_day.get(day, ())))
            day += timedelta(days=1)

    def users_within(span: int) -> int:
        return len({e.user for e in _in(events, end - timedelta(days=span), end)})

    dau, wau, mau = users_within(1), users_within(7), users_within(30)
    weekly: dict[date, set[str]] = {}
    for e in now:
        weekly.setdefault(_week(e.at.date()), set()).add(e.user)
    weeks = sorted(weekly)
    cohorts = []
    for index, week in enumerate(weeks):
        members = {u for u, seen in first_seen.items() if seen < end and _week(seen.date()) == week}
        if members:
            cohorts.append(
                {
                    "cohort_week": week.isoformat(),
                    "size": len(members),
                    "retained_percent": [
                        round(100 * len(members & weekly[later]) / len(members), 2)
                        for later in weeks[index:]
                    ],
                }
            )
    return {
        "total_users": sum(1 for seen in first_seen.values() if seen < end),
        "active_users": len(active),
        "new_users": len(new),
        "returning_users": len(active - new),
        "user_growth_rate_percent": (
            round(100 * (len(active) - len(active_before)) / len(active_before), 3)
            if active_before
            else None
        ),
        "feature_adoption_rates": adoption,
        "feature_abandonment_rates": {
            f: round(100 * len(users - users_of.get(f, set())) / len(users), 3)
            for f, users in users_before.items()
        },
        "most_used_features": [
            {
                "feature": f,
                "usage_count": uses[f],
                "users": len(users_of[f]),
                "adoption_rate": adoption[f],
            }
            for f in ranked
        ],
        "peak_usage_hours": sorted(by_hour, key=lambda h: (-by_hour[h], h))[:3],
        "average_session_duration_minutes": (
            round(sum(e.data["duration"] for e in ended) / len(ended) / 60, 3) if ended else None
        ),
        "user_satisfaction_trends": [round(sum(r) / len(r), 3) for _, r in sorted(ratings.items())],
        "projected_growth_30_days": _least_squares_growth(daily),
        "lifecycle": {
            "new": len(new),
            "returning": len(active & active_before),
            "resurrecting": len(active - new - active_before),
            "dormant": len(active_before - active),
        },
        "stickiness": {
            "dau": dau,
            "wau": wau,
            "mau": mau,
            "dau_over_mau": round(dau / mau, 4) if mau else 0.0,
        },
        "retention_cohorts": cohorts,
    }


# --- the store the tests share ---------------------------------------------------------


@dataclass
class History:
    base_path: Path
    events: list[Event]


def flushed() -> None:
    # Twice: the first writes the events, the collector folds them (and
    # closes the sessions they end) on the second.
    assert ff_otel.force_flush()
    assert ff_otel.force_flush()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    events = generate_history()
    base_path = tmp_path_factory.mktemp("bi") / "store"
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith(("FF_OTEL_", "OTEL_")):
                env.delenv(name)
        handle = ff_otel.configure(base_path=base_path, system_metrics=False)
        try:
            for e in events:
                assert ff_otel.record_user_event(e.user, e.session, e.kind, e.data, timestamp=e.at)
            flushed()
            stored = list(ff_otel.read_records(handle.layout.behavior_patterns))
            sessions = list(ff_otel.read_records(handle.layout.session_analytics))
        finally:
            ff_otel.shutdown()
    assert len(stored) == len(events)
    assert len(sessions) == sum(1 for e in events if e.kind == "session_end")
    yield History(base_path, events)


def manager_for(base_path: Path, *, predictive: bool = False) -> ff_otel.FFMetricsCollectionManager:
    config = ff_otel.FFConfigurationManagerConfigDTO()
    config.storage.base_path = base_path
    config.analytics.enable_real_time_metrics = False
    # Forecasts are computed only when asked for (the spec's default is off).
    config.analytics.enable_predictive_analytics = predictive
    return ff_otel.FFMetricsCollectionManager(config)


def latest(manager: ff_otel.FFMetricsCollectionManager, name: str) -> dict[str, Any]:
    """The newest record of one of the business-intelligence files."""
    return list(ff_otel.read_records(manager.business_intelligence_path / name))[-1]


def test_the_generated_history_has_what_the_tests_rely_on(history: History) -> None:
    events = history.events
    first_days = Counter(min(e.at for e in events if e.user == u).date() for u in _users(events))
    assert len(first_days) > 40  # users arrive throughout the two months
    assert sum(first_days.values()) == USERS
    days_active = Counter(len({e.at.date() for e in events if e.user == u}) for u in _users(events))
    assert days_active[1] > 30 and sum(n for d, n in days_active.items() if d >= 5) > 100
    assert not [e for e in events if e.at.date() == (T0 + timedelta(days=QUIET_DAY)).date()]
    assert len({f for e in events for f in e.features}) == len(FEATURES) > 10
    assert sum(1 for e in events if "rating" in e.data and e.kind != "session_end") > 20


WINDOWS = [
    ("day", timedelta(days=59, hours=15)),
    ("day", timedelta(days=DAYS)),
    ("week", timedelta(days=DAYS)),
    ("week", timedelta(days=38, hours=9)),  # a Thursday morning, users still arriving
    ("month", timedelta(days=DAYS)),
    ("month", timedelta(days=45, hours=12)),
]
DTO_FIELDS = [
    "total_users",
    "active_users",
    "new_users",
    "returning_users",
    "user_growth_rate_percent",
    "feature_adoption_rates",
    "feature_abandonment_rates",
    "most_used_features",
    "peak_usage_hours",
    "average_session_duration_minutes",
    "user_satisfaction_trends",
    "projected_growth_30_days",
]
# Fields that may not be computable: absent from the stored record, default in the DTO.
OPTIONAL = {
    "user_growth_rate_percent",
    "average_session_duration_minutes",
    "projected_growth_30_days",
}


@pytest.mark.parametrize(
    ("period", "after_t0"),
    WINDOWS,
    ids=[f"{p}-to-day{t.days}+{t.seconds // 3600}h" for p, t in WINDOWS],
)
async def test_every_bi_figure_matches_the_definitions(
    history: History, period: str, after_t0: timedelta
) -> None:
    end = T0 + after_t0
    expected = expected_bi(history.events, period, end)
    manager = manager_for(history.base_path, predictive=True)

    dto = await manager.generate_business_intelligence(period, end=end)

    assert isinstance(dto, ff_otel.FFBusinessIntelligenceDTO)
    assert dto.analysis_period == period
    got = {name: getattr(dto, name) for name in DTO_FIELDS}
    want = {
        name: (0.0 if expected[name] is None and name in OPTIONAL else expected[name])
        for name in DTO_FIELDS
    }
    assert got == want

    stored = latest(manager, "usage_trends.jsonl")
    assert stored["insight_id"] == dto.insight_id
    assert (stored["window_start"], stored["window_end"]) == (
        f"{end - timedelta(days=PERIOD_DAYS[period]):%Y-%m-%dT%H:%M:%S}.000000Z",
        f"{end:%Y-%m-%dT%H:%M:%S}.000000Z",
    )
    for name in ("lifecycle", "stickiness", "retention_cohorts"):
        assert stored[name] == expected[name], name
    for name in DTO_FIELDS:
        if name in OPTIONAL and expected[name] is None:
            assert name not in stored, name
        elif name != "projected_growth_30_days":  # kept in capacity_planning.jsonl
            assert stored[name] == expected[name], name
    capacity = latest(manager, "capacity_planning.jsonl")
    assert capacity["insight_id"] == dto.insight_id
    assert capacity.get("projected_growth_30_days") == expected["projected_growth_30_days"]


async def test_windows_see_users_arrive_return_and_leave(history: History) -> None:
    # Plain facts of the generated history that the figures above must show.
    manager = manager_for(history.base_path)
    month = await manager.generate_business_intelligence("month", end=T0 + timedelta(days=DAYS))
    first_month = await manager.generate_business_intelligence("month", end=T0 + timedelta(days=30))
    assert first_month.total_users == first_month.new_users == first_month.active_users
    assert month.total_users == USERS
    assert month.returning_users > 0 and month.new_users > 0
    assert month.new_users + first_month.total_users == USERS
    quiet = await manager.generate_business_intelligence(
        "day", end=T0 + timedelta(days=QUIET_DAY + 1)
    )
    assert (quiet.active_users, quiet.peak_usage_hours, quiet.most_used_features) == (0, [], [])
    assert quiet.user_growth_rate_percent == -100.0
    assert quiet.total_users > 0 and quiet.churn_risk_indicators


# --- bad inputs -------------------------------------------------------------------------


async def test_an_unknown_period_is_a_value_error_naming_it(tmp_path: Path) -> None:
    manager = manager_for(tmp_path)
    with pytest.raises(ValueError, match="'fortnight'"):
        await manager.generate_business_intelligence("fortnight")
    with pytest.raises(ValueError, match="not an ISO-8601 timestamp"):
        await manager.generate_business_intelligence("day", end="last tuesday")


def _assert_empty(dto: ff_otel.FFBusinessIntelligenceDTO, period: str) -> None:
    assert dto.analysis_period == period
    assert (dto.total_users, dto.active_users, dto.new_users, dto.returning_users) == (0, 0, 0, 0)
    assert dto.user_growth_rate_percent == dto.average_session_duration_minutes == 0.0
    assert dto.projected_growth_30_days == dto.cost_per_user == dto.revenue_per_user == 0.0
    assert dto.most_used_features == dto.peak_usage_hours == dto.user_satisfaction_trends == []
    assert dto.feature_adoption_rates == dto.feature_abandonment_rates == {}
    assert dto.resource_utilization_trends == dto.roi_indicators == {}
    assert dto.churn_risk_indicators == dto.performance_bottlenecks == []


async def test_an_end_before_any_data_gives_an_empty_valid_result(history: History) -> None:
    manager = manager_for(history.base_path)
    for period in PERIOD_DAYS:
        dto = await manager.generate_business_intelligence(period, end=T0 - timedelta(days=90))
        _assert_empty(dto, period)
        stored = latest(manager, "usage_trends.jsonl")
        assert stored["insight_id"] == dto.insight_id
        assert stored["lifecycle"] == {"new": 0, "returning": 0, "resurrecting": 0, "dormant": 0}
        assert stored["stickiness"] == {"dau": 0, "wau": 0, "mau": 0, "dau_over_mau": 0.0}
        assert stored["retention_cohorts"] == []
        # Figures that cannot be computed are absent, not zero.
        assert "user_growth_rate_percent" not in stored
        assert "average_session_duration_minutes" not in stored


async def test_an_empty_store_gives_a_valid_result(tmp_path: Path) -> None:
    manager = manager_for(tmp_path)
    assert await manager.initialize_analytics_system()
    for period in PERIOD_DAYS:
        _assert_empty(await manager.generate_business_intelligence(period), period)
    records = list(ff_otel.read_records(manager.business_intelligence_path / "usage_trends.jsonl"))
    assert [r["analysis_period"] for r in records] == list(PERIOD_DAYS)
