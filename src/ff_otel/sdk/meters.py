"""Thin helpers over the OTel meter: ``ff_otel.counter("x").add(1)``.

Instruments are cached by name, so calling a helper on every request costs a
dict look-up, and they come from the switchable provider, so one created
before ``configure()`` (or before a reconfigure) records into the current store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from opentelemetry.metrics import Counter, Histogram, Meter, UpDownCounter

from ff_otel.sdk.global_providers import switch_meter_provider

_METER_NAME = "ff_otel"
_instruments: dict[tuple[str, str, str, str], Any] = {}
_lock = threading.Lock()
_meter: Meter | None = None

InstrumentT = TypeVar("InstrumentT")


def meter() -> Meter:
    """The meter behind the helpers (switchable across reconfiguration)."""
    global _meter
    if _meter is None:
        _meter = switch_meter_provider.get_meter(_METER_NAME)
    return _meter


def _cached(
    kind: str, name: str, unit: str, description: str, create: Callable[[], InstrumentT]
) -> InstrumentT:
    key = (kind, name, unit, description)
    instrument = _instruments.get(key)
    if instrument is None:
        with _lock:
            instrument = _instruments.get(key)
            if instrument is None:
                instrument = _instruments[key] = create()
    return instrument


def counter(name: str, unit: str = "", description: str = "") -> Counter:
    """A monotonic counter (``.add(n, attributes)``)."""
    return _cached(
        "counter", name, unit, description, lambda: meter().create_counter(name, unit, description)
    )


def up_down_counter(name: str, unit: str = "", description: str = "") -> UpDownCounter:
    """A counter that can go down (queue depth, open sessions)."""
    return _cached(
        "up_down_counter",
        name,
        unit,
        description,
        lambda: meter().create_up_down_counter(name, unit, description),
    )


def histogram(
    name: str,
    unit: str = "",
    description: str = "",
    *,
    buckets: Sequence[float] | None = None,
) -> Histogram:
    """A distribution (``.record(value, attributes)``); ``buckets`` are explicit bounds."""
    return _cached(
        "histogram",
        name,
        unit,
        description,
        lambda: meter().create_histogram(
            name, unit, description, explicit_bucket_boundaries_advisory=buckets
        ),
    )
