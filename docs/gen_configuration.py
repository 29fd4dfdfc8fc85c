# ruff: noqa: E501  (the page text it holds has long lines, as the page does)
"""Write ``docs/configuration.md`` from the configuration models, so the page cannot drift.

Every row comes from the code: the fields of the pydantic models ``configure()``
resolves (their types, defaults, constraints and ``description=``), the
environment variable each is read from, and the docstrings of the constants in
``ff_otel.environment_variables``. Which variable sets which setting is found
by asking :func:`ff_otel.settings.resolve_settings` itself, with each variable
alone in an otherwise empty environment, so a renamed variable or a new one
changes the page.

    .venv/bin/python docs/gen_configuration.py          # rewrite the page
    .venv/bin/python docs/gen_configuration.py --check  # exit 1 when it is out of date

``tests/test_docs_configuration.py`` fails when the committed page differs from
what this script writes.
"""

from __future__ import annotations

import ast
import enum
import inspect
import json
import re
import sys
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ff_otel import (
    AlertRule,
    ConfigError,
    FFAnalyticsAlertingConfigDTO,
    FFAnalyticsConfigDTO,
    FFAnalyticsPrivacyConfigDTO,
    FFBusinessInputsDTO,
    FFConfigurationManagerConfigDTO,
    FFNotificationSettingsDTO,
    FFStorageConfigDTO,
    RecordLimits,
    environment_variables,
)
from ff_otel.dashboard import security
from ff_otel.settings.model import FFOtelSettings
from ff_otel.settings.resolution import resolve_settings

PAGE = Path(__file__).with_name("configuration.md")

PREFIXED_SECTIONS: tuple[tuple[str, type[BaseModel], str, str], ...] = (
    ("analytics", FFAnalyticsConfigDTO, "FF_OTEL_", "Analytics"),
    ("analytics.privacy_config", FFAnalyticsPrivacyConfigDTO, "FF_OTEL_PRIVACY_", "Privacy"),
    ("analytics.alerting_config", FFAnalyticsAlertingConfigDTO, "FF_OTEL_ALERTING_", "Alerting"),
    ("notifications", FFNotificationSettingsDTO, "FF_OTEL_", "Notifications"),
)
"""Models whose every field is read from ``<prefix><FIELD>`` (the convention of
``ff_otel.environment_variables``): settings path, model, prefix, heading."""

_PROBE_VALUES = ("64", "false", "true", "DEBUG", "chdb:///probe", "http://probe.invalid:4317")
"""Values tried, in order, to find what a variable sets: the first one that resolves and
changes a setting tells."""


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


_DEFAULTS = _flatten(FFOtelSettings().model_dump(mode="json"))


def settings_set_by(variable: str, value: str | None = None) -> set[str]:
    """The settings (dotted paths) that ``variable`` alone changes, as ``configure()`` reads it.

    With ``value``, only that value is tried; else the probe values in turn.
    """
    for candidate in (value,) if value is not None else _PROBE_VALUES:
        try:
            settings = resolve_settings({}, {variable: candidate})
        except ConfigError:
            continue
        changed = {
            path
            for path, setting in _flatten(settings.model_dump(mode="json")).items()
            if _DEFAULTS.get(path) != setting
        }
        if changed:
            return changed
    return set()


def _constant_docstrings(module: types.ModuleType) -> dict[str, str]:
    """``NAME = "..."`` constants of ``module`` with the docstring that follows each."""
    tree = ast.parse(inspect.getsource(module))
    found: dict[str, str] = {}
    for node, after in zip(tree.body, tree.body[1:], strict=False):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            and re.fullmatch(r"(FF_)?OTEL_[A-Z0-9_]+", node.value.value)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            found[node.value.value] = after.value.value
    return found


