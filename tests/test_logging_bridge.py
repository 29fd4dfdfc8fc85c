"""The stdlib logging bridge: records reach the store's files with trace context, scrubbed."""

from __future__ import annotations

import logging
import logging.config
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

import ff_otel
from ff_otel import ConfigError
from ff_otel.instrumentation import logging_bridge
from ff_otel.instrumentation.logging_bridge import LoggingBridge

from .conftest import records

_log = logging.getLogger("shop.orders")


def _configure(base_path: Path, **kwargs: Any) -> ff_otel.FFOtel:
    return ff_otel.configure(
        base_path=base_path, service_name="shop", system_metrics=False, **kwargs
    )


def _bridges() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, LoggingBridge)]


def _app_logs(handle: ff_otel.FFOtel) -> list[dict[str, Any]]:
    assert ff_otel.force_flush()
    return [r for r in records(handle.layout.logs) if r["event_name"] is None]


def test_records_carry_the_active_trace_context_and_extra_fields(base_path: Path) -> None:
    handle = _configure(base_path, logging=True)
    with ff_otel.span("checkout") as span:
        _log.info("order %s placed", 42, extra={"order_id": 42, "items": ["a", "b"]})
    _log.warning("outside any span")

    inside, outside = _app_logs(handle)
    (stored_span,) = records(handle.layout.spans)
    context = span.get_span_context()
    assert inside["trace_id"] == stored_span["trace_id"] == f"{context.trace_id:032x}"
    assert inside["span_id"] == stored_span["span_id"] == f"{context.span_id:016x}"
    assert inside["body"] == "order 42 placed"
    assert inside["severity"] == "INFO"
    assert inside["scope"] == "shop.orders"
    assert inside["service"] == "shop"
    assert inside["attributes"]["order_id"] == 42
    assert inside["attributes"]["items"] == ["a", "b"]
    assert inside["attributes"]["code.function.name"] == (
        "test_records_carry_the_active_trace_context_and_extra_fields"
    )
    assert outside["trace_id"] is None and outside["span_id"] is None
    assert outside["severity"] == "WARN"


def test_secrets_in_extra_or_message_never_reach_the_files(base_path: Path) -> None:
    handle = _configure(base_path, logging=True)
    secrets = ["hunter2-secret", "carol@example.com", "tok-9f8e7d6c5b4a", "dave@example.org"]
    _log.error(
        "login failed for carol@example.com",
        extra={
            "password": "hunter2-secret",
            "api_token": "tok-9f8e7d6c5b4a",
            "email": "dave@example.org",
            "attempt": 3,
        },
    )
    (stored,) = _app_logs(handle)
    assert stored["attributes"]["attempt"] == 3
    assert stored["attributes"]["password"].startswith("[REDACTED")
    assert stored["attributes"]["api_token"].startswith("[REDACTED")
    assert "carol@example.com" not in stored["body"]
    errors = [r for r in records(handle.layout.error_rates) if r["record_type"] == "log_error"]
    assert [r["body"] for r in errors] == [stored["body"]]
    for path in (handle.layout.logs, handle.layout.error_rates):
        text = path.read_text()
        for secret in secrets:
            assert secret not in text, f"{secret} reached {path.name}"


def test_exception_details_become_attributes(base_path: Path) -> None:
    handle = _configure(base_path, logging=True)
    try:
        {}["missing"]
    except KeyError:
        _log.exception("lookup failed")
    (stored,) = _app_logs(handle)
    assert stored["severity"] == "ERROR"
    assert stored["attributes"]["exception.type"] == "KeyError"
    assert "Traceback" in stored["attributes"]["exception.stacktrace"]
    assert records(handle.layout.error_rates)[0]["body"] == "lookup failed"


def test_off_by_default(base_path: Path) -> None:
    handle = _configure(base_path)
    _log.error("not bridged")
    assert _bridges() == []
    assert _app_logs(handle) == []


def test_level_is_configurable_and_the_root_level_is_restored(base_path: Path) -> None:
    root = logging.getLogger()
    before = root.level
    handle = _configure(base_path, logging=True, logging_level="debug")
    assert handle.settings.logging_level == "DEBUG"
    assert root.level == logging.DEBUG
    _log.debug("debug kept")

    handle = _configure(base_path, logging=True, logging_level="WARNING")
    _log.info("info dropped")
    _log.warning("warning kept")
    assert [r["body"] for r in _app_logs(handle)] == ["debug kept", "warning kept"]

    ff_otel.shutdown()
    assert root.level == before
    assert _bridges() == []


