"""``import ff_otel`` is lazy: every public name still imports, the heavy modules only on use."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import ff_otel


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_every_public_name_is_importable_from_the_package() -> None:
    for name in ff_otel.__all__:
        assert getattr(ff_otel, name) is not None, name
    assert set(ff_otel.__all__) <= set(dir(ff_otel))


def test_import_leaves_duckdb_notifiers_pydantic_and_the_cli_unloaded() -> None:
    loaded = _run(
        """
        import sys
        import ff_otel
        heavy = ("duckdb", "pyarrow", "pydantic", "smtplib", "ff_otel.cli", "ff_otel.dashboard",
                 "ff_otel.alerting.notifiers", "opentelemetry.sdk")
        print(sorted(m for m in sys.modules if m.split(".")[0] in heavy or
                     any(m == h or m.startswith(h + ".") for h in heavy)))
        """
    )
    assert loaded == "[]"


def test_functions_named_like_their_submodule_stay_functions() -> None:
    # Importing ff_otel.sql / ff_otel.query (as configure() does) must not
    # rebind the package's sql() and query() to the modules.
    kinds = _run(
        """
        import ff_otel, ff_otel.sql, ff_otel.query, ff_otel.sdk.setup
        from ff_otel import sql
        print(type(ff_otel.sql).__name__, type(ff_otel.query).__name__, type(sql).__name__)
        """
    )
    assert kinds == "function function function"


def test_unknown_name_raises_attribute_error() -> None:
    try:
        ff_otel.not_a_public_name  # noqa: B018
    except AttributeError as exc:
        assert "not_a_public_name" in str(exc)
    else:
        raise AssertionError("no AttributeError")


API_NAMES = (
    # Every name /work/shared/API.md (the public contract) spells as ff_otel.<name>.
    "configure",
    "force_flush",
    "shutdown",
    "FFAnalyticsConfigDTO",
    "instrument",
    "span",
    "counter",
    "histogram",
    "record_user_event",
    "opt_out",
    "opt_in",
    "erase_user",
    "audit",
    "record_security_event",
    "register_health_check",
    "verify_audit_trail",
    "run_retention",
    "FFMetricsCollectionManager",
    "FFConfigurationManagerConfigDTO",
    "AnalyticsProtocol",
    "MonitoringProtocol",
    "FFSystemMetricsDTO",
    "FFUserAnalyticsDTO",
    "FFBusinessIntelligenceDTO",
    "FFAnalyticsAlertDTO",
    "FFAnalyticsPrivacyConfigDTO",
    "FFAnalyticsAlertingConfigDTO",
    "AnalyticsLevel",
    "AggregationPeriod",
    "AlertSeverity",
    "sql",
    "QueryError",
    "FlatfileSpanExporter",
    "FlatfileLogExporter",
    "FlatfileMetricExporter",
)

_ROOT = Path(__file__).resolve().parents[1]
_PAGES = [_ROOT / "README.md", *sorted((_ROOT / "docs").glob("*.md"))]
_FROM_IMPORT = re.compile(r"\bfrom (ff_otel[\w.]*) import (\w+(?:, \w+)*)")


def test_every_name_of_the_public_contract_imports_from_the_package() -> None:
    names = ", ".join(API_NAMES)
    assert _run(f"from ff_otel import {names}\nimport ff_otel.testing\nprint('ok')") == "ok"


def test_every_import_the_readme_and_the_docs_show_works() -> None:
    statements = sorted(
        {found for page in _PAGES for found in _FROM_IMPORT.findall(page.read_text("utf-8"))}
    )
    assert statements, "neither the README nor docs/ shows a `from ff_otel... import ...`"
    code = "\n".join(f"from {module} import {names}" for module, names in statements)
    assert _run(f"{code}\nprint('ok')") == "ok"
