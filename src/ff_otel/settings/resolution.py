"""Resolve ``configure()``'s settings from code, environment and a TOML file.

Precedence is field by field: a value passed in code beats the environment,
which beats the file named by ``FF_OTEL_CONFIG``. Only fields that were set
explicitly take part, so ``FFAnalyticsConfigDTO(sampling_rate=0.5)`` in code
does not hide ``FF_OTEL_COLLECTION_INTERVAL_SECONDS`` from the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ff_otel import environment_variables as env
from ff_otel.settings.model import ConfigError, FFOtelSettings, otlp_endpoint_problem
from ff_otel.spec.alerting_config import FFAnalyticsAlertingConfigDTO, FFNotificationSettingsDTO
from ff_otel.spec.config import FFAnalyticsConfigDTO
from ff_otel.spec.privacy_config import FFAnalyticsPrivacyConfigDTO

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def resolve_settings(
    code: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> FFOtelSettings:
    """Merge file < env < code and validate, raising :class:`ConfigError` on bad input."""
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    config_file = environ.get(env.FF_OTEL_CONFIG)
    if config_file:
        from_file = _read_toml(Path(config_file))
        if isinstance(from_file.get("otlp_endpoint"), str):
            _checked_endpoint(f"otlp_endpoint in {config_file}", from_file["otlp_endpoint"])
        _deep_merge(merged, from_file, source=f"file {config_file}")
    _deep_merge(merged, _from_environment(environ), source="environment")
    explicit = _explicit(code)
    if isinstance(explicit.get("otlp_endpoint"), str):
        _checked_endpoint("otlp_endpoint", explicit["otlp_endpoint"])
    _deep_merge(merged, explicit, source="code")
    try:
        return FFOtelSettings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _explicit(code: Mapping[str, Any]) -> dict[str, Any]:
    """Code arguments as plain data, keeping only the fields the caller really set."""
    out: dict[str, Any] = {}
    for key, value in code.items():
        if value is None:
            continue
        out[key] = value.model_dump(exclude_unset=True) if isinstance(value, BaseModel) else value
    return out


def _deep_merge(into: dict[str, Any], update: Mapping[str, Any], *, source: str) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value, source=source)
        elif isinstance(value, Mapping):
            into[key] = {}
            _deep_merge(into[key], value, source=source)
        else:
            into[key] = value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"{env.FF_OTEL_CONFIG} names a file that does not exist: {path}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{env.FF_OTEL_CONFIG} file {path} is not valid TOML: {exc}") from None
    # Allow both a bare file and one that nests everything under [ff_otel].
    section = data.get("ff_otel", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [ff_otel] must be a table")
    return section


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    base_path = environ.get(env.FF_OTEL_BASE_PATH)
    if base_path:
        out["base_path"] = base_path
    service = environ.get(env.FF_OTEL_SERVICE_NAME) or environ.get(env.OTEL_SERVICE_NAME)
    if service:
        out["service_name"] = service
    endpoint = environ.get(env.FF_OTEL_OTLP_ENDPOINT) or environ.get(
        env.OTEL_EXPORTER_OTLP_ENDPOINT
    )
    if endpoint:
        name = (
            env.FF_OTEL_OTLP_ENDPOINT
            if environ.get(env.FF_OTEL_OTLP_ENDPOINT)
            else env.OTEL_EXPORTER_OTLP_ENDPOINT
        )
        out["otlp_endpoint"] = _checked_endpoint(name, endpoint)
    if env.FF_OTEL_AUDIT_ANCHOR_TO_OTLP in environ:
        out["audit_anchor_to_otlp"] = _parse_bool(env.FF_OTEL_AUDIT_ANCHOR_TO_OTLP, environ)
    if env.FF_OTEL_SESSION_IDLE_TIMEOUT_MINUTES in environ:
        out["session_idle_timeout_minutes"] = environ[env.FF_OTEL_SESSION_IDLE_TIMEOUT_MINUTES]
    for variable, name in (
        (env.FF_OTEL_SQL_MEMORY_LIMIT_MB, "sql_memory_limit_mb"),
        (env.FF_OTEL_SQL_THREADS, "sql_threads"),
        (env.FF_OTEL_QUERY_URL, "query_url"),
        (env.FF_OTEL_QUERY_TIMEOUT_SECONDS, "query_timeout_seconds"),
    ):
        if variable in environ:
            out[name] = environ[variable]
    if env.FF_OTEL_SYSTEM_METRICS in environ:
        out["system_metrics"] = _parse_bool(env.FF_OTEL_SYSTEM_METRICS, environ)
    if env.FF_OTEL_LOGGING in environ:
        out["logging"] = _parse_bool(env.FF_OTEL_LOGGING, environ)
    elif env.OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED in environ:
        # The SDK's reading: only "true" switches its logging handler on.
        raw = environ[env.OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED]
        out["logging"] = raw.strip().lower() == "true"
    if env.FF_OTEL_LOGGING_LEVEL in environ:
        out["logging_level"] = environ[env.FF_OTEL_LOGGING_LEVEL]
    for name in (env.FF_OTEL_DISABLED, env.OTEL_SDK_DISABLED):
        if name in environ and _parse_bool(name, environ):
            out["disabled"] = True
    limits = _limits_from_env(environ)
    if limits:
        out["limits"] = limits
    analytics = _model_fields_from_env(FFAnalyticsConfigDTO, "FF_OTEL_", environ)
    privacy = _model_fields_from_env(FFAnalyticsPrivacyConfigDTO, "FF_OTEL_PRIVACY_", environ)
    alerting = _model_fields_from_env(FFAnalyticsAlertingConfigDTO, "FF_OTEL_ALERTING_", environ)
    if privacy:
        analytics["privacy_config"] = privacy
    if alerting:
        analytics["alerting_config"] = alerting
    if analytics:
        out["analytics"] = analytics
    notifications = _model_fields_from_env(FFNotificationSettingsDTO, "FF_OTEL_", environ)
    if notifications:
        out["notifications"] = notifications
    return out


_LIMIT_VARIABLES = {
    "max_value_length": (
        env.FF_OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
        env.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    ),
    "max_attributes": (env.FF_OTEL_ATTRIBUTE_COUNT_LIMIT, env.OTEL_ATTRIBUTE_COUNT_LIMIT),
    "max_depth": (env.FF_OTEL_NESTING_DEPTH_LIMIT,),
    "max_series_per_instrument": (env.FF_OTEL_METRIC_CARDINALITY_LIMIT,),
}


def _limits_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    # ff-otel's own variable first, then the OTel SDK's standard one.
    out: dict[str, str] = {}
    for field, names in _LIMIT_VARIABLES.items():
        for name in names:
            if environ.get(name, "").strip():
                out[field] = environ[name].strip()
                break
    return out


def _model_fields_from_env(
    model: type[BaseModel], prefix: str, environ: Mapping[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        var = prefix + name.upper()
        if var not in environ:
            continue
        raw = environ[var]
        origin = getattr(field.annotation, "__origin__", None)
        if origin is list:
            out[name] = [item.strip() for item in raw.split(",") if item.strip()]
        elif field.annotation is bool:
            out[name] = _parse_bool(var, environ)
        else:
            out[name] = raw
    return out


def _checked_endpoint(name: str, endpoint: str) -> str:
    problem = otlp_endpoint_problem(endpoint)
    if problem is not None:
        raise ConfigError(
            f"{name}={endpoint!r} is not an OTLP endpoint: {problem} "
            "(use a collector's base URL like http://collector:4317)"
        )
    return endpoint


def _parse_bool(var: str, environ: Mapping[str, str]) -> bool:
    raw = environ[var].strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{var}={environ[var]!r} is not a boolean (use true or false)")


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "settings"
        problems.append(f"{where}: {error['msg']} (got {error.get('input')!r})")
    return "invalid ff-otel configuration: " + "; ".join(problems)
