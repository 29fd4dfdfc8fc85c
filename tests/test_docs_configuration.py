"""docs/configuration.md is what docs/gen_configuration.py makes from the code, and true.

The page is generated from the configuration models; these tests fail when the
committed page is out of date, when a variable it names does not set the
setting it says, and when the code reads an ``FF_OTEL_*`` variable the page
does not mention.
"""

from __future__ import annotations

import enum
import importlib.util
import re
import sys
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

from ff_otel.settings.model import FFOtelSettings

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "docs" / "gen_configuration.py"
PAGE = ROOT / "docs" / "configuration.md"

_LIST_SAMPLES = {
    "aggregation_periods": "minute",
    "report_output_formats": "json",
    "allowed_external_services": "collector.example.com",
    "data_export_restrictions": "spans",
    "email_recipients": "oncall@example.org",
    "webhook_urls": "https://hooks.example.org/ff-otel",
}
"""A valid environment value for each list setting (a new list setting needs one here)."""


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_configuration", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _documented_rows() -> list[tuple[str, str]]:
    """(setting, variable) for every table row of the page that names a variable."""
    rows = []
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `([\w.\[\]]+)` \| (`[^|]+`) \|", line)
        if match:
            for variable in re.findall(r"`([A-Z0-9_]+)`", match.group(2)):
                rows.append((match.group(1), variable))
    return rows


def _field(setting: str) -> Any:
    model: type[BaseModel] = FFOtelSettings
    *parents, name = setting.split(".")
    for parent in parents:
        annotation = model.model_fields[parent].annotation
        assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation
    return model.model_fields[name]


def _candidates(setting: str) -> list[str]:
    """Environment values that differ from the setting's default, for its type."""
    field = _field(setting)
    name = setting.rsplit(".", 1)[-1]
    annotation = field.annotation
    default = field.get_default(call_default_factory=True)
    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is list:
        assert name in _LIST_SAMPLES, f"add a sample value of {setting} to _LIST_SAMPLES"
        return [_LIST_SAMPLES[name]]
    if annotation is bool:
        return ["false" if default else "true"]
    if typing.get_origin(annotation) is typing.Literal:
        return [str(value) for value in arguments if value != default]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(member.value) for member in annotation if member.value != default]
    if annotation is int:
        return [str(default + 1)]
    if annotation is float:
        return [str(default / 2 if default else 1.0)]
    return ["probe-value", "ERROR", "chdb:///probe", "http://probe.invalid:4317"]


def test_the_committed_page_is_what_the_generator_makes_now() -> None:
    assert PAGE.read_text(encoding="utf-8") == _generator().render(), (
        "docs/configuration.md is out of date: run .venv/bin/python docs/gen_configuration.py"
    )


@pytest.mark.parametrize(("setting", "variable"), _documented_rows())
def test_each_documented_variable_sets_its_setting(setting: str, variable: str) -> None:
    generator = _generator()
    changed = set()
    for value in _candidates(setting):
        changed |= generator.settings_set_by(variable, value)
    assert setting in changed, f"{variable} does not set {setting} (it set {sorted(changed)})"


def test_every_setting_on_the_page_says_what_it_does() -> None:
    missing = [
        f"{model.__name__}.{name}"
        for model in _generator().DOCUMENTED_MODELS
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert not missing, f"give these fields a description=: {missing}"


def test_the_page_documents_many_settings() -> None:
    # The row parser above must keep finding the tables it checks.
    assert len(_documented_rows()) > 60


def test_every_ff_otel_variable_the_code_reads_is_on_the_page() -> None:
    page = PAGE.read_text(encoding="utf-8")
    named = set()
    for source in (ROOT / "src" / "ff_otel").rglob("*.py"):
        named |= set(re.findall(r"\"(FF_OTEL_[A-Z0-9_]*[A-Z0-9])\"", source.read_text()))
    missing = sorted(variable for variable in named if f"`{variable}`" not in page)
    assert not missing, f"read by the code but not in docs/configuration.md: {missing}"
