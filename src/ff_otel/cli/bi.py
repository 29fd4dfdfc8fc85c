"""``ff-otel bi`` and ``ff-otel report``: business intelligence and period reports.

Both compute in SQL over the store as it is now, or (``--query-url``) over the
fleet's ClickHouse for what is fleet-wide.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click
import orjson
from rich.table import Table
from rich.text import Text

from ff_otel.cli._common import (
    base_path_option,
    console,
    examples,
    fail,
    json_option,
    load_settings,
    number,
    open_store,
    plain,
    print_json,
    query_url_option,
    table,
    time_option,
)
from ff_otel.pipeline import bi as intelligence
from ff_otel.reporting import generate_report
from ff_otel.store.layout import StoreLayout

_PERIOD = click.Choice(list(intelligence.PERIOD_DAYS))


@click.command(
    "bi",
    epilog=examples(
        "ff-otel bi",
        "ff-otel bi --period week",
        "ff-otel bi --period month --end 2026-11-01 --json",
    ),
)
@base_path_option
@query_url_option
@json_option
@click.option("--period", type=_PERIOD, default="day", show_default=True, help="Window length.")
@time_option("--end", help="End of the window (default now); the window is [end - period, end).")
def bi(
    base_path: Path, query_url: str | None, as_json: bool, period: str, end: datetime | None
) -> None:
    """Users, features, sessions, growth, capacity and recommendations for a window.

    A day, week or month is 1, 7 or 30 days before --end. The result is also
    appended to business_intelligence/ (usage trends, optimization insights,
    capacity planning, ROI with business inputs), as the facade does. Figures
    that cannot be computed are absent (listed under "absent" in --json).
    With --query-url the figures are the fleet's, from ClickHouse (sessions and
    resource readings are per host: absent), stored when --base-path holds a store.
    """
    layout = StoreLayout(base_path) if query_url else open_store(base_path)
    settings = load_settings(base_path)
    if not settings.analytics.enable_business_intelligence:
        fail("business intelligence is switched off (enable_business_intelligence is false)")
    result = intelligence.generate(
        layout, settings.analytics, period, end, settings.business, query_url=query_url
    )
    if layout.analytics_path.is_dir():
        intelligence.store(layout, result)
    data = {k: v for k, v in result.dto.to_dict().items() if k not in result.absent}
    data.update(result.extras)
    data["absent"] = sorted(result.absent)
    if as_json:
        print_json(data)
    else:
        _print_bi(data)


def _print_bi(data: dict[str, Any]) -> None:
    console.print(
        plain(f"Business intelligence, {data['analysis_period']}: ")
        + plain(f"{data['window_start']} to {data['window_end']}")
    )
    facts = Table(show_header=False, box=None, pad_edge=False)
    lifecycle = data["lifecycle"]
    sticky = data["stickiness"]
    growth = data.get("user_growth_rate_percent")
    projected = data.get("projected_growth_30_days")
    requests = data["requests"]
    rows = [
        (
            "users",
            f"{data['active_users']:,} active, {data['new_users']:,} new, "
            f"{data['returning_users']:,} returning, {data['total_users']:,} in total",
        ),
        (
            "lifecycle",
            ", ".join(f"{n:,} {kind}" for kind, n in lifecycle.items()),
        ),
        (
            "stickiness",
            f"DAU {sticky.get('dau', 0):,} / WAU {sticky.get('wau', 0):,} / "
            f"MAU {sticky.get('mau', 0):,}, DAU/MAU {number(sticky.get('dau_over_mau'), 2)}",
        ),
        ("growth vs previous window", "-" if growth is None else f"{growth:+.1f}%"),
        ("projected 30-day growth", "-" if projected is None else f"{projected:+.1f}%"),
        (
            "sessions",
            f"{number(data.get('average_session_duration_minutes'), 2)} min on average; "
            f"satisfaction by day {data.get('user_satisfaction_trends') or '-'}",
        ),
        ("peak hours (UTC)", ", ".join(f"{h:02d}:00" for h in data["peak_usage_hours"]) or "-"),
        (
            "requests",
            f"{requests.get('count', 0):,}, {requests.get('errors', 0):,} failed, "
            f"p95 {number(requests.get('p95_ms'))} ms",
        ),
    ]
    if "cost_per_user" in data:
        rows.append(("cost per user", number(data["cost_per_user"], 2)))
    if "revenue_per_user" in data:
        rows.append(("revenue per user", number(data["revenue_per_user"], 2)))
    for label, value in rows:
        facts.add_row(Text(label, style="bold"), plain(value))
    console.print(facts)
    if data.get("most_used_features"):
        features = table("feature", "uses", "users", "adoption %", "abandonment %")
        abandonment = data.get("feature_abandonment_rates") or {}
        for feature in data["most_used_features"]:
            features.add_row(
                plain(feature["feature"]),
                number(feature["usage_count"]),
                number(feature["users"]),
                number(feature["adoption_rate"]),
                number(abandonment.get(feature["feature"])),
            )
        console.print(features)
    for title, key in (
        ("Performance bottlenecks", "performance_bottlenecks"),
        ("Scaling", "scaling_recommendations"),
        ("User experience", "user_experience_improvements"),
        ("Cost", "cost_optimization_opportunities"),
        ("Churn risk", "churn_risk_indicators"),
    ):
        for line in data.get(key) or []:
            console.print(Text(f"{title}: ", style="yellow"), plain(line), sep="")


@click.command(
    "report",
    epilog=examples(
        "ff-otel report",
        "ff-otel report --period week --end 2026-11-23",
        "ff-otel report --period month --json | jq .report.users",
    ),
)
@base_path_option
@query_url_option
@json_option
@click.option("--period", type=_PERIOD, default="day", show_default=True, help="Calendar period.")
@time_option("--end", help="Report the period holding the instant just before TIME (default now).")
def report(
    base_path: Path, query_url: str | None, as_json: bool, period: str, end: datetime | None
) -> None:
    """Write the report of a calendar day, ISO week or month to analytics/reports/.

    The period is the one containing the instant just before --end (default:
    the period under way). One file per configured report format (json, csv);
    audited. Prints the report's health, performance, alerts and users.
    With --query-url the requests, latencies, components, users and features
    are the fleet's, from ClickHouse; health and alerts are the store's at
    --base-path, where the report is written (for a fleet, the store of
    `ff-otel monitor --query-url`, which holds the fleet's alerts).
    """
    open_store(base_path)
    settings = load_settings(base_path)
    files = generate_report(
        period,
        end,
        base_path=base_path,
        analytics=settings.analytics,
        business=settings.business,
        query_url=query_url or "",
    )
    json_file = next((f for f in files if f.suffix == ".json"), None)
    content = orjson.loads(json_file.read_bytes()) if json_file is not None else None
    if as_json:
        print_json({"files": [str(f) for f in files], "report": content})
        return
    for path in files:
        console.print(plain(f"Wrote {path}"))
    if content is not None:
        _print_report(content)


def _print_report(content: dict[str, Any]) -> None:
    health = content["health"]
    performance = content["performance"]
    users = content["users"]
    alerts = content["alerts"]
    console.print(plain(f"{content['period'].capitalize()} {content['start']} to {content['end']}"))
    if content.get("sources"):
        console.print("Requests, components and users: the fleet's; health and alerts: the store's")
    facts = Table(show_header=False, box=None, pad_edge=False)
    facts.add_row(
        Text("health", style="bold"),
        plain(
            f"{number(health.get('healthy_share_percent'))}% of {health.get('intervals', 0):,} "
            "intervals healthy"
        ),
    )
    facts.add_row(
        Text("requests", style="bold"),
        plain(
            f"{performance.get('requests', 0):,}, {performance.get('failed_requests', 0):,} "
            f"failed ({number(performance.get('error_rate_percent'))}%), "
            f"p50 {number(performance.get('p50_ms'))} ms, p95 {number(performance.get('p95_ms'))} "
            f"ms, p99 {number(performance.get('p99_ms'))} ms"
        ),
    )
    states = ", ".join(
        f"{n} {state} ({severity})"
        for key, n in sorted(alerts.get("by_state_and_severity", {}).items())
        for state, _, severity in [key.partition(":")]
    )
    facts.add_row(
        Text("alerts", style="bold"),
        plain(
            f"{alerts.get('alerts', 0):,} in the period; at its end {states}"
            if alerts.get("alerts")
            else "none"
        ),
    )
    facts.add_row(
        Text("users", style="bold"),
        plain(
            f"{users.get('active', 0):,} active, {users.get('new', 0):,} new, "
            f"{users.get('returning', 0):,} returning, {users.get('total', 0):,} in total"
        ),
    )
    console.print(facts)
    components = performance.get("components") or {}
    if components:
        rows = table("component", "spans", "errors", "p95 ms")
        for name, c in components.items():
            rows.add_row(
                plain(name),
                number(c.get("spans")),
                number(c.get("errors")),
                number(c.get("p95_ms")),
            )
        console.print(rows)
