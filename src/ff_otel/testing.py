"""pytest plugin for users testing their own instrumentation (registered via ``pytest11``).

Installing ff-otel makes two fixtures available to every test suite::

    def test_checkout_is_traced(ff_otel_capture):
        checkout(cart)                      # code decorated with @ff_otel.instrument
        span = ff_otel_capture.assert_span("checkout", attributes={"cart.items": 3})
        assert span["status"] == "ok"

``ff_otel_capture``
    configures ff-otel into a fresh store under the test's ``tmp_path`` and
    yields a :class:`Capture`: the spans, metric points, logs, user events and
    alerts recorded so far, read from the store's real files after a flush.
    ff-otel is shut down when the test ends.
``ff_otel_config``
    the keyword arguments the capture passes to :func:`ff_otel.configure`
    (``base_path`` excepted). Override it in a ``conftest.py`` to test with
    your own settings; :data:`DEFAULT_CONFIG` is the starting point.

Everything read is what the store holds: attribute values have passed the
scrubber (a user id appears as its pseudonym, a password as a redaction).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from ff_otel.sdk.setup import FFOtel, configure, shutdown
from ff_otel.spec.models import LogRecordRecord, MetricPointRecord, SpanRecord
from ff_otel.store.layout import StoreLayout
from ff_otel.store.reader import read_records

DEFAULT_CONFIG: Mapping[str, Any] = {
    "service_name": "test-service",
    "system_metrics": False,
    "logging": True,
}
"""What ``ff_otel_config`` returns unless overridden: no psutil sampling (it is
host noise in a test), standard ``logging`` records captured at INFO."""

_FLUSH_TIMEOUT_MILLIS = 30_000


@dataclass(frozen=True)
class Capture:
    """What a test recorded, read from its temporary store.

    Every reader flushes first, so it sees everything recorded until the call.
    """

    handle: FFOtel

    @property
    def layout(self) -> StoreLayout:
        """Paths of the temporary store (``layout.spans``, ``layout.logs``, ...)."""
        return self.handle.layout

    @property
    def base_path(self) -> Path:
        """The temporary store's root, under the test's ``tmp_path``."""
        return self.handle.layout.base_path

    def flush(self) -> None:
        """Write everything recorded so far to the files; fails the test if that times out."""
        if not self.handle.force_flush(_FLUSH_TIMEOUT_MILLIS):
            pytest.fail(f"ff-otel did not flush within {_FLUSH_TIMEOUT_MILLIS / 1000:.0f} s")

    def records(self, path: Path) -> list[dict[str, Any]]:
        """Every record of one of the store's streams, e.g. ``records(layout.audit_logs)``."""
        self.flush()
        return list(read_records(path))

    def spans(self, name: str | None = None) -> list[SpanRecord]:
        """Finished spans in the order they ended, only those called ``name`` when given."""
        spans: list[Any] = self.records(self.layout.spans)
        return [span for span in spans if name is None or span["name"] == name]

    def metrics(self, name: str | None = None) -> list[MetricPointRecord]:
        """Metric points exported so far, only those of metric ``name`` when given."""
        points: list[Any] = self.records(self.layout.metrics)
        return [point for point in points if name is None or point["name"] == name]

    def logs(self) -> list[LogRecordRecord]:
        """Log records: the standard ``logging`` module's and OTel loggers'."""
        logs: list[Any] = self.records(self.layout.logs)
        return logs

    def user_events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Stored user events (``record_user_event``), only of ``event_type`` when given."""
        return [
            event
            for event in self.records(self.layout.behavior_patterns)
            if event_type is None or event.get("event_type") == event_type
        ]

    def alerts(self, rule: str | None = None) -> list[dict[str, Any]]:
        """Alert lifecycle records, oldest first, only rule ``rule``'s when given.

        Each has ``alert_id``, ``rule``, ``severity``, ``state`` and ``event``
        (``pending``, ``fired``, ``escalated``, ``acknowledged``, ``resolved``).
        Rules are evaluated at every flush, and one on a per-interval total
        (``metric:<name>``) resolves at the next evaluation where it no longer
        holds, so look for ``event == "fired"`` rather than the last state.
        """
        return [
            record
            for record in self.records(self.layout.alerts)
            if record.get("rule") and (rule is None or record["rule"] == rule)
        ]

    def counter_total(self, name: str, attributes: Mapping[str, Any] | None = None) -> float:
        """What counter (or up-down counter) ``name`` adds up to now.

        Only points whose attributes include ``attributes`` count. Counters are
        stored as per-interval deltas, which are added; up-down counters as
        running totals, of which the latest per attribute set is taken.
        """
        deltas = 0.0
        latest: dict[tuple[tuple[str, str], ...], float] = {}
        for point in self.metrics(name):
            if point.get("type") != "sum" or not _includes(point.get("attributes", {}), attributes):
                continue
            if point.get("temporality") == "delta":
                deltas += point.get("value", 0.0)
            else:
                key = tuple(sorted((k, repr(v)) for k, v in point.get("attributes", {}).items()))
                latest[key] = point.get("value", 0.0)
        return deltas + sum(latest.values())

    def assert_span(
        self,
        name: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        status: Literal["ok", "error"] | None = None,
    ) -> SpanRecord:
        """The first span called ``name`` with these attributes (and status); else fail.

        The failure message lists the spans that were recorded, so a wrong name
        or a missing attribute shows at once.
        """
        __tracebackhide__ = True
        spans = self.spans()
        for span in spans:
            if (
                span["name"] == name
                and _includes(span["attributes"], attributes)
                and (status is None or span["status"] == status)
            ):
                return span
        wanted = f"span {name!r}"
        if attributes:
            wanted += f" with attributes {dict(attributes)!r}"
        if status:
            wanted += f" and status {status!r}"
        same_name = [
            f"  {span['name']!r} status={span['status']!r} attributes={span['attributes']!r}"
            for span in spans
            if span["name"] == name
        ]
        seen = "\n".join(same_name) or f"  names: {sorted({span['name'] for span in spans})!r}"
        raise AssertionError(f"no {wanted} was recorded; recorded spans:\n{seen}")


def _includes(actual: Mapping[str, Any], expected: Mapping[str, Any] | None) -> bool:
    return not expected or all(
        key in actual and actual[key] == value for key, value in expected.items()
    )


@pytest.fixture
def ff_otel_config() -> dict[str, Any]:
    """Keyword arguments for ``ff_otel.configure()`` used by ``ff_otel_capture``.

    Override in a ``conftest.py``, e.g.
    ``return {**ff_otel.testing.DEFAULT_CONFIG, "service_name": "checkout"}``.
    """
    return dict(DEFAULT_CONFIG)


@pytest.fixture
def ff_otel_capture(tmp_path: Path, ff_otel_config: Mapping[str, Any]) -> Iterator[Capture]:
    """ff-otel configured into ``tmp_path / "ff_otel"`` for one test, shut down after it.

    It replaces any configuration the process had; ff-otel is left shut down.
    """
    if "base_path" in ff_otel_config:
        raise pytest.UsageError(
            "ff_otel_config must not set base_path: ff_otel_capture stores under tmp_path"
        )
    handle = configure(base_path=tmp_path / "ff_otel", **ff_otel_config)
    if not handle.enabled:
        shutdown()
        pytest.fail(
            "ff-otel is disabled (FF_OTEL_DISABLED or OTEL_SDK_DISABLED is set), "
            "so ff_otel_capture would capture nothing"
        )
    try:
        yield Capture(handle)
    finally:
        shutdown()
