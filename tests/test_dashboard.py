"""``ff-otel dashboard``: the installed command as a subprocess, beside the example service
writing into the store live, driven by Debian's headless chromium through Playwright,
and probed over plain HTTP for its token, origin and CSRF checks.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

import ff_otel
from ff_otel.alerting import operations
from ff_otel.core import clock
from ff_otel.dashboard import traces
from ff_otel.dashboard.context import StoreView
from ff_otel.spec.config import FFAnalyticsConfigDTO
from ff_otel.store.appender import append_records
from ff_otel.store.layout import StoreLayout
from ff_otel.store.reader import read_recent

from .conftest import wait_for

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "chat_service.py"
FF_OTEL = Path(sys.executable).parent / "ff-otel"
TOKEN = "test-dashboard-token-0123456789abcdef"
FOREIGN = "http://evil.example"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FF_OTEL_", "OTEL_"))}
    env.update(extra)
    return env


def _records(path: Path) -> list[dict[str, Any]]:
    return list(ff_otel.read_records(path))


# ---------------------------------------------------------------- processes


@pytest.fixture(scope="module")
def live_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example chat service writing into a fresh store for as long as these tests run."""
    base = tmp_path_factory.mktemp("dashboard") / "store"
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--base-path", str(base), "--seconds", "600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_environment(),
    )
    try:
        layout = StoreLayout(base)
        wait_for(
            "the example service's first health record and snapshot",
            lambda: (
                process.poll() is None
                and layout.health_checks.exists()
                and layout.performance.exists()
                and layout.health_checks.stat().st_size > 0
                and layout.performance.stat().st_size > 0
            ),
        )
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Dashboard:
    url: str
    host: str
    port: int
    process: subprocess.Popen[str]


