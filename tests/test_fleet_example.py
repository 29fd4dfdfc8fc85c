"""``examples/fleet/``: the Collector config and the compose file the README's multi-host section
ships are complete, and the tables the exporter is told to write are the ones ff-otel reads."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml

from ff_otel.settings.resolution import resolve_settings
from ff_otel.sql.clickhouse import render_view
from ff_otel.sql.schema import VIEWS_BY_NAME

FLEET = Path(__file__).parent.parent / "examples" / "fleet"
DDL = Path(__file__).parent / "clickhouse_ddl"


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((FLEET / name).read_text())
    return document


def _tables_ff_otel_reads() -> set[str]:
    views = ("spans", "requests", "logs", "events", "metrics")
    sql = " ".join(render_view(VIEWS_BY_NAME[name], "otel") for name in views)
    return set(re.findall(r"`otel`\.(otel_\w+)", sql))


def test_the_collector_receives_otlp_batches_and_exports_to_clickhouse() -> None:
    config = _load("otelcol-config.yaml")
    assert set(config["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    assert "batch" in config["processors"]
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"traces", "metrics", "logs"}
    for pipeline in pipelines.values():
        assert pipeline["receivers"] == ["otlp"]
        assert "batch" in pipeline["processors"]
        assert pipeline["exporters"] == ["clickhouse"]
        for processor in pipeline["processors"]:
            assert processor in config["processors"]
    assert set(config["service"]["extensions"]) <= set(config["extensions"])


def test_the_exporter_writes_the_tables_ff_otel_reads() -> None:
    exporter = _load("otelcol-config.yaml")["exporters"]["clickhouse"]
    written = {exporter["traces_table_name"], exporter["logs_table_name"]}
    written |= {table["name"] for table in exporter["metrics_tables"].values()}
    assert set(exporter["metrics_tables"]) == {
        "gauge",
        "sum",
        "summary",
        "histogram",
        "exponential_histogram",
    }
    assert written == _tables_ff_otel_reads()
    assert written == {path.stem for path in DDL.glob("otel_*.sql")}  # the DDL the tests use
    assert exporter["database"] == "otel" and exporter["create_schema"] is True


def test_compose_runs_collector_clickhouse_and_one_monitor_reading_as_a_read_only_user() -> None:
    compose = _load("docker-compose.yml")
    services = compose["services"]
    assert services["otel-collector"]["image"].startswith("otel/opentelemetry-collector-contrib:")
    assert services["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")
    mounted = [v.split(":")[0] for s in services.values() for v in s.get("volumes", [])]
    for local in ("./otelcol-config.yaml", "./clickhouse-users.xml", "./monitor.toml"):
        assert local in mounted and (FLEET / local).exists()
    monitor = services["ff-otel-monitor"]
    assert "ff-otel monitor" in monitor["command"]
    assert "--query-url clickhouse://ff_otel_ro:" in monitor["command"]
    assert "@clickhouse:8123/otel" in monitor["command"]

    users = ET.parse(FLEET / "clickhouse-users.xml").getroot()
    reader = users.find("users/ff_otel_ro")
    assert reader is not None
    grants = [query.text for query in reader.iter("query")]
    assert grants == ["GRANT SELECT ON otel.*"]
    profile = users.find(f"profiles/{reader.findtext('profile')}")
    assert profile is not None and profile.findtext("readonly") in ("1", "2")


def test_the_monitor_settings_file_is_one_ff_otel_reads(monkeypatch: Any) -> None:
    for name in list(os.environ):
        if name.startswith("FF_OTEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FF_OTEL_CONFIG", str(FLEET / "monitor.toml"))
    settings = resolve_settings({})
    assert settings.service_name == "fleet-monitor"
    assert settings.analytics.alerting_config.enable_webhook_alerts
    assert settings.analytics.alerting_config.webhook_urls
