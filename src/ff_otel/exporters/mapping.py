"""Shared pieces of mapping OTel data onto store records.

They run for every exported span, metric point and log record, so they take
the fast route where the SDK's own types allow one; every route gives the same
result as the plain one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.util.types import Attributes

from ff_otel.core import clock
from ff_otel.exporters.guard import ExportGuard
from ff_otel.store.limits import Notes

COMPONENT_ATTRIBUTE = "ff.component"

_Item = TypeVar("_Item")
_Record = TypeVar("_Record")


def each_alone(
    items: Sequence[_Item],
    mapping: Callable[[Sequence[_Item]], list[_Record]],
    guard: ExportGuard,
    bounded: Callable[[_Item], _Item] | None = None,
) -> list[_Record]:
    """``mapping(items)``; when that fails, each item mapped alone, so one bad item
    never costs its batch. An item that fails alone is mapped once more as
    ``bounded(item)`` (its values within the limits) when given, else left out
    and counted in ``guard``."""
    try:
        return mapping(items)
    except Exception:
        pass
    records: list[_Record] = []
    for item in items:
        try:
            records.extend(mapping([item]))
            continue
        except Exception as exc:
            fault = exc
        if bounded is not None:
            try:
                records.extend(mapping([bounded(item)]))
                continue
            except Exception as exc:
                fault = exc
        guard.record_fault(fault)
    return records


def limit_text(record: Any, field: str, longest: int, notes: Notes | None) -> Notes:
    """Truncate ``record[field]`` (a string) to ``longest`` characters, noting it."""
    value = record[field]
    record[field] = value[:longest]
    notes = notes or Notes()
    notes.add(field, f"{len(value)} characters, truncated to the limit of {longest}")
    return notes


_THREE_DIGITS = tuple(f"{number:03d}" for number in range(1000))
"""``"000"`` to ``"999"``: looking digits up measured over twice as fast as formatting them."""


class IsoCache:
    """``clock.ns_to_iso`` with the second it last formatted remembered.

    A batch holds many timestamps within the same second; the date and time
    are formatted once per second and only the microseconds once per stamp.
    This runs two or more times per exported span, hence the lookup table.
    """

    __slots__ = ("_second_end", "_second_prefix", "_second_start")

    def __init__(self) -> None:
        # An empty range: the first stamp always formats its second.
        self._second_start = self._second_end = 0
        self._second_prefix = ""

    def __call__(self, epoch_ns: int) -> str:
        second_start = self._second_start
        if not second_start <= epoch_ns < self._second_end:
            second_start = epoch_ns - epoch_ns % 1_000_000_000
            self._second_start, self._second_end = second_start, second_start + 1_000_000_000
            self._second_prefix = clock.ns_to_iso(second_start)[:20]  # "YYYY-MM-DDTHH:MM:SS."
        micros = (epoch_ns - second_start) // 1000
        digits = _THREE_DIGITS
        return f"{self._second_prefix}{digits[micros // 1000]}{digits[micros % 1000]}Z"


def service_of(resource: Resource | None) -> str:
    if resource is None:
        return "unknown_service"
    return str(resource.attributes.get("service.name", "unknown_service"))


def attributes_dict(attributes: Attributes) -> dict[str, Any]:
    """A plain dict copy of OTel attributes (sequence values stay tuples: JSON arrays)."""
    if type(attributes) is BoundedAttributes:
        # Copying the dict inside is about twenty times faster than reading the
        # MutableMapping one Python-level __getitem__ at a time.
        return attributes._dict.copy()
    if not attributes:
        return {}
    return dict(attributes)