def _markdown(text: str) -> str:
    """A docstring or description as one table cell: RST literals as Markdown, one line."""
    cell = " ".join(text.replace("``", "`").split())
    if "|" in cell.replace("\\|", ""):
        raise ValueError(f"a '|' would split the table cell: {cell!r}")
    return cell


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is typing.Literal:
        return " or ".join(f"`{value}`" for value in arguments)
    if origin in (types.UnionType, typing.Union):
        named = [_type_name(argument) for argument in arguments if argument is not type(None)]
        optional = len(named) < len(arguments)
        return " or ".join(named) + (" (optional)" if optional else "")
    if origin is list:
        return f"list of {_type_name(arguments[0])}"
    if origin is dict:
        return f"map of {_type_name(arguments[0])} to {_type_name(arguments[1])}"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " or ".join(f"`{member.value}`" for member in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"`{annotation.__name__}`"
    if annotation is Path:
        return "path"
    return getattr(annotation, "__name__", str(annotation))


_BOUNDS = (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("min_length", "length ≥"))


def _constraints(field: FieldInfo) -> str:
    found = []
    for item in field.metadata:
        for attribute, sign in _BOUNDS:
            bound = getattr(item, attribute, None)
            if bound is not None:
                found.append(f"{sign} {bound}")
    return f", {', '.join(found)}" if found else ""


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below"
    if value is None:
        return "unset"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, list):
        value = [item.value if isinstance(item, enum.Enum) else item for item in value]
    return f"`{json.dumps(value)}`"


def _variables_by_setting() -> dict[str, list[str]]:
    """Every variable constant of ``environment_variables`` by the settings it sets."""
    by_setting: dict[str, list[str]] = {}
    names = [
        value
        for name, value in vars(environment_variables).items()
        if name.isupper() and isinstance(value, str) and value == name
    ]
    # ff-otel's own variable first, then the standard one it falls back to.
    for variable in sorted(names, key=lambda name: (not name.startswith("FF_"), name)):
        for setting in sorted(settings_set_by(variable)):
            by_setting.setdefault(setting, []).append(variable)
    return by_setting


def _environment_cell(variables: list[str]) -> str:
    if not variables:
        return "—"
    return ", else ".join(f"`{variable}`" for variable in variables)


_HEADER = "| setting | environment | type | default | what it does |\n|---|---|---|---|---|\n"


def _rows(
    model: type[BaseModel], path: str, variables: Mapping[str, list[str]], skip: set[str]
) -> Iterator[str]:
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        setting = f"{path}.{name}" if path else name
        annotation = field.annotation
        yield (
            f"| `{setting}` | {_environment_cell(list(variables.get(setting, [])))} "
            f"| {_type_name(annotation)}{_constraints(field)} | {_default(field)} "
            f"| {_markdown(field.description or '')} |\n"
        )


def _nested_models(model: type[BaseModel]) -> set[str]:
    return {
        name
        for name, field in model.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }


DOCUMENTED_MODELS: tuple[type[BaseModel], ...] = (
    FFOtelSettings,
    FFAnalyticsConfigDTO,
    FFAnalyticsPrivacyConfigDTO,
    FFAnalyticsAlertingConfigDTO,
    FFNotificationSettingsDTO,
    RecordLimits,
    FFBusinessInputsDTO,
    AlertRule,
    FFConfigurationManagerConfigDTO,
    FFStorageConfigDTO,
)
"""Every model whose fields the page lists (each field needs a ``description=``)."""


