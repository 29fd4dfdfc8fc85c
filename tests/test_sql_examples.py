"""The documented SQL examples (slow routes, DAU, a funnel, errors by release) run as written."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ff_otel

REPOSITORY = Path(__file__).resolve().parent.parent
# The README and the docs site: whichever page holds the examples block.
PAGES = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").rglob("*.md"))]
DAY = datetime(2026, 5, 4, 10, tzinfo=UTC)


def documented_examples() -> dict[str, str]:
    """The statements of the SQL section's examples block, by their first comment line."""
    text = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
    block = re.search(r"(?:\*\*Examples\.\*\*|#+ Examples)\s*```sql\n(.*?)```", text, re.DOTALL)
    assert block is not None, "no page of the README or docs/ has the SQL examples block"
    examples = {}
    for statement in block.group(1).split(";"):
        statement = statement.strip()
        if statement:
            title = statement.splitlines()[0].removeprefix("--").strip()
            examples[title] = statement
    return examples


def request(route: str, release: str, status: int) -> None:
    attributes = {"http.route": route, "release": release, "http.response.status_code": status}
    with ff_otel.span(f"GET {route}", **attributes):
        pass


def event(user: str, kind: str, at: datetime, features: list[str] | None = None) -> None:
    data = {"features": features} if features else {}
    ff_otel.record_user_event(user, f"s-{user}", kind, data, timestamp=at)


def test_each_documented_example_answers_exactly(handle: ff_otel.FFOtel) -> None:
    request("/a", "1.0", 200)
    request("/a", "1.0", 503)
    request("/b", "1.1", 200)
    for user, stages in (("u1", 3), ("u2", 2), ("u3", 1)):
        event(user, "session_start", DAY)
        if stages >= 2:
            event(user, "feature_usage", DAY + timedelta(minutes=1), ["search"])
        if stages >= 3:
            event(user, "feature_usage", DAY + timedelta(minutes=2), ["export"])
    event("u1", "page_view", DAY + timedelta(days=1))
    assert ff_otel.force_flush()
    examples = documented_examples()
    assert len(examples) == 4, list(examples)
    slow, dau, funnel, release = examples.values()

    routes = ff_otel.sql(slow)
    assert sorted((r["route"], r["requests"], r["error_percent"]) for r in routes) == [
        ("/a", 2, 50.0),
        ("/b", 1, 0.0),
    ]
    assert all(r["p95_ms"] >= 0 for r in routes)
    assert [r["p95_ms"] for r in routes] == sorted((r["p95_ms"] for r in routes), reverse=True)

    assert ff_otel.sql(dau) == [
        {"day": DAY.replace(hour=0, tzinfo=None), "dau": 3},
        {"day": (DAY + timedelta(days=1)).replace(hour=0, tzinfo=None), "dau": 1},
    ]
    assert ff_otel.sql(funnel) == [{"started": 3, "searched": 2, "exported": 1}]
    assert ff_otel.sql(release) == [
        {"release": "1.0", "requests": 2, "failed": 1},
        {"release": "1.1", "requests": 1, "failed": 0},
    ]
