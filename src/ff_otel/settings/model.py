"""``FFOtelSettings``: everything ``configure()`` runs with, as one validated model.

The spec's config DTOs, ff-otel's own settings beside them (service, store,
OTLP, query backend, limits, notifications) and the checks that name a bad
endpoint or query URL. How the settings are resolved from code, environment
and file is :mod:`ff_otel.settings.resolution`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ff_otel.spec.alerting_config import (
    AlertRule,
    FFNotificationSettingsDTO,
)
from ff_otel.spec.config import FFAnalyticsConfigDTO, FFBusinessInputsDTO
from ff_otel.store.limits import RecordLimits


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and the source."""


def otlp_endpoint_problem(endpoint: str, *, scheme_required: bool = False) -> str | None:
    """Why ``endpoint`` is not a collector's base URL, or None when it is one.

    ``http(s)://host[:port][/path]``; for gRPC the SDK also takes a bare
    ``host:port`` (TLS unless ``OTEL_EXPORTER_OTLP_INSECURE``), accepted unless
    ``scheme_required``.
    """
    if not endpoint or endpoint != endpoint.strip() or any(c.isspace() for c in endpoint):
        return "it is empty or contains white space"
    has_scheme = "://" in endpoint
    if not has_scheme and scheme_required:
        return "it has no http:// or https:// scheme"
    parsed = urlsplit(endpoint if has_scheme else f"//{endpoint}")
    if has_scheme and parsed.scheme not in ("http", "https"):
        return f"the scheme {parsed.scheme!r} is not http or https"
    try:
        port = parsed.port
    except ValueError:
        return "its port is not a number from 1 to 65535"
    if not parsed.hostname:
        return "it names no host"
    if port == 0 or (not has_scheme and (port is None or parsed.path)):
        return "it is neither http(s)://host[:port] nor host:port"
    return None


QUERY_URL_SCHEMES = ("chdb", "clickhouse", "clickhouses")


def query_url_problem(url: str) -> str | None:
    """Why ``url`` is not a query backend URL, or None when it is one (or the local store).

    ``""`` and ``local``: the local store; ``chdb:///absolute/path[?database=otel]``;
    ``clickhouse://[user[:password]@]host[:port][/database]`` (``clickhouses://`` for TLS).
    """
    if url in ("", "local"):
        return None
    if url != url.strip() or any(c.isspace() for c in url):
        return "it contains white space"
    parsed = urlsplit(url)
    if parsed.scheme not in QUERY_URL_SCHEMES:
        scheme = f"{parsed.scheme}://" if parsed.scheme else "no scheme"
        return f"{scheme} is not a query backend (use chdb://, clickhouse:// or clickhouses://)"
    if parsed.scheme == "chdb":
        if parsed.netloc or not parsed.path.startswith("/"):
            return "a chdb URL names an absolute path: chdb:///absolute/path?database=otel"
        return None
    try:
        port = parsed.port
    except ValueError:
        return "its port is not a number from 1 to 65535"
    if not parsed.hostname:
        return "it names no host"
    if port == 0:
        return "its port is not a number from 1 to 65535"
    return None


class FFOtelSettings(BaseModel):
    """Everything ``configure()`` needs, fully resolved and validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    base_path: Path = Field(
        default=Path("./ff_data"),
        description="Store root: the store's files are under `<base_path>/analytics/`.",
    )
    service_name: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "`service.name` of every record; else the resource's (`OTEL_SERVICE_NAME`, the SDK's "
            "default)."
        ),
    )
    analytics: FFAnalyticsConfigDTO = Field(
        default_factory=FFAnalyticsConfigDTO,
        description=(
            "What is collected, stored, alerted on and reported (the spec's analytics "
            "configuration)."
        ),
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description=(
            "An OpenTelemetry Collector's base URL: spans, metrics and logs also go there over "
            "OTLP, scrubbed, beside the store."
        ),
    )
    audit_anchor_to_otlp: bool = Field(
        default=False,
        description=(
            "Send the audit chain's head to the collector as an `ff.audit_anchor` log record with "
            "every audit append (needs `otlp_endpoint`)."
        ),
    )
    system_metrics: bool = Field(
        default=True,
        description=(
            "Read the host and the process with psutil every interval (`system.*` and `process.*` "
            "metrics, `resource_usage.jsonl`)."
        ),
    )
    session_idle_timeout_minutes: int = Field(
        default=30,
        ge=1,
        description="Minutes without an event after which a user session counts as ended.",
    )
    sql_memory_limit_mb: int = Field(
        default=256,
        ge=32,
        description=(
            "Memory limit of the embedded DuckDB engine in MiB; larger work spills to a temporary "
            "folder."
        ),
    )
    sql_threads: int = Field(
        default=2, ge=1, description="Threads the embedded DuckDB engine may use."
    )
    query_url: str = Field(
        default="",
        description=(
            "Where `ff_otel.sql`, `query`, BI, reports, the monitor and the dashboard query: empty"
            " (or `local`) for the store, `chdb:///path?database=otel`, "
            "`clickhouse://user:password@host:8123/database` or `clickhouses://...`."
        ),
    )
    query_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Longest a remote query backend may take to connect or answer, in seconds.",
    )
    business: FFBusinessInputsDTO = Field(
        default_factory=FFBusinessInputsDTO,
        description="Business inputs for BI's cost and ROI figures.",
    )
    alert_rules: list[AlertRule] = Field(
        default_factory=list,
        description=(
            "Alert rules added to the built-in ones (`[[ff_otel.alert_rules]]` in the TOML file)."
        ),
    )
    notifications: FFNotificationSettingsDTO = Field(
        default_factory=FFNotificationSettingsDTO,
        description=(
            "How alert notifications reach people: SMTP server, webhook format, timeouts and "
            "retries."
        ),
    )
    logging: bool = Field(
        default=False,
        description=(
            "Send standard `logging` records at `logging_level` and above to the store, with the "
            "active span's trace context."
        ),
    )
    logging_level: str = Field(
        default="INFO", description="Lowest level of `logging` records sent to the store."
    )
    limits: RecordLimits = Field(
        default_factory=RecordLimits,
        description=(
            "What one stored record may hold (value length, attribute count, nesting depth, series"
            " per instrument)."
        ),
    )
    disabled: bool = Field(
        default=False,
        description="`configure()` installs nothing and creates no store; decorators stay no-ops.",
    )

    @field_validator("logging_level")
    @classmethod
    def _is_a_logging_level(cls, value: str) -> str:
        number = logging.getLevelName(value.strip().upper())
        if not isinstance(number, int):
            raise ValueError(
                f"unknown logging level {value!r} (use DEBUG, INFO, WARNING, ERROR or CRITICAL)"
            )
        return str(logging.getLevelName(number))

    @field_validator("query_url")
    @classmethod
    def _is_a_query_url(cls, value: str) -> str:
        problem = query_url_problem(value)
        if problem is not None:
            raise ValueError(f"not a query backend URL: {problem}")
        return "" if value == "local" else value

    @property
    def analytics_path(self) -> Path:
        return self.base_path / "analytics"