def test_an_unknown_level_is_a_clear_error_and_changes_nothing(base_path: Path) -> None:
    running = _configure(base_path, logging=True)
    with pytest.raises(ConfigError, match=r"logging_level.*'LOUD'"):
        _configure(base_path, logging=True, logging_level="LOUD")
    assert ff_otel.current() is running
    assert _bridges() == [running.log_bridge]


def test_reconfiguring_keeps_exactly_one_handler(tmp_path: Path) -> None:
    first = _configure(tmp_path / "first", logging=True)
    second = _configure(tmp_path / "second", logging=True)
    assert _bridges() == [second.log_bridge]
    _log.warning("once")
    assert [r["body"] for r in _app_logs(second)] == ["once"]
    assert records(first.layout.logs) == []

    _configure(tmp_path / "second", logging=False)
    assert _bridges() == []
    _configure(tmp_path / "second", logging=True)
    ff_otel.shutdown()
    assert _bridges() == []
    ff_otel.shutdown()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"FF_OTEL_LOGGING": "true", "FF_OTEL_LOGGING_LEVEL": "error"}, (True, "ERROR")),
        ({"OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "true"}, (True, "INFO")),
        ({"OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "false"}, (False, "INFO")),
        (
            {
                "FF_OTEL_LOGGING": "false",
                "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "true",
            },
            (False, "INFO"),
        ),
    ],
)
def test_environment_switches_the_bridge(
    base_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    environ: dict[str, str],
    expected: tuple[bool, str],
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    handle = _configure(base_path)
    assert (handle.settings.logging, handle.settings.logging_level) == expected
    assert (handle.log_bridge is not None) == expected[0]


def test_toml_file_switches_the_bridge(
    base_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ff_otel.toml"
    config.write_text('[ff_otel]\nlogging = true\nlogging_level = "ERROR"\n')
    monkeypatch.setenv("FF_OTEL_CONFIG", str(config))
    handle = _configure(base_path)
    _log.warning("below the file's level")
    _log.error("stored")
    assert [r["body"] for r in _app_logs(handle)] == ["stored"]


def test_bad_level_in_the_environment_names_it(
    base_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FF_OTEL_LOGGING_LEVEL", "chatty")
    with pytest.raises(ConfigError, match=r"logging_level.*'chatty'"):
        _configure(base_path, logging=True)


def test_own_loggers_are_not_bridged_and_exporter_faults_do_not_feed_back(
    base_path: Path,
) -> None:
    handle = _configure(base_path, logging=True)
    logging.getLogger("ff_otel.exporters").error("ff-otel's own report")
    logging.getLogger("opentelemetry.sdk._logs").warning("the SDK's own report")
    _log.warning("the application's")
    assert [r["body"] for r in _app_logs(handle)] == ["the application's"]

    # A store file that cannot be appended to: the exporter reports the fault
    # on ff-otel's logger. Fed back, each report would be a new failing record.
    handle.layout.logs.unlink()
    handle.layout.logs.mkdir()
    _log.warning("cannot be stored")
    ff_otel.force_flush()
    failures = handle.export_stats()["logs"].failures
    assert failures >= 1
    for _ in range(3):
        ff_otel.force_flush()
    assert handle.export_stats()["logs"].failures == failures


def test_a_record_that_cannot_be_translated_never_raises_into_the_app(
    base_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = _configure(base_path, logging=True)
    # Other handlers (pytest's) print their own formatting error; that is theirs.
    monkeypatch.setattr(logging, "raiseExceptions", False)
    _log.warning("%d items", "not a number")
    _log.warning("after the bad one")
    assert handle.log_bridge is not None
    assert handle.log_bridge.guard.stats.failures == 1
    assert [r["body"] for r in _app_logs(handle)] == ["after the bad one"]


def test_values_the_sdk_cannot_store_are_kept_as_text(base_path: Path) -> None:
    handle = _configure(base_path, logging=True)

    class Order:
        def __str__(self) -> str:
            return "Order#7"

    _log.warning("placed", extra={"order": Order()})
    (stored,) = _app_logs(handle)
    assert stored["attributes"]["order"] == "Order#7"


def test_a_later_dict_config_keeps_the_bridge(base_path: Path) -> None:
    root = logging.getLogger()
    handle = _configure(base_path, logging=True)
    before = list(root.handlers)
    try:
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "root": {"level": "INFO", "handlers": []},
            }
        )
        assert _bridges() == [handle.log_bridge]
        _log.info("still bridged")
        assert [r["body"] for r in _app_logs(handle)] == ["still bridged"]
    finally:
        for handler in before:
            if handler not in root.handlers:
                root.addHandler(handler)


@pytest.fixture
def stdlib_structlog() -> Iterator[None]:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.render_to_log_kwargs,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.mark.usefixtures("stdlib_structlog")
def test_structlog_through_its_stdlib_integration(base_path: Path) -> None:
    handle = _configure(base_path, logging=True)
    log = structlog.get_logger("shop.payments")
    structlog.contextvars.bind_contextvars(request_id="req-1")
    with ff_otel.span("pay") as span:
        log.warning(
            "payment declined",
            order_id=9,
            card_number="4111 1111 1111 1111",
            email="erin@example.com",
        )
    log.debug("below the level")

    (stored,) = _app_logs(handle)
    assert stored["body"] == "payment declined"
    assert stored["scope"] == "shop.payments"
    assert stored["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    attributes = stored["attributes"]
    assert attributes["order_id"] == 9
    assert attributes["request_id"] == "req-1"
    assert attributes["card_number"].startswith("[REDACTED")
    text = handle.layout.logs.read_text()
    assert "4111 1111 1111 1111" not in text and "erin@example.com" not in text


_UNCONFIGURED_APP = textwrap.dedent(
    """
    import logging, sys
    import ff_otel

    handle = ff_otel.configure(
        base_path=sys.argv[1], system_metrics=False, logging=True, logging_level="ERROR"
    )
    logging.getLogger("app").warning("printed as before")
    logging.getLogger("ff_otel.exporters").error("ff-otel's own error, printed")
    logging.getLogger("app").error("printed and stored")
    ff_otel.shutdown()
    print([r["body"] for r in ff_otel.read_records(handle.layout.logs)])
    """
)


def test_an_app_without_logging_config_still_prints_its_warnings(base_path: Path) -> None:
    # Python prints WARNING and above to stderr when no handler saw a record;
    # the bridge must not silence that (pytest's own handlers hide it here, so
    # a real process without any logging set-up shows it).
    run = subprocess.run(
        [sys.executable, "-c", _UNCONFIGURED_APP, str(base_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    # Other lines (warnings of other libraries) may come and go; these must be there, once.
    assert [line for line in run.stderr.splitlines() if "printed" in line] == [
        "printed as before",
        "ff-otel's own error, printed",
        "printed and stored",
    ]
    assert run.stdout.strip() == "['printed and stored']"


_BASIC_CONFIG_AFTERWARDS = textwrap.dedent(
    """
    import logging, sys
    import ff_otel

    handle = ff_otel.configure(base_path=sys.argv[1], system_metrics=False, logging=True)
    logging.basicConfig(format="console: %(message)s", level=logging.INFO)
    logging.getLogger("app").info("to the console and the store")
    ff_otel.shutdown()
    print([r["body"] for r in ff_otel.read_records(handle.layout.logs)])
    """
)


def test_basic_config_after_configure_still_adds_its_console_handler(base_path: Path) -> None:
    # basicConfig does nothing when the root logger already has a handler.
    run = subprocess.run(
        [sys.executable, "-c", _BASIC_CONFIG_AFTERWARDS, str(base_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert [line for line in run.stderr.splitlines() if line.startswith("console:")] == [
        "console: to the console and the store"
    ]
    assert run.stdout.strip() == "['to the console and the store']"


def test_detach_is_safe_for_a_bridge_already_replaced(base_path: Path) -> None:
    first = _configure(base_path, logging=True)
    second = _configure(base_path, logging=True)
    assert first.log_bridge is not None
    logging_bridge.detach(first.log_bridge)
    assert logging_bridge.attached() is second.log_bridge
