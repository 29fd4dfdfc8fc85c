"""The dashboard over the fleet's ClickHouse, through its real HTTP server.

The same telemetry is written into a local store (through the public API) and into the
exporter's tables in chdb, dealt across three hosts; a dashboard on each answers over HTTP.
What the fleet has, it answers as the store's dashboard does; what only a host's store holds
(health, resource readings) it says is per host instead of showing this store's as the fleet's.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import selectors
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chdb import session

import ff_otel
from ff_otel.core import clock
from ff_otel.dashboard import create_server
from ff_otel.dashboard.context import PER_HOST

from .clickhouse_fleet import by_host, create_tables, fill_in_another_process, insert
from .conftest import wait_for

FF_OTEL = Path(sys.executable).parent / "ff-otel"


@ff_otel.instrument(component="api")
def answer(index: int) -> None:
    with ff_otel.span("llm.call", component="llm") as span:
        span.set_attribute("tokens", index)
        if index % 7 == 0:
            raise RuntimeError("model timed out")


@pytest.fixture
def telemetry(base_path: Path) -> ff_otel.FFOtel:
    handle = ff_otel.configure(base_path=base_path, service_name="chat-api", system_metrics=False)
    now = datetime.now(UTC)
    for user in range(9):
        for day in range(0, 6, 1 + user % 3):
            at = now - timedelta(days=day, minutes=user)
            data = {"name": ("search", "chat")[user % 2]}
            ff_otel.record_user_event(
                f"u{user}", f"s{user}-{day}", "feature_usage", data, timestamp=at
            )
    for index in range(30):
        with contextlib.suppress(RuntimeError):
            answer(index)
    for code in (200, 200, 503):
        with ff_otel.span("GET /chat", kind="server", **{"http.response.status_code": code}):
            pass
    assert ff_otel.force_flush()
    return handle


@dataclass
class Served:
    port: int

    def get(self, path: str) -> Any:
        status, body, _ = self.request("GET", path)
        assert status == 200, (path, body)
        return json.loads(body)

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes, dict[str, str]]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read(), dict(response.getheaders())
        finally:
            connection.close()

    def sql(self, query: str) -> Any:
        status, page, headers = self.request("GET", "/")
        assert status == 200
        csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.decode())
        assert csrf is not None
        status, body, _ = self.request(
            "POST",
            "/api/sql",
            {
                "Content-Type": "application/json",
                "Cookie": headers["Set-Cookie"].split(";")[0],
                "X-CSRF-Token": csrf.group(1),
                "Origin": f"http://127.0.0.1:{self.port}",
            },
            json.dumps({"q": query}).encode(),
        )
        return status, json.loads(body)


@contextlib.contextmanager
def serving(base: Path, query_url: str) -> Iterator[Served]:
    server = create_server(base, "127.0.0.1", 0, query_url=query_url)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield Served(server.port)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def _without(document: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in names}


def test_the_dashboard_over_the_fleet_answers_as_over_the_store(
    telemetry: ff_otel.FFOtel, chdb_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One instant for both dashboards: the current hour's point stands at "now".
    frozen = clock.now() + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: frozen)
    writer = session.Session(str(chdb_path))
    create_tables(writer.query, "dash_fleet")
    dealt = by_host(telemetry.layout)
    for host, records in dealt.items():
        insert(
            writer.query, "dash_fleet", spans=records["spans"], events=records["events"], host=host
        )
    writer.close()
    url = f"chdb://{chdb_path}?database=dash_fleet"
    spans = [span for records in dealt.values() for span in records["spans"]]
    base = telemetry.layout.base_path
    with serving(base, "") as local, serving(base, url) as fleet:
        # The long-range charts: both in SQL over the same spans.
        for range_name in ("24h", "7d"):
            mine, theirs = (
                local.get(f"/api/series?range={range_name}"),
                fleet.get(f"/api/series?range={range_name}"),
            )
            assert theirs["source"] == "hourly, in SQL (the fleet)"
            assert theirs["per_host"] == {"resources": PER_HOST}
            assert _without(theirs, "source", "per_host") == _without(mine, "source")
        short = fleet.get("/api/series?range=1h")
        assert short["source"] == "per minute, in SQL (the fleet)"
        assert sum(point[1] for point in short["requests"]["rate"]) > 0
        assert set(short["components"]) == {"api", "llm", "tests"}
        # The explorers and the SQL console: the same SQL over the same rows.
        for path in ("/api/explore/traces", "/api/explore/traces?status=error&limit=5"):
            assert fleet.get(path) == local.get(path)
        assert fleet.get("/api/explore/logs")["logs"] == []
        assert fleet.get("/api/explore/metrics")["instruments"] == []
        query = "SELECT component, count(*) AS n FROM spans GROUP BY component ORDER BY n"
        (status, console), (_, here) = fleet.sql(query), local.sql(query)
        assert status == 200 and console["rows"] == here["rows"]
        status, refused = fleet.sql("DROP TABLE otel_traces")
        assert status == 400 and "refused" in refused["error"]
        # Operations, a trace, errors: the fleet's spans.
        operations = fleet.get("/api/operations")
        assert operations["spans"] == len(spans)
        named = {(o["name"], o["component"]): o for o in operations["operations"]}
        assert named[("llm.call", "llm")]["calls"] == 30
        assert named[("llm.call", "llm")]["errors"] == 5
        slowest = named[("llm.call", "llm")]["slowest"][0]
        tree = fleet.get(f"/api/traces/{slowest['trace_id']}")
        here_tree = local.get(f"/api/traces/{slowest['trace_id']}")
        assert [(s["span_id"], s["depth"], s["name"]) for s in tree["spans"]] == [
            (s["span_id"], s["depth"], s["name"]) for s in here_tree["spans"]
        ]
        errors = fleet.get("/api/errors")
        assert errors["total"] == sum(1 for span in spans if span["status"] == "error")
        assert errors["by_component"]["llm"] == 5
        # BI: the fleet's users, as the store's.
        bi_fleet = wait_for(
            "the fleet's BI",
            lambda: (b := fleet.get("/api/bi?period=week"))["status"] != "computing" and b,
        )
        bi_here = wait_for(
            "the store's BI",
            lambda: (b := local.get("/api/bi?period=week"))["status"] != "computing" and b,
        )
        assert bi_fleet["status"] == "ready", bi_fleet
        assert bi_fleet["active_users"] == bi_here["active_users"] == 9
        assert bi_fleet["features"] == bi_here["features"]
        # What only a host's store holds is said to be per host, not shown as the fleet's.
        overview = fleet.get("/api/overview")
        assert overview["health"] is None and overview["per_host"]["health"] == PER_HOST
        assert overview["snapshot"]["throughput_requests_per_second"] > 0
        assert overview["fleet"] == url
        _, page, _ = fleet.request("GET", "/")
        assert f"fleet: {url}" in page.decode() and "kept per host" in page.decode()
        assert fleet.get("/api/compliance")["scope"] == f"this store ({base})"


def test_cli_dashboard_over_the_fleet_serves_the_fleet_s_figures(
    telemetry: ff_otel.FFOtel, tmp_path: Path
) -> None:
    url = fill_in_another_process(tmp_path / "chdb", "cli_dash", by_host(telemetry.layout))
    process = subprocess.Popen(
        [str(FF_OTEL), "dashboard", "--port", "0", "--query-url", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        line = wait_for(
            "the dashboard's start line",
            lambda: process.stdout.readline() if selector.select(timeout=0.5) else "",  # type: ignore[union-attr]
        )
        selector.close()
        found = re.search(
            r"for the fleet at (\S+) \(alerts: .*\) at http://127\.0\.0\.1:(\d+)/", line
        )
        assert found is not None, line
        assert found.group(1) == url
        served = Served(int(found.group(2)))
        operations = served.get("/api/operations")
        assert operations["spans"] == len(list(ff_otel.read_records(telemetry.layout.spans)))
        assert served.get("/api/overview")["per_host"]["health"] == PER_HOST
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0, process.stderr.read()  # type: ignore[union-attr]
    assert not (tmp_path / "ff_data").exists()  # nothing written where no store was