def render() -> str:
    """The page, as this version of the code configures ff-otel."""
    variables = _variables_by_setting()
    for path, model, prefix, _ in PREFIXED_SECTIONS:
        for name in model.model_fields:
            if name not in _nested_models(model):
                variables.setdefault(f"{path}.{name}", []).insert(0, prefix + name.upper())
    documented = {variable for names in variables.values() for variable in names}
    docstrings = _constant_docstrings(environment_variables) | _constant_docstrings(security)

    parts = [_INTRO]
    parts.append("## Settings of `configure()`\n\n")
    parts.append(_TOP_LEVEL)
    parts.append(_HEADER)
    parts.extend(
        _rows(FFOtelSettings, "", variables, _nested_models(FFOtelSettings) | {"alert_rules"})
    )
    for path, model, prefix, heading in PREFIXED_SECTIONS:
        parts.append(f"\n## {heading}\n\n")
        parts.append(_SECTION_TEXT[heading].format(prefix=prefix, model=model.__name__))
        parts.append(_HEADER)
        parts.extend(_rows(model, path, variables, _nested_models(model)))
    flat_sections: tuple[tuple[str, type[BaseModel], str], ...] = (
        ("Record limits", RecordLimits, "limits"),
        ("Business inputs", FFBusinessInputsDTO, "business"),
        ("Alert rules", AlertRule, "alert_rules[]"),
    )
    for heading, flat_model, path in flat_sections:
        parts.append(f"\n## {heading}\n\n")
        parts.append(_SECTION_TEXT[heading])
        parts.append(_HEADER)
        parts.extend(_rows(flat_model, path, variables, set()))
    parts.append("\n## The facade's configuration\n\n")
    parts.append(_SECTION_TEXT["The facade's configuration"])
    parts.append(_HEADER)
    parts.extend(_rows(FFConfigurationManagerConfigDTO, "", {}, set()))
    parts.extend(_rows(FFStorageConfigDTO, "storage", {}, set()))

    parts.append("\n## Other environment variables\n\n")
    parts.append(_SECTION_TEXT["Other environment variables"])
    parts.append("| variable | what it does |\n|---|---|\n")
    for variable in sorted(docstrings, key=lambda name: (not name.startswith("FF_"), name)):
        if variable not in documented:
            parts.append(f"| `{variable}` | {_markdown(docstrings[variable])} |\n")
    parts.append(_OUTRO)
    return "".join(parts)


_INTRO = """\
# Configuration

<!-- Generated by docs/gen_configuration.py from the configuration models: do not edit.
     tests/test_docs_configuration.py fails when this page and the code disagree. -->

Every setting has a default that works: `ff_otel.configure()` with no argument
records into `./ff_data`. Each setting can be given in three places, and
**code beats the environment, which beats the file**, field by field: only the
fields you set explicitly in code take part, so
`FFAnalyticsConfigDTO(sampling_rate=0.5)` in code does not hide
`FF_OTEL_COLLECTION_INTERVAL_SECONDS` from the environment.

- **Code:** `ff_otel.configure(base_path=..., analytics=ff_otel.FFAnalyticsConfigDTO(...), ...)`.
- **Environment:** the variable in each table below. Booleans are `true`/`false`
  (also `1`/`0`, `yes`/`no`, `on`/`off`); lists are comma-separated
  (`FF_OTEL_PRIVACY_DATA_EXPORT_RESTRICTIONS=user_analytics,audit_logs`).
- **A TOML file** named by `FF_OTEL_CONFIG`: the same names, top-level or under
  `[ff_otel]`; a setting `analytics.privacy_config.raw_data_retention_days` is
  `raw_data_retention_days` in the table `[ff_otel.analytics.privacy_config]`.

```toml
[ff_otel]
service_name = "chat"
query_url = "clickhouse://ro:secret@clickhouse:8123/otel"

[ff_otel.analytics]
collection_interval_seconds = 30
report_output_formats = ["json"]

[ff_otel.analytics.alerting_config]
error_rate_threshold_percent = 2.0
webhook_urls = ["https://hooks.example.org/ff-otel"]
enable_webhook_alerts = true

[[ff_otel.alert_rules]]
name = "queue_backlog"
series = "metric:queue.depth"
threshold = 100
for_seconds = 120
```

An invalid value fails at `configure()` with an `ff_otel.ConfigError` naming the
field, the problem and the value, before anything already running is changed:

```python
import os

import ff_otel

os.environ["FF_OTEL_SAMPLING_RATE"] = "1.5"
try:
    ff_otel.configure()
except ff_otel.ConfigError as error:
    print(error)
```

```text
invalid ff-otel configuration: analytics.sampling_rate: Input should be less than or equal to 1 (got '1.5')
```

The `ff-otel` command reads the same environment and file, so run it with the
service's environment and it applies the service's policy (see [the CLI](cli.md)).

"""

