"""Business intelligence over the fleet's ClickHouse equals BI over a store holding the same
telemetry.

One set of telemetry is written both ways: through the public API into the local store, and
into the exporter's tables in chdb, split across three hosts as a load balancer would (the same
user on several hosts). The month's figures must be identical, except the per-host ones
(sessions, resource readings), which are absent over ClickHouse.
"""

from __future__ import annotations

import contextlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chdb import session

import ff_otel
from ff_otel.pipeline import bi
from ff_otel.settings.model import FFOtelSettings

from .clickhouse_fleet import by_host, create_tables, fill_in_another_process, insert
from .test_cli_sql import run

END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
FEATURES = ("search", "chat", "export", "share")


@ff_otel.instrument(component="api")
def answer(index: int) -> None:
    with ff_otel.span("llm.call", component="llm") as span:
        span.set_attribute("tokens", index)
        if index % 9 == 0:
            raise RuntimeError("model timed out")


def _events() -> list[tuple[str, str, str, dict[str, Any], datetime]]:
    """Forty users over forty days: first days, returns, features three ways, a quiet spell."""
    rng = random.Random(16)
    events = []
    for user in range(40):
        first = rng.randrange(0, 38)
        for day in range(first, 40, rng.choice((1, 2, 5, 40))):
            at = END - timedelta(days=40 - day, hours=rng.randrange(1, 20), minutes=user)
            data: dict[str, Any] = {"platform": rng.choice(("web", "ios"))}
            kind = rng.choice(("session_start", "feature_usage", "content_interaction"))
            if kind == "feature_usage":
                data["name"] = rng.choice(FEATURES)
            elif rng.random() < 0.5:
                data["features"] = rng.sample(FEATURES, 2)
            else:
                data["feature"] = rng.choice(FEATURES)
            events.append((f"user-{user}", f"s-{user}-{day}", kind, data, at))
    return events


@pytest.fixture
def telemetry(base_path: Path) -> ff_otel.FFOtel:
    handle = ff_otel.configure(base_path=base_path, service_name="chat-api", system_metrics=False)
    for user, session_id, kind, data, at in _events():
        assert ff_otel.record_user_event(user, session_id, kind, data, timestamp=at)
    for index in range(60):
        with contextlib.suppress(RuntimeError):
            answer(index)
    for code in (200, 503, 503, 404):
        with ff_otel.span("GET /chat", kind="server", **{"http.response.status_code": code}):
            pass
    assert ff_otel.force_flush()
    return handle


def _comparable(result: bi.BIResult) -> dict[str, Any]:
    left_out = result.absent | bi.PER_HOST_FIELDS | {"insight_id", "timestamp"}
    figures = {k: v for k, v in result.dto.to_dict().items() if k not in left_out}
    return {**figures, **result.extras}


def test_month_bi_over_clickhouse_equals_the_store_s(
    telemetry: ff_otel.FFOtel, chdb_path: Path
) -> None:
    writer = session.Session(str(chdb_path))
    create_tables(writer.query, "bi_fleet")
    for host, records in by_host(telemetry.layout).items():
        insert(
            writer.query, "bi_fleet", spans=records["spans"], events=records["events"], host=host
        )
    writer.close()
    url = f"chdb://{chdb_path}?database=bi_fleet"
    settings: FFOtelSettings = telemetry.settings

    local = bi.generate(telemetry.layout, settings.analytics, "month", END, query_url="")
    fleet = bi.generate(telemetry.layout, settings.analytics, "month", END, query_url=url)

    assert fleet.absent == local.absent | bi.PER_HOST_FIELDS
    assert _comparable(fleet) == _comparable(local)
    # Figures worth comparing: users on several hosts, features used three ways, failures.
    assert local.dto.active_users > 20 and local.dto.new_users > 0
    assert {f["feature"] for f in local.dto.most_used_features} == set(FEATURES)
    assert local.extras["requests"]["errors"] >= 2
    assert local.extras["retention_cohorts"]


def test_the_configured_query_url_is_where_the_manager_s_bi_comes_from(
    telemetry: ff_otel.FFOtel, chdb_path: Path
) -> None:
    writer = session.Session(str(chdb_path))
    create_tables(writer.query, "bi_manager")
    users = set()
    for host, records in by_host(telemetry.layout).items():
        insert(writer.query, "bi_manager", events=records["events"][-5:], host=host)
        users |= {event["user_hash"] for event in records["events"][-5:]}
    writer.close()
    local = bi.generate(telemetry.layout, telemetry.settings.analytics, "month", END)
    ff_otel.shutdown()
    url = f"chdb://{chdb_path}?database=bi_manager"
    handle = ff_otel.configure(
        base_path=telemetry.layout.base_path, query_url=url, system_metrics=False
    )
    fleet = bi.generate(handle.layout, handle.settings.analytics, "month", END)
    assert fleet.dto.total_users == len(users) < local.dto.total_users
    assert "average_session_duration_minutes" in fleet.absent


def test_cli_bi_over_the_fleet_prints_the_store_s_figures(
    telemetry: ff_otel.FFOtel, tmp_path: Path
) -> None:
    url = fill_in_another_process(tmp_path / "chdb", "cli_bi", by_host(telemetry.layout))
    local = bi.generate(telemetry.layout, telemetry.settings.analytics, "month", END)
    done = run(
        "bi",
        "--period",
        "month",
        "--end",
        END.isoformat(),
        "--json",
        "--query-url",
        url,
        "--base-path",
        tmp_path / "no-store",
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["active_users"] == local.dto.active_users
    assert printed["most_used_features"] == local.dto.most_used_features
    assert printed["requests"] == local.extras["requests"]
    assert "average_session_duration_minutes" in printed["absent"]
    assert not (tmp_path / "no-store").exists()