def _start_dashboard(base: Path, *args: str, env: dict[str, str] | None = None) -> Dashboard:
    process = subprocess.Popen(
        [str(FF_OTEL), "dashboard", "--base-path", str(base), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or _environment(),
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline and not line:
        if selector.select(timeout=0.5):
            line = process.stdout.readline()
        if process.poll() is not None and not line:
            break
    selector.close()
    found = re.search(r"at (http://(\S+):(\d+)/)", line)
    if found is None:
        process.kill()
        _, stderr = process.communicate()
        raise AssertionError(f"the dashboard did not start: {line!r} {stderr!r}")
    return Dashboard(found.group(1), found.group(2), int(found.group(3)), process)


def _stop(dashboard: Dashboard) -> None:
    dashboard.process.terminate()
    try:
        dashboard.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        dashboard.process.kill()
        dashboard.process.wait()
    # SIGTERM is a clean stop: no traceback, exit 0.
    assert dashboard.process.returncode == 0, dashboard.process.stderr.read()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def dashboard(live_store: Path) -> Iterator[Dashboard]:
    """``ff-otel dashboard`` on the live store, on loopback (no token).

    Polling every 20 s (charts every 60 s) keeps a chart from being redrawn with
    newer data between the answer a test captured and its look at the drawing.
    """
    started = _start_dashboard(live_store, "--refresh", "20")
    yield started
    _stop(started)


@pytest.fixture(scope="module")
def exposed(live_store: Path) -> Iterator[Dashboard]:
    """``ff-otel dashboard --host 0.0.0.0`` on the live store, with a token."""
    started = _start_dashboard(
        live_store, "--host", "0.0.0.0", env=_environment(FF_OTEL_DASHBOARD_TOKEN=TOKEN)
    )
    yield started
    _stop(started)


# ---------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "Debian's chromium is not installed, so the dashboard's browser tests cannot run: "
            "run `make test` (it installs it with apt-get) or `apt-get install -y chromium`",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = _launch(playwright, chromium)
        yield launched
        launched.close()


def _launch(playwright: Playwright, chromium: str) -> Browser:
    return playwright.chromium.launch(executable_path=chromium, headless=True)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    assert errors == [], f"the page reported errors: {errors}"


def _path_points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", d)]


def _assert_drawn_from(page: Page, selector: str, points: list[list[float]]) -> None:
    """The path drawn for a series has one vertex per data point, highest value highest up."""
    path = page.locator(selector)
    assert int(path.get_attribute("data-points") or 0) == len(points)
    vertices = _path_points(path.get_attribute("d") or "")
    assert len(vertices) == len(points)
    xs = [x for x, _ in vertices]
    assert xs == sorted(xs)  # time runs left to right
    values = [value for _, value in points]
    if max(values) > min(values):
        highest = values.index(max(values))
        assert vertices[highest][1] <= min(y for _, y in vertices) + 0.15  # SVG y grows down


def test_the_page_draws_the_live_store_as_charts(
    page: Page, dashboard: Dashboard, tmp_path: Path
) -> None:
    with page.expect_response(lambda r: "/api/series?range=1h" in r.url) as answered:
        page.goto(dashboard.url)
    series = answered.value.json()
    # Attached, not visible: a series of one point is a path of zero length.
    page.wait_for_selector("#chart-latency svg path.series", state="attached")
    assert series["source"] == "interval snapshots"
    # Each card names its window and population (the last interval's requests).
    # (The cards fill in once the overview has arrived too: waited for.)
    page.wait_for_function(
        "document.getElementById('kpis').innerText.includes('Failed requests · last')",
        timeout=60_000,
    )
    cards = page.locator("#kpis").inner_text()
    assert "Requests · last" in cards
    assert "% of requests" in cards or "no requests" in cards  # never a rate of nothing
    for label in ("Host CPU · last", "Reliability · last", "Host memory · now", "sessions · now"):
        assert label in cards
    _assert_drawn_from(page, '#chart-latency path[data-series="p95"]', series["requests"]["p95"])
    _assert_drawn_from(page, '#chart-resources path[data-series="CPU"]', series["resources"]["cpu"])
    for component, lines in series["components"].items():
        if lines["p95"]:
            _assert_drawn_from(
                page, f'#chart-components path[data-series="{component}"]', lines["p95"]
            )
    bars = page.locator('#chart-traffic g[data-series="requests/s"] rect')
    assert bars.count() == len(series["requests"]["rate"]) > 0
    assert {"api", "llm", "documents", "database"} <= set(series["components"])

    # Health by component, from the collector's latest record.
    page.wait_for_selector('#health [data-component="documents"]')
    assert page.locator("#overall-status").inner_text().lower() in (
        "healthy",
        "degraded",
        "unhealthy",
    )

    # A longer range is drawn per hour, in SQL over the spans.
    with page.expect_response(lambda r: "/api/series?range=24h" in r.url) as answered:
        page.click('#range-picker [data-range="24h"]')
    daily = answered.value.json()
    assert daily["source"] == "hourly, in SQL"
    page.wait_for_function(
        "document.querySelector('[data-source]').textContent.includes('hourly, in SQL')"
    )
    _assert_drawn_from(page, '#chart-latency path[data-series="p95"]', daily["requests"]["p95"])

    # BI and compliance from the same store.
    page.wait_for_selector('[data-testid="bi-kpis"]', timeout=60_000)
    assert "Active users" in page.locator('[data-testid="bi-kpis"]').inner_text()
    page.wait_for_selector('[data-testid="audit-check"].ok', timeout=60_000)
    assert "Audit chain verified" in page.locator('[data-testid="audit-check"]').inner_text()

    page.screenshot(path=str(tmp_path / "dashboard-1280x800.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)  # let the charts redraw at the new width
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"
    page.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
    for name in ("dashboard-1280x800.png", "dashboard-phone.png"):
        assert (tmp_path / name).stat().st_size > 20_000


def test_slow_operations_open_their_traces_as_span_trees(page: Page, dashboard: Dashboard) -> None:
    with page.expect_response(lambda r: r.url.endswith("/api/operations")) as answered:
        page.goto(dashboard.url)
    operations = answered.value.json()["operations"]
    slowest = operations[0]
    assert slowest["p95_ms"] == max(o["p95_ms"] for o in operations)
    page.locator('[data-testid="operation"]').first.click()
    chip = page.locator(".op-traces button.chip").first
    with page.expect_response(lambda r: "/api/traces/" in r.url) as answered:
        chip.click()
    trace = answered.value.json()
    rows = page.locator('[data-testid="trace-row"]')
    rows.first.wait_for()
    assert rows.count() == len(trace["spans"]) > 1
    depths = [int(rows.nth(i).get_attribute("data-depth") or 0) for i in range(rows.count())]
    assert depths == [span["depth"] for span in trace["spans"]]
    assert depths[0] == 0 and max(depths) >= 1  # a tree: a root and what it called
    # Depth first: each span's parent is the nearest earlier span one level up.
    for index, span in enumerate(trace["spans"]):
        if span["depth"]:
            parent = next(
                s for s in reversed(trace["spans"][:index]) if s["depth"] == span["depth"] - 1
            )
            assert span["parent_span_id"] == parent["span_id"]
    rows.nth(1).click()
    assert page.locator(".wf-detail").count() == 1


def _current_state(layout: StoreLayout, alert_id: str) -> str | None:
    return operations.current_alerts(layout.alerts).get(alert_id, {}).get("state")


def _firing_card(page: Page, *, acknowledged_too: bool = False) -> tuple[str, Any]:
    selector = 'article.alert[data-state="firing"]'
    if not acknowledged_too:
        selector += '[data-acknowledged="false"]'
    card = page.locator(selector).first
    card.wait_for(timeout=90_000)
    return str(card.get_attribute("data-alert-id")), card


def test_acknowledging_an_alert_in_the_page_is_stored_and_audited(
    page: Page, dashboard: Dashboard, live_store: Path
) -> None:
    layout = StoreLayout(live_store)
    page.goto(dashboard.url)
    page.fill("#operator", "Dana Ops")
    page.dispatch_event("#operator", "change")
    deadline = time.monotonic() + 120
    while True:
        alert_id, card = _firing_card(page)
        with page.expect_response(lambda r: r.request.method == "POST") as answered:
            card.locator('[data-action="acknowledge"]').click()
        if answered.value.status == 200:
            break
        # It resolved between the poll and the click: take the next one.
        assert answered.value.status == 404, answered.value.text()
        assert time.monotonic() < deadline, "no alert stayed firing long enough to acknowledge"
        page.reload()
    # The page shows it acknowledged (unless it resolved in the meantime).
    wait_for(
        "the page to show the alert acknowledged",
        lambda: (
            page.locator(
                f'article.alert[data-alert-id="{alert_id}"][data-acknowledged="true"]'
            ).count()
            or _current_state(layout, alert_id) == "resolved"
        ),
    )

    acknowledged = [
        r
        for r in _records(layout.alerts)
        if r.get("alert_id") == alert_id and r.get("event") == "acknowledged"
    ]
    assert len(acknowledged) == 1
    assert acknowledged[0]["acknowledged"] is True
    assert acknowledged[0]["assigned_to"] == "Dana Ops (dashboard, 127.0.0.1)"
    audits = [
        r
        for r in _records(layout.audit_logs)
        if r["action"] == "alert_acknowledge" and r["resource"] == alert_id
    ]
    assert [a["actor"] for a in audits] == ["Dana Ops (dashboard, 127.0.0.1)"]
    assert ff_otel.verify_audit_trail(live_store).ok


def test_resolving_and_silencing_in_the_page_are_stored_and_audited(
    page: Page, dashboard: Dashboard, live_store: Path
) -> None:
    layout = StoreLayout(live_store)
    page.goto(dashboard.url)
    page.fill("#operator", "Lee")
    page.dispatch_event("#operator", "change")

    # Any open alert will do (the one acknowledged by the test before, too).
    alert_id, card = _firing_card(page, acknowledged_too=True)
    labels = next(r["labels"] for r in _records(layout.alerts) if r.get("alert_id") == alert_id)
    card.locator('[data-action="silence"]').click()
    card.locator('form[data-form="silence"] select').select_option("15")
    card.locator('form[data-form="silence"] input[name="comment"]').fill("deploy; mail x@y.com")
    with page.expect_response(lambda r: r.url.endswith("/api/silences")) as answered:
        card.locator('form[data-form="silence"] button[type="submit"]').click()
    assert answered.value.status == 200
    silence_id = answered.value.json()["silence_id"]
    silence = next(r for r in _records(layout.alerts) if r.get("silence_id") == silence_id)
    assert silence["matchers"] == {k: labels[k] for k in ("rule", "component") if labels.get(k)}
    assert silence["created_by"] == "Lee (dashboard, 127.0.0.1)"
    assert "x@y.com" not in json.dumps(silence)  # operator text goes through the scrubber
    ends = clock.parse_instant(silence["ends_at"]) - clock.parse_instant(silence["starts_at"])
    assert ends == timedelta(minutes=15)

    resolved_id = None
    deadline = time.monotonic() + 120
    while resolved_id is None:
        page.reload()
        candidate, card = _firing_card(page, acknowledged_too=True)
        card.locator('[data-action="resolve"]').click()
        card.locator('form[data-form="resolve"] input[name="notes"]').fill("restarted the parser")
        with page.expect_response(lambda r: "/resolve" in r.url) as answered:
            card.locator('form[data-form="resolve"] button[type="submit"]').click()
        if answered.value.status == 200:
            resolved_id = candidate
        else:
            assert answered.value.status == 404 and time.monotonic() < deadline
    resolved = [
        r
        for r in _records(layout.alerts)
        if r.get("alert_id") == resolved_id and r.get("event") == "resolved"
    ]
    assert resolved[-1]["manually_resolved"] is True
    assert resolved[-1]["resolution_notes"] == "restarted the parser"
    audits = {
        (r["action"], r["resource"]): r
        for r in _records(layout.audit_logs)
        if r["action"] in ("alert_resolve", "alert_silence")
    }
    assert audits[("alert_resolve", resolved_id)]["actor"] == "Lee (dashboard, 127.0.0.1)"
    assert audits[("alert_silence", silence_id)]["actor"] == "Lee (dashboard, 127.0.0.1)"


# ---------------------------------------------------------------- HTTP-level security


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _request(
    host: str,
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def _any_alert_id(base: Path) -> str:
    alerts = StoreLayout(base).alerts
    return str(
        wait_for(
            "an alert in alerts.jsonl",
            lambda: next((r["alert_id"] for r in _records(alerts) if r.get("alert_id")), None),
            timeout=90,
        )
    )


def _acknowledgements(layout: StoreLayout, alert_id: str) -> int:
    return sum(
        1
        for r in _records(layout.alerts)
        if r.get("alert_id") == alert_id and r.get("event") == "acknowledged"
    )


def _outside_address() -> str:
    """An address of this machine other than loopback (loopback when it has none)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
            address = str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"
    return address if not address.startswith("127.") else "127.0.0.1"


def test_binding_beyond_loopback_without_a_token_is_refused(live_store: Path) -> None:
    for env in (_environment(), _environment(FF_OTEL_DASHBOARD_TOKEN="short")):
        done = subprocess.run(
            [str(FF_OTEL), "dashboard", "--base-path", str(live_store), "--host", "0.0.0.0"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 2
        assert done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ff-otel: error: ")
        assert "FF_OTEL_DASHBOARD_TOKEN" in lines[0]


def test_an_exposed_dashboard_refuses_requests_without_the_token(
    exposed: Dashboard, live_store: Path
) -> None:
    host, port = _outside_address(), exposed.port
    origin = f"http://{host}:{port}"
    alert_id = _any_alert_id(live_store)
    layout = StoreLayout(live_store)
    before = (_acknowledgements(layout, alert_id), len(_records(layout.audit_logs)))
    action = f"/api/alerts/{alert_id}/acknowledge"
    json_headers = {"Content-Type": "application/json", "Origin": origin}

    assert _request(host, port, "GET", "/api/overview").status == 403
    assert _request(host, port, "POST", action, json_headers, b"{}").status == 403
    wrong = {**json_headers, "Authorization": "Bearer not-the-token-at-all-000000"}
    assert _request(host, port, "POST", action, wrong, b"{}").status == 403
    right = {**json_headers, "Authorization": f"Bearer {TOKEN}"}
    foreign = {**right, "Origin": FOREIGN}
    refused = _request(host, port, "POST", action, foreign, b"{}")
    assert refused.status == 403 and "cross-origin" in refused.json()["error"]
    assert "login" in _request(host, port, "GET", "/").body.decode().lower()
    # Nothing reached the store.
    assert (_acknowledgements(layout, alert_id), len(_records(layout.audit_logs))) == before

    # With the token, the same request passes the guards (an unknown id: 404, not 403).
    assert _request(host, port, "GET", "/api/overview", right).status == 200
    unknown = _request(host, port, "POST", "/api/alerts/alert_nope/acknowledge", right, b"{}")
    assert unknown.status == 404

    # The login form sets a session; the session's requests must carry its CSRF token.
    login = _request(
        host,
        port,
        "POST",
        "/login",
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": origin},
        f"token={TOKEN}".encode(),
    )
    assert login.status == 303
    cookie = login.headers["set-cookie"].split(";")[0]
    assert "HttpOnly" in login.headers["set-cookie"]
    assert "SameSite=Strict" in login.headers["set-cookie"]
    page = _request(host, port, "GET", "/", {"Cookie": cookie})
    csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.body.decode())
    assert page.status == 200 and csrf is not None
    session = {**json_headers, "Cookie": cookie}
    missing = _request(host, port, "POST", "/api/alerts/alert_nope/acknowledge", session, b"{}")
    assert missing.status == 403 and "CSRF" in missing.json()["error"]
    with_csrf = {**session, "X-CSRF-Token": csrf.group(1)}
    passed = _request(host, port, "POST", "/api/alerts/alert_nope/acknowledge", with_csrf, b"{}")
    assert passed.status == 404
    bad_login = _request(
        host,
        port,
        "POST",
        "/login",
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": origin},
        b"token=guess",
    )
    assert bad_login.status == 403 and "set-cookie" not in bad_login.headers


def test_a_loopback_dashboard_refuses_foreign_origins_and_missing_csrf(
    dashboard: Dashboard, live_store: Path
) -> None:
    host, port = "127.0.0.1", dashboard.port
    origin = f"http://{host}:{port}"
    layout = StoreLayout(live_store)
    alert_id = _any_alert_id(live_store)
    page = _request(host, port, "GET", "/")
    cookie = page.headers["set-cookie"].split(";")[0]
    csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.body.decode())
    assert csrf is not None
    good = {
        "Content-Type": "application/json",
        "Cookie": cookie,
        "X-CSRF-Token": csrf.group(1),
        "Origin": origin,
    }
    action = f"/api/alerts/{alert_id}/acknowledge"
    body = b'{"by": "mallory"}'
    cases = {
        "foreign origin": {**good, "Origin": FOREIGN},
        "foreign referer": {
            k: v for k, v in {**good, "Referer": FOREIGN + "/x"}.items() if k != "Origin"
        },
        "no origin": {k: v for k, v in good.items() if k != "Origin"},
        "no csrf token": {k: v for k, v in good.items() if k != "X-CSRF-Token"},
        "wrong csrf token": {**good, "X-CSRF-Token": "0" * 64},
        "no session": {k: v for k, v in good.items() if k != "Cookie"},
        "rebound host": {**good, "Host": "evil.example:80", "Origin": "http://evil.example:80"},
    }
    for name, headers in cases.items():
        answer = _request(host, port, "POST", action, headers, body)
        assert answer.status == 403, (name, answer.status, answer.body)
    assert not [r for r in _records(layout.alerts) if "mallory" in str(r.get("assigned_to"))]
    assert not [r for r in _records(layout.audit_logs) if "mallory" in r["actor"]]
    # The guards let the right request through (an unknown id: 404).
    assert _request(host, port, "POST", "/api/alerts/nope/acknowledge", good, body).status == 404
    # Pages are not framable and scripts come only from the dashboard itself.
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert _request(host, port, "GET", "/static/../../pyproject.toml").status == 404


def test_every_script_and_style_is_served_by_the_package(dashboard: Dashboard) -> None:
    page = _request("127.0.0.1", dashboard.port, "GET", "/").body.decode()
    assets = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]+)"', page)
    assert assets and all(asset.startswith("/static/") for asset in assets)
    links = re.findall(r'<a\b[^>]*\bhref="([^"]+)"', page)  # the explorer pages, same origin
    assert links and all(link.startswith("/") and not link.startswith("//") for link in links)
    for asset in assets:
        answer = _request("127.0.0.1", dashboard.port, "GET", asset)
        assert answer.status == 200 and answer.body
        # Nothing is fetched from elsewhere (the SVG namespace is a name, not a fetch).
        urls = set(re.findall(r"https?://[^\s\"'`)]+", answer.body.decode()))
        assert urls <= {"http://www.w3.org/2000/svg"}, (asset, urls)


def test_bad_requests_get_a_clear_error(dashboard: Dashboard) -> None:
    host, port = "127.0.0.1", dashboard.port
    answer = _request(host, port, "GET", "/api/series?range=2w")
    assert answer.status == 400 and "2w" in answer.json()["error"]
    answer = _request(host, port, "GET", "/api/bi?period=year")
    assert answer.status == 400 and "year" in answer.json()["error"]
    assert _request(host, port, "GET", "/api/traces/" + "a" * 32).status == 404


def test_head_answers_wherever_get_does_without_a_body(dashboard: Dashboard) -> None:
    # One keep-alive connection: a body sent after a HEAD answer would be read
    # as the start of the next answer and break it.
    connection = http.client.HTTPConnection("127.0.0.1", dashboard.port, timeout=60)
    try:
        for path in ("/", "/login", "/static/app.js", "/api/alerts", "/api/nothing"):
            connection.request("GET", path)
            got = connection.getresponse()
            body = got.read()
            connection.request("HEAD", path)
            head = connection.getresponse()
            assert head.read() == b""
            assert head.status == got.status, path
            assert head.getheader("Content-Type") == got.getheader("Content-Type"), path
            if path != "/api/alerts":  # a live list may grow between the two
                assert head.getheader("Content-Length") == str(len(body)), path
    finally:
        connection.close()


# ---------------------------------------------------------------- library pieces


def _span(at: datetime, index: int) -> dict[str, Any]:
    return {"timestamp": clock.format_iso(at), "name": f"op{index}", "index": index}


def test_read_recent_returns_what_the_exact_reader_does_for_the_window(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    start = datetime(2026, 1, 5, tzinfo=UTC)
    # Two days, one record a minute, written up to 90 s out of time order, as
    # spans are (a span is written after it ends); yesterday rotated and compressed.
    records = [_span(start + timedelta(seconds=60 * i + (i % 3) * 45), i) for i in range(2880)]
    old = tmp_path / "spans.20260106T000000.jsonl"
    old.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records[:1440]))
    with gzip.open(tmp_path / "spans.20260105T000000.jsonl.gz", "wb") as handle:
        handle.write(b"")
    append_records(path, records[1440:])
    with path.open("ab") as handle:
        handle.write(b'{"timestamp": "2026-01-07T00:00:00.000000Z", "torn')
    for since in (start + timedelta(hours=h) for h in (47, 36, 24, 23, 2)):
        stamp = clock.format_iso(since)
        expected = [r for r in records if r["timestamp"] >= stamp]
        assert read_recent(path, since) == expected, since
    newest = read_recent(path, max_bytes=2000)
    assert newest and newest == records[-len(newest) :]


def test_hourly_requests_and_resources_on_and_off_whole_hours_agree(tmp_path: Path) -> None:
    layout = StoreLayout(tmp_path)
    layout.initialize(FFAnalyticsConfigDTO())
    hour = datetime(2026, 3, 2, 9, tzinfo=UTC)
    spans, readings = [], []
    for i in range(600):
        at = clock.format_iso(hour + timedelta(seconds=11 * i))
        root = i % 3 == 0
        spans.append(
            {
                "timestamp": at,
                "span_id": f"{i:016x}",
                "parent_span_id": None if root else "0" * 16,
                "kind": "server" if i % 6 == 0 else "internal",
                "component": "api" if root else "db",
                "duration_ms": 5.0 + (i * 37) % 400,
                "status": "error" if i % 13 == 0 else "ok",
            }
        )
        if i % 5 == 0:
            readings.append(
                {
                    "timestamp": at,
                    "cpu_usage_percent": 10 + (i * 7) % 80,
                    "memory_usage_percent": 40 + (i % 9),
                    "disk_usage_percent": 50.0,
                }
            )
    append_records(layout.spans, spans)
    append_records(layout.resource_usage, readings)
    whole = {"start": hour, "end": hour + timedelta(hours=2)}  # on whole hours
    raw = {"start": hour, "end": hour + timedelta(hours=2, microseconds=1)}
    for stream, aggregates in (
        ("requests", ["count", "errors", "p50:duration_ms", "p99:duration_ms"]),
        ("resource_usage", ["avg:cpu_usage_percent", "max:cpu_usage_percent"]),
    ):
        fast = ff_otel.query(
            stream, group_by=["time:hour"], aggregates=aggregates, base_path=tmp_path, **whole
        )
        slow = ff_otel.query(
            stream, group_by=["time:hour"], aggregates=aggregates, base_path=tmp_path, **raw
        )
        assert [row["time:hour"] for row in fast] == ["2026-03-02T09", "2026-03-02T10"]
        assert [row["time:hour"] for row in slow] == [row["time:hour"] for row in fast]
        for fast_row, slow_row in zip(fast, slow, strict=True):
            for aggregate in aggregates:
                assert fast_row[aggregate] == pytest.approx(slow_row[aggregate]), aggregate
    requests = ff_otel.query("requests", base_path=tmp_path, **raw)
    assert requests == [{"count": sum(1 for s in spans if s["parent_span_id"] is None)}]


def _validate_order(order: dict[str, Any]) -> None:
    if order["quantity"] <= 0:
        raise ValueError(f"quantity must be positive, not {order['quantity']}")


@ff_otel.instrument(component="orders")
def _place_order(order: dict[str, Any]) -> None:
    _validate_order(order)


def test_the_trace_view_formats_an_exception_down_to_the_raising_frame(tmp_path: Path) -> None:
    ff_otel.configure(base_path=tmp_path, system_metrics=False)
    with pytest.raises(ValueError):
        _place_order({"quantity": 0})
    assert ff_otel.force_flush()
    (span,) = [
        s for s in _records(StoreLayout(tmp_path).spans) if s["name"].endswith("_place_order")
    ]
    tree = traces.trace(StoreView.at(tmp_path), span["trace_id"])
    assert tree is not None
    (event,) = [e for e in tree["spans"][0]["events"] if e["name"] == "exception"]
    exception = event["exception"]
    assert exception["type"] == "ValueError"
    assert exception["message"] == "quantity must be positive, not 0"
    frames = exception["frames"]
    # The user's frames, outermost first, down to the one that raised; none of
    # OpenTelemetry's or ff-otel's own, and the raw stack is not repeated.
    assert [f["function"] for f in frames][-2:] == ["_place_order", "_validate_order"]
    assert frames[-1]["code"].startswith("raise ValueError(")
    assert frames[-1]["file"] == __file__
    assert not any("/opentelemetry/" in f["file"] or "/ff_otel/" in f["file"] for f in frames)
    assert "exception.stacktrace" not in event["attributes"]
