"""Configuration: the spec's defaults, validation that names the field, and precedence."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

import ff_otel
from ff_otel import (
    ConfigError,
    FFAnalyticsAlertingConfigDTO,
    FFAnalyticsConfigDTO,
    FFAnalyticsPrivacyConfigDTO,
    FFConfigurationManagerConfigDTO,
)
from ff_otel.settings.resolution import resolve_settings

from .spec_fields import EXTENSION_FIELDS, SPEC_FIELDS


def test_defaults_are_the_specs() -> None:
    config = FFAnalyticsConfigDTO()
    assert config.analytics_level == "standard"
    assert config.collection_interval_seconds == 60
    assert config.aggregation_periods == ["hour", "day", "week"]
    assert config.aggregation_delay_minutes == 5
    assert config.enable_predictive_analytics is False
    assert config.compression_age_days == 7
    assert config.sampling_rate == 1.0
    assert config.report_output_formats == ["json", "csv"]
    privacy = config.privacy_config
    assert (privacy.raw_data_retention_days, privacy.aggregated_data_retention_days) == (30, 365)
    assert privacy.compliance_data_retention_days == 2555
    assert privacy.hash_user_identifiers and privacy.honor_do_not_track
    alerting = config.alerting_config
    assert alerting.error_rate_threshold_percent == 5.0
    assert alerting.response_time_threshold_ms == 5000.0
    assert alerting.memory_usage_threshold_percent == 85.0
    assert alerting.disk_usage_threshold_percent == 90.0
    assert (alerting.alert_cooldown_minutes, alerting.max_alerts_per_hour) == (15, 10)
    assert alerting.escalation_delay_minutes == 30
    assert alerting.enable_log_alerts and not alerting.enable_email_alerts
    assert alerting.alert_log_level == "WARNING"


@pytest.mark.parametrize(
    "model", [FFAnalyticsConfigDTO, FFAnalyticsPrivacyConfigDTO, FFAnalyticsAlertingConfigDTO]
)
def test_every_spec_field_exists_in_the_specs_order(model: type) -> None:
    name = model.__name__
    assert list(model.model_fields) == SPEC_FIELDS[name] + EXTENSION_FIELDS.get(name, [])


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("sampling_rate", 1.5, "less than or equal to 1"),
        ("collection_interval_seconds", 0, "greater than or equal to 1"),
        ("analytics_level", "verbose", "minimal"),
        ("aggregation_periods", ["fortnight"], "hour"),
        ("report_output_formats", ["pdf"], "unknown report format"),
    ],
)
def test_bad_values_are_rejected_naming_the_field(field: str, value: object, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        FFAnalyticsConfigDTO(**{field: value})
    assert field in str(caught.value)
    assert words in str(caught.value)


def test_bad_nested_values_are_rejected() -> None:
    with pytest.raises(ValidationError, match="not an email address"):
        FFAnalyticsAlertingConfigDTO(email_recipients=["ops"])
    with pytest.raises(ValidationError, match="http"):
        FFAnalyticsAlertingConfigDTO(webhook_urls=["ftp://x"])
    with pytest.raises(ValidationError, match="unknown logging level"):
        FFAnalyticsAlertingConfigDTO(alert_log_level="LOUD")
    with pytest.raises(ValidationError, match="unknown_field"):
        FFAnalyticsPrivacyConfigDTO(unknown_field=True)  # type: ignore[call-arg]


def test_assignment_is_validated_too() -> None:
    config = FFAnalyticsConfigDTO()
    with pytest.raises(ValidationError, match="sampling_rate"):
        config.sampling_rate = 2.0


def test_host_config_has_storage_and_analytics(tmp_path: Path) -> None:
    config = FFConfigurationManagerConfigDTO()
    config.storage.base_path = tmp_path  # type: ignore[assignment]
    config.analytics = FFAnalyticsConfigDTO(analytics_level="full")
    assert config.storage.base_path == tmp_path
    assert config.to_dict()["analytics"]["analytics_level"] == "full"


def test_configure_rejects_bad_values_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"analytics\.sampling_rate: .*\(got 1\.5\)"):
        ff_otel.configure(base_path=tmp_path, analytics={"sampling_rate": 1.5})  # type: ignore[arg-type]


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FF_OTEL_BASE_PATH", str(tmp_path))
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-otel-env")
    monkeypatch.setenv("FF_OTEL_COLLECTION_INTERVAL_SECONDS", "5")
    monkeypatch.setenv("FF_OTEL_AGGREGATION_PERIODS", "minute, day")
    monkeypatch.setenv("FF_OTEL_PRIVACY_RAW_DATA_RETENTION_DAYS", "7")
    monkeypatch.setenv("FF_OTEL_ALERTING_ENABLE_EMAIL_ALERTS", "true")
    monkeypatch.setenv("FF_OTEL_SYSTEM_METRICS", "false")
    settings = resolve_settings({})
    assert settings.base_path == tmp_path
    assert settings.service_name == "from-otel-env"
    assert settings.system_metrics is False
    assert settings.analytics.collection_interval_seconds == 5
    assert settings.analytics.aggregation_periods == ["minute", "day"]
    assert settings.analytics.privacy_config.raw_data_retention_days == 7
    assert settings.analytics.alerting_config.enable_email_alerts is True


def test_bad_environment_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FF_OTEL_SYSTEM_METRICS", "sometimes")
    with pytest.raises(ConfigError, match="FF_OTEL_SYSTEM_METRICS='sometimes'"):
        resolve_settings({})
    monkeypatch.delenv("FF_OTEL_SYSTEM_METRICS")
    monkeypatch.setenv("FF_OTEL_SAMPLING_RATE", "lots")
    with pytest.raises(ConfigError, match=r"analytics\.sampling_rate"):
        resolve_settings({})


def test_precedence_is_code_then_env_then_file_field_by_field(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config_file = tmp_path / "ff_otel.toml"
    config_file.write_text(
        """
[ff_otel]
service_name = "from-file"
base_path = "/from/file"
otlp_endpoint = "http://file:4317"

[ff_otel.analytics]
collection_interval_seconds = 11
compression_age_days = 3

[ff_otel.analytics.privacy_config]
raw_data_retention_days = 9
"""
    )
    monkeypatch.setenv("FF_OTEL_CONFIG", str(config_file))
    monkeypatch.setenv("FF_OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("FF_OTEL_COLLECTION_INTERVAL_SECONDS", "22")
    monkeypatch.setenv("FF_OTEL_BASE_PATH", "/from/env")

    settings = resolve_settings(
        {"base_path": "/from/code", "analytics": FFAnalyticsConfigDTO(sampling_rate=0.5)}
    )
    assert settings.base_path == Path("/from/code")  # code beats env
    assert settings.service_name == "from-env"  # env beats file
    assert settings.otlp_endpoint == "http://file:4317"  # file when nothing else says
    assert settings.analytics.sampling_rate == 0.5
    assert settings.analytics.collection_interval_seconds == 22
    assert settings.analytics.compression_age_days == 3
    assert settings.analytics.privacy_config.raw_data_retention_days == 9


def test_config_file_problems_are_clear(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FF_OTEL_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_settings({})
    broken = tmp_path / "broken.toml"
    broken.write_text("service_name = ")
    monkeypatch.setenv("FF_OTEL_CONFIG", str(broken))
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve_settings({})
    typo = tmp_path / "typo.toml"
    typo.write_text("[analytics]\ncolection_interval_seconds = 5\n")
    monkeypatch.setenv("FF_OTEL_CONFIG", str(typo))
    with pytest.raises(ConfigError, match=r"analytics\.colection_interval_seconds"):
        resolve_settings({})