_TOP_LEVEL = """\
The arguments of `ff_otel.configure()` (`FFOtelSettings`). `analytics`,
`notifications`, `limits`, `business` and `alert_rules` have sections of their
own below; `configure(scrubbing=ff_otel.ScrubbingOptions(...))` is code only (see
[scrubbing](user-analytics-and-privacy.md)).

"""

_SECTION_TEXT = {
    "Analytics": """\
`configure(analytics=ff_otel.FFAnalyticsConfigDTO(...))`: the spec's analytics
configuration, every field and default as the spec has them. Each field is also
read from `{prefix}<FIELD>`. The on/off switches stop what they name; all are on
except the two the spec leaves off, `enable_predictive_analytics` and
`privacy_config.enable_external_analytics`. `tests/test_config_flags.py` checks
each switch against a real store.

""",
    "Privacy": """\
`FFAnalyticsConfigDTO(privacy_config=ff_otel.FFAnalyticsPrivacyConfigDTO(...))`;
each field is also read from `{prefix}<FIELD>`. What the privacy settings
protect and how: [user analytics and privacy](user-analytics-and-privacy.md);
retention: [compliance](compliance.md#retention-and-compression).

""",
    "Alerting": """\
`FFAnalyticsConfigDTO(alerting_config=ff_otel.FFAnalyticsAlertingConfigDTO(...))`;
each field is also read from `{prefix}<FIELD>`. How rules, states and
notifications work: [alerting](alerting.md).

""",
    "Notifications": """\
`configure(notifications=ff_otel.FFNotificationSettingsDTO(...))`: how the channels
the alerting settings enable reach people; each field is also read from
`{prefix}<FIELD>`. Deliveries run on one notifier thread, so a hanging endpoint
never delays collection.

""",
    "Record limits": """\
`configure(limits=ff_otel.RecordLimits(...))`: what one stored record may hold,
applied after scrubbing and before serialising; what a limit cut is listed in
the record's `dropped_values` (see [faults](faults.md#record-limits)).

""",
    "Business inputs": """\
`configure(business=ff_otel.FFBusinessInputsDTO(...))` or `[ff_otel.business]` in
the TOML file (no environment variable): the money figures behind BI's cost and
ROI fields, per 30 days (see [SQL and BI](sql-and-bi.md#business-intelligence)).

""",
    "Alert rules": """\
`configure(alert_rules=[ff_otel.AlertRule(...)])` or `[[ff_otel.alert_rules]]`
tables in the TOML file (no environment variable): rules added to the built-in
ones (see [alerting](alerting.md#rules)).

""",
    "The facade's configuration": """\
The spec's facade, `ff_otel.FFMetricsCollectionManager(config)`, takes an
`ff_otel.FFConfigurationManagerConfigDTO`, whose `analytics` and `business` are
the models above (see [the API](api.md)).

""",
    "Other environment variables": """\
Read where they are needed rather than by `configure()`'s settings. The
standard OpenTelemetry variables the `ff_otel` distro honours under
`opentelemetry-instrument` are in [zero-code instrumentation](zero-code.md).

""",
}

_OUTRO = """
To see what a setting resolves to in a shell, `ff-otel init --json` prints the
configuration it records in a new store's `analytics_metadata.json`.
"""


def main(argv: list[str]) -> int:
    page = render()
    if argv[1:] == ["--check"]:
        if PAGE.read_text(encoding="utf-8") != page:
            print(f"{PAGE} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
