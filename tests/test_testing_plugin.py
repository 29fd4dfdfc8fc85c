"""The ff_otel.testing plugin as a user meets it: their own test files, run by pytest in a
subprocess, with the plugin loaded through its ``pytest11`` entry point (no conftest)."""

from __future__ import annotations

import textwrap

import pytest

_SHOP = """
import logging

import pytest

import ff_otel
from ff_otel.testing import Capture

log = logging.getLogger("shop.orders")


@ff_otel.instrument(component="orders")
def place_order(order_id: int, items: int) -> str:
    ff_otel.counter("orders.placed").add(1, {"channel": "web"})
    log.info("order %s placed", order_id, extra={"items": items})
    return f"order-{order_id}"


@ff_otel.instrument
def refund(order_id: int) -> None:
    raise ValueError(f"order {order_id} cannot be refunded")


def test_an_instrumented_function_records_a_span(ff_otel_capture: Capture) -> None:
    assert place_order(7, items=2) == "order-7"
    span = ff_otel_capture.assert_span(
        "place_order", attributes={"ff.component": "orders"}, status="ok"
    )
    assert span["service"] == "test-service"
    (record,) = ff_otel_capture.logs()
    assert record["body"] == "order 7 placed"
    assert record["attributes"]["items"] == 2
    assert (record["trace_id"], record["span_id"]) == (span["trace_id"], span["span_id"])


def test_a_raised_error_is_on_the_span(ff_otel_capture: Capture) -> None:
    with pytest.raises(ValueError):
        refund(3)
    span = ff_otel_capture.assert_span("refund", status="error")
    assert "cannot be refunded" in span["status_message"]
    assert [s["name"] for s in ff_otel_capture.spans("refund")] == ["refund"]


def test_a_user_event_is_stored_under_a_pseudonym(ff_otel_capture: Capture) -> None:
    assert ff_otel.record_user_event(
        "alice@example.com", "sess-1", "feature_usage", {"feature": "export"}
    )
    (event,) = ff_otel_capture.user_events("feature_usage")
    assert event["features_used"] == ["export"]
    assert event["user_hash"].startswith("u_")
    assert "alice@example.com" not in repr(event)
    assert ff_otel_capture.user_events("session_start") == []


def test_a_counter_adds_up(ff_otel_capture: Capture) -> None:
    for order_id in range(3):
        place_order(order_id, items=1)
    assert ff_otel_capture.counter_total("orders.placed") == 3
    place_order(9, items=1)
    assert ff_otel_capture.counter_total("orders.placed", {"channel": "web"}) == 4
    assert ff_otel_capture.counter_total("orders.placed", {"channel": "shop"}) == 0
    assert {p["type"] for p in ff_otel_capture.metrics("orders.placed")} == {"sum"}


def test_a_missing_span_fails_with_what_was_recorded(ff_otel_capture: Capture) -> None:
    place_order(1, items=1)
    with pytest.raises(AssertionError, match="no span 'place_order' with attributes") as info:
        ff_otel_capture.assert_span("place_order", attributes={"ff.component": "billing"})
    assert "'ff.component': 'orders'" in str(info.value)
    with pytest.raises(AssertionError, match="names: \\\\['place_order'\\\\]"):
        ff_otel_capture.assert_span("ship_order")


def test_each_test_has_its_own_store(ff_otel_capture: Capture, tmp_path) -> None:
    assert ff_otel_capture.base_path == tmp_path / "ff_otel"
    assert ff_otel_capture.layout.spans.is_file()
    assert ff_otel_capture.spans() == []


def test_ff_otel_is_shut_down_after_a_capture_test() -> None:
    assert ff_otel.current() is None
"""

_ALERTS = """
import pytest

import ff_otel
from ff_otel.testing import DEFAULT_CONFIG, Capture


@pytest.fixture
def ff_otel_config() -> dict:
    rule = ff_otel.AlertRule(name="big_refund", series="metric:refunds.amount", threshold=100)
    return {**DEFAULT_CONFIG, "service_name": "payments", "alert_rules": [rule]}


def test_own_settings_and_an_alert(ff_otel_capture: Capture) -> None:
    with ff_otel.span("refund"):
        ff_otel.counter("refunds.amount").add(250)
    assert ff_otel_capture.assert_span("refund")["service"] == "payments"
    fired = [a for a in ff_otel_capture.alerts("big_refund") if a["event"] == "fired"]
    assert len(fired) == 1
    assert fired[0]["current_value"] == 250
    assert ff_otel_capture.alerts("no_such_rule") == []
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=300)


def test_a_users_tests_pass_with_the_plugin_from_its_entry_point(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_shop=textwrap.dedent(_SHOP), test_payments=textwrap.dedent(_ALERTS))
    result = _run(pytester, "-q")
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=8)


def test_the_fixture_comes_from_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_one="def test_capture(ff_otel_capture):\n    assert ff_otel_capture.spans() == []\n"
    )
    result = _run(pytester, "-q", "-p", "no:ff_otel")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'ff_otel_capture' not found*"])


def test_a_disabled_ff_otel_fails_the_test_with_the_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    pytester.makepyfile(
        test_one="def test_capture(ff_otel_capture):\n    assert ff_otel_capture.spans() == []\n"
    )
    result = _run(pytester, "-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ff-otel is disabled*so ff_otel_capture would capture nothing*"])
