"""The spec's privacy configuration (``FFAnalyticsPrivacyConfigDTO``) and the host
entries it allows external analytics to reach (:func:`parse_service`)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from ff_otel.spec.config_model import ConfigModel


def parse_service(entry: str) -> tuple[str, int | None]:
    """An ``allowed_external_services`` entry as (lower-case host, port or None).

    Raises ``ValueError`` naming the entry when it names no host.
    """
    text = entry.strip()
    url = text if "://" in text else f"//{text}"
    try:
        parsed = urlsplit(url)
        host, port = parsed.hostname, parsed.port
    except ValueError:
        host = None
    if not host or ("://" not in text and parsed.path):
        raise ValueError(f"not a host, host:port or URL: {entry!r}")
    return host, port


class FFAnalyticsPrivacyConfigDTO(ConfigModel):
    """Privacy configuration for analytics collection."""

    anonymize_user_data: bool = Field(
        default=True,
        description=(
            "Store user ids as keyed pseudonyms (HMAC with the store's key). Off stores raw user "
            "ids, as the spec's sketch did, and records an `anonymization_disabled` privacy event "
            "whenever a process starts with it."
        ),
    )
    hash_user_identifiers: bool = Field(
        default=True,
        description=(
            "Replace identifier attributes (`user.id`, `user_id`, `email`, `session.id`, ...) and "
            "session ids with their pseudonyms, so data stays joinable. Off leaves them as they "
            "are and records an `identifier_hashing_disabled` privacy event."
        ),
    )
    exclude_sensitive_content: bool = Field(
        default=True,
        description=(
            "Redact content keys (`content`, `body`, `text`, `prompt`, `completion`, `transcript`)"
            " as `[REDACTED:content excluded]` in every scrubbed record."
        ),
    )

    raw_data_retention_days: int = Field(
        default=30,
        ge=1,
        description=(
            "Days the raw class (`system_metrics/`, `user_analytics/`) is kept; older segments are"
            " deleted whole by the hourly retention run."
        ),
    )
    aggregated_data_retention_days: int = Field(
        default=365,
        ge=1,
        description="Days the aggregated class (`business_intelligence/`, `reports/`) is kept.",
    )
    compliance_data_retention_days: int = Field(
        default=2555,
        ge=1,
        description=(
            "Days the compliance class (`compliance/`: audit trail, privacy and security events) "
            "is kept."
        ),
    )

    allow_user_opt_out: bool = Field(
        default=True,
        description=(
            "Let `opt_out(user_id)` stop a user's events being stored; off makes `opt_out` return "
            "False."
        ),
    )
    require_explicit_consent: bool = Field(
        default=False, description="Store nothing for a user until `opt_in(user_id)`."
    )
    honor_do_not_track: bool = Field(
        default=True,
        description='Do not store an event whose data has `"dnt": true` (or `do_not_track`).',
    )

    enable_external_analytics: bool = Field(
        default=False,
        description=(
            "Let user events (`ff.user_event` log records) reach exporters beside the store (the "
            "OTLP collector, `OTEL_LOGS_EXPORTER`'s). Off: they stay in the store; spans, metrics "
            "and other logs still go."
        ),
    )
    allowed_external_services: list[str] = Field(
        default_factory=list,
        description=(
            "With external analytics on: the collectors that may receive user events (`host`, "
            "`host:port`, `*.example.com` or a URL); empty means every collector."
        ),
    )
    data_export_restrictions: list[str] = Field(
        default_factory=list,
        description=(
            "Streams (by name or path under `analytics/`) and categories that `export_data` / `ff-"
            "otel export` refuse, each refusal audited."
        ),
    )
    # ff-otel's own, after the spec's fields:
    ip_address_handling: Literal["truncate", "keep", "drop"] = Field(
        default="truncate",
        description=(
            "IP addresses in client-address attributes and free text: `truncate` zeroes the last "
            "IPv4 octet and the last 80 IPv6 bits, `drop` redacts them, `keep` keeps them."
        ),
    )

    @field_validator("allowed_external_services")
    @classmethod
    def _services_name_a_host(cls, value: list[str]) -> list[str]:
        # An entry that names no host would silently match nothing.
        for entry in value:
            parse_service(entry)
        return value
