"""The dashboard's explorer pages (/traces, /logs, /metrics, /sql) in headless Chromium,
over a store a real ff-otel process wrote: every filter, the deep links, back/forward,
the SQL refusal and downloads.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page

from ff_otel.dashboard import sql_console

from .test_dashboard import (
    DESKTOP,
    Dashboard,
    _environment,
    _request,
    _start_dashboard,
    _stop,
    browser,
    chromium,
)

__all__ = ["browser", "chromium"]  # the fixtures, shared with test_dashboard

_WRITER = textwrap.dedent(
    """
    import logging, sys, time
    import ff_otel

    ff_otel.configure(base_path=sys.argv[1], service_name="shop", system_metrics=False,
                      logging=True)
    log = logging.getLogger("shop.orders")
    for i in range(6):
        with ff_otel.span("GET /orders", component="api", **{"http.route": "/orders"}):
            with ff_otel.span("db.query", component="database"):
                pass
            log.info("listed orders page %d", i)
    with ff_otel.span("POST /checkout", component="api", **{"order.kind": "big"}):
        time.sleep(0.08)
        log.warning("checkout was slow")
    try:
        with ff_otel.span("POST /pay", component="api"):
            try:
                raise ValueError("card declined")
            except ValueError:
                log.exception("payment failed")
                raise
    except ValueError:
        pass
    placed = ff_otel.counter("orders.placed", description="Orders placed")
    placed.add(3, {"region": "eu"})
    placed.add(2, {"region": "us"})
    latency = ff_otel.histogram("checkout.latency", unit="ms")
    for value in (5, 10, 20, 40, 80):
        latency.record(value)
    ff_otel.force_flush()
    ff_otel.shutdown()
    """
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("explorers") / "store"
    subprocess.run(
        [sys.executable, "-c", _WRITER, str(base)], check=True, env=_environment(), timeout=120
    )
    return base


@pytest.fixture(scope="module")
def dashboard(shop: Path) -> Iterator[Dashboard]:
    started = _start_dashboard(shop, "--refresh", "60")
    yield started
    _stop(started)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"the page reported errors: {errors}"


def _rows(page: Page, testid: str) -> list[str]:
    return [row.inner_text() for row in page.locator(f'[data-testid="{testid}"]').all()]


def _apply(page: Page, testid: str, **fields: str) -> list[str]:
    """Fill the filter form, apply it, and wait for the list it asks for."""
    for name, value in fields.items():
        control = page.locator(f'#filters [name="{name}"]')
        if control.evaluate("node => node.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    before = int(page.evaluate("document.body.dataset.loads || 0"))
    page.click('[data-testid="apply"]')
    page.wait_for_function(f"() => Number(document.body.dataset.loads || 0) > {before}")
    return _rows(page, testid)


def _roots(rows: list[str]) -> list[str]:
    return sorted(row.split("\t")[1] for row in rows)


def test_traces_filter_by_every_field_and_open_as_a_waterfall(
    page: Page, dashboard: Dashboard
) -> None:
    page.goto(dashboard.url + "traces")
    page.locator('[data-testid="trace-result"]').first.wait_for()
    every = _rows(page, "trace-result")
    assert _roots(every) == ["GET /orders"] * 6 + ["POST /checkout", "POST /pay"]

    assert _roots(_apply(page, "trace-result", status="error")) == ["POST /pay"]
    assert "status=error" in page.url
    assert _roots(_apply(page, "trace-result", status="ok")) == ["GET /orders"] * 6 + [
        "POST /checkout"
    ]
    assert _roots(_apply(page, "trace-result", status="", name="db.query")) == ["GET /orders"] * 6
    assert _roots(_apply(page, "trace-result", name="", min_ms="50")) == ["POST /checkout"]
    assert _roots(_apply(page, "trace-result", min_ms="", attr="order.kind:big")) == [
        "POST /checkout"
    ]
    assert _roots(_apply(page, "trace-result", attr="", service="shop")) == _roots(every)
    _apply(page, "trace-result", service="nobody")
    assert _rows(page, "trace-result") == []
    assert "No trace matches" in page.locator("#results").inner_text()

    # Back restores the previous filters (the form and the rows); forward returns.
    page.go_back()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=trace-result]').length === 8"
    )
    assert page.locator('#filters [name="service"]').input_value() == "shop"
    page.go_forward()
    page.wait_for_selector("#results .empty")
    assert page.locator('#filters [name="service"]').input_value() == "nobody"

    # A deep link with filters, then a row opens its waterfall at /traces/<id>.
    page.goto(dashboard.url + "traces?status=error")
    link = page.locator('[data-testid="trace-link"]')
    link.first.wait_for()
    assert link.count() == 1
    trace_id = page.locator('[data-testid="trace-result"]').get_attribute("data-trace-id")
    link.click()
    page.locator('[data-testid="trace-row"]').first.wait_for()
    assert f"/traces/{trace_id}" in page.url
    assert page.locator('[data-testid="trace-row"]').first.inner_text().startswith("POST /pay")
    assert page.locator("#filters").is_hidden()  # the waterfall alone, not the list's form
    page.go_back()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=trace-result]').length === 1"
    )
    # The deep link alone opens the same waterfall.
    page.goto(dashboard.url + f"traces/{trace_id}")
    page.locator('[data-testid="trace-row"]').first.wait_for()
    assert page.locator('[data-testid="trace-logs"]').get_attribute("href") == (
        f"/logs?trace_id={trace_id}"
    )


def test_logs_filter_by_text_severity_component_and_trace(page: Page, dashboard: Dashboard) -> None:
    page.goto(dashboard.url + "logs")
    page.locator('[data-testid="log-row"]').first.wait_for()
    assert len(_rows(page, "log-row")) == 8

    warned = _apply(page, "log-row", severity="warn")
    assert [row.split("\n")[1] for row in warned] == ["ERROR", "WARN"]
    assert "severity=warn" in page.url
    assert len(_apply(page, "log-row", severity="", q="LISTED ORDERS")) == 6
    # The text search reaches the attributes: the exception's message.
    [declined] = _apply(page, "log-row", q="card declined")
    assert "payment failed" in declined
    assert len(_apply(page, "log-row", q="", component="shop.orders")) == 8
    assert _apply(page, "log-row", component="billing") == []

    # A log's trace link, then the logs of that trace.
    page.goto(dashboard.url + "logs?severity=error")
    row = page.locator('[data-testid="log-row"]')
    row.first.wait_for()
    row.locator("summary").click()
    details = row.locator("dl").inner_text()
    assert "exception.type" in details and "ValueError" in details
    trace_href = row.locator('[data-testid="log-trace"]').get_attribute("href") or ""
    trace_id = trace_href.split("/traces/")[1].split("?")[0]
    page.goto(dashboard.url + f"logs?trace_id={trace_id}")
    page.locator('[data-testid="log-row"]').first.wait_for()
    assert ["payment failed" in r for r in _rows(page, "log-row")] == [True]
    page.locator('[data-testid="log-trace"]').click()
    page.locator('[data-testid="trace-row"]').first.wait_for()
    page.go_back()
    page.locator('[data-testid="log-row"]').first.wait_for()
    assert page.locator('#filters [name="trace_id"]').input_value() == trace_id


def test_metrics_list_every_instrument_and_chart_the_one_asked_for(
    page: Page, dashboard: Dashboard
) -> None:
    page.goto(dashboard.url + "metrics")
    page.locator('[data-testid="instrument"]').first.wait_for()
    names = [a.get_attribute("data-name") for a in page.locator('[data-testid="instrument"]').all()]
    assert {"orders.placed", "checkout.latency"} <= set(names)
    assert page.locator("#metric-chart").count() == 0

    page.click('[data-testid="instrument"][data-name="orders.placed"]')
    page.wait_for_selector("#metric-chart svg path.series", state="attached")
    assert "name=orders.placed" in page.url
    assert "rate per second" in page.locator('[data-testid="instrument-title"]').inner_text()
    drawn = {
        p.get_attribute("data-series") for p in page.locator("#metric-chart path.series").all()
    }
    assert drawn == {"region=eu rate", "region=us rate"}

    page.goto(dashboard.url + "metrics?name=checkout.latency&since=6h")
    page.wait_for_selector("#metric-chart svg path.series", state="attached")
    assert "p50 / p95 / p99" in page.locator('[data-testid="instrument-title"]').inner_text()
    assert page.locator('#filters [name="since"]').input_value() == "6h"
    page.go_back()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=instrument-title]')"
        "?.innerText.includes('orders.placed')"
    )


def test_sql_runs_a_deep_linked_query_charts_it_and_downloads_it(
    page: Page, dashboard: Dashboard, tmp_path: Path
) -> None:
    query = (
        "SELECT date_trunc('second', timestamp) AS second, count(*) AS spans "
        "FROM spans GROUP BY 1 ORDER BY 1"
    )
    page.goto(dashboard.url + "sql?q=" + quote(query))
    page.locator('[data-testid="sql-row"]').first.wait_for()
    assert page.locator('#filters [name="q"]').input_value() == query
    assert page.locator("#sql-chart svg path.series").count() == 1
    total = sum(int(row.split("\t")[1]) for row in _rows(page, "sql-row"))
    assert total == 6 * 2 + 2

    with page.expect_download() as downloaded:
        page.click('[data-testid="download-csv"]')
    csv_path = tmp_path / "result.csv"
    downloaded.value.save_as(csv_path)
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "second,spans" and len(lines) == 1 + len(_rows(page, "sql-row"))
    with page.expect_download() as downloaded:
        page.click('[data-testid="download-json"]')
    json_path = tmp_path / "result.json"
    downloaded.value.save_as(json_path)
    assert sum(row["spans"] for row in json.loads(json_path.read_text())) == total

    # Typed in the box: pushed to the URL; a statement that writes is refused, clearly.
    page.fill('#filters [name="q"]', "DROP TABLE spans")
    page.click('[data-testid="apply"]')
    refusal = page.locator('[data-testid="sql-error"]')
    refusal.wait_for()
    assert "refused: DROP (DDL) is not allowed" in refusal.inner_text()
    assert "DROP" in page.url
    page.go_back()
    page.locator('[data-testid="sql-row"]').first.wait_for()

    # Rows beyond the limit are left out, and the page says so.
    page.goto(dashboard.url + "sql?q=" + quote("SELECT * FROM range(10005)"))
    page.locator('[data-testid="sql-row"]').first.wait_for()
    assert page.locator('[data-testid="sql-row"]').count() == sql_console.MAX_ROWS
    assert "only the first 10,000" in page.locator("#results-summary").inner_text()


def test_the_sql_endpoint_needs_a_page_session_and_stops_slow_queries(
    dashboard: Dashboard, shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = http.client.HTTPConnection(dashboard.host, dashboard.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/sql",
            body=b'{"q": "SELECT 1"}',
            headers={"Content-Type": "application/json", "Origin": dashboard.url.rstrip("/")},
        )
        answer = connection.getresponse()
        assert answer.status == 403
        # The mutation guard's refusal: a page session and its CSRF token are needed.
        assert "rows" not in json.loads(answer.read())
    finally:
        connection.close()
    monkeypatch.setattr(sql_console, "TIME_LIMIT_SECONDS", 0.5)
    with pytest.raises(ValueError, match=r"ran longer than 0.5 s and was stopped"):
        sql_console.run(shop, {"q": "SELECT count(*) FROM range(1000000000000) a"})
    assert sql_console.run(shop, {"q": "SELECT 1 AS one"})["rows"] == [[1]]


def test_the_overview_links_into_the_explorers(page: Page, dashboard: Dashboard) -> None:
    page.goto(dashboard.url)
    page.locator('[data-testid="operation"][data-operation="POST /checkout"]').click()
    page.locator('[data-testid="operation-traces"]').click()
    page.locator('[data-testid="trace-result"]').first.wait_for()
    assert page.url.endswith("/traces?name=POST%20%2Fcheckout")
    assert _roots(_rows(page, "trace-result")) == ["POST /checkout"]
    page.go_back()
    error_logs = page.locator('[data-testid="error-logs"]').first
    error_logs.wait_for()
    error_logs.click()
    page.locator('[data-testid="log-row"]').first.wait_for()
    assert "/logs?" in page.url
    assert any("payment failed" in row for row in _rows(page, "log-row"))
    page.goto(dashboard.url)
    page.click('[data-testid="metric-link"]')
    page.locator('[data-testid="instruments"]').wait_for()
    assert page.url.endswith("/metrics?name=system.cpu.utilization")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/explore/traces?since=2w", "since must be one of 15m, 1h, 6h, 24h, 7d; got '2w'"),
        ("/api/explore/traces?attr=nocolon", "attr must be key:value"),
        ("/api/explore/traces?status=broken", "status must be error or ok"),
        ("/api/explore/traces?min_ms=slow", "min_ms must be a number; got 'slow'"),
        ("/api/explore/logs?severity=loud", "severity must be one of trace, debug, info"),
        ("/api/explore/logs?limit=100000", "limit must be from 1 to 500"),
    ],
)
def test_a_bad_filter_is_a_clear_400(dashboard: Dashboard, path: str, message: str) -> None:
    answer = _request(dashboard.host, dashboard.port, "GET", path)
    assert answer.status == 400
    assert message in json.loads(answer.body)["error"]
