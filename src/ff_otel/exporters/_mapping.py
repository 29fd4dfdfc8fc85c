"""Shared pieces of mapping OTel data onto store records."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.util.types import Attributes

from ff_otel import _clock

COMPONENT_ATTRIBUTE = "ff.component"


class IsoCache:
    """``_clock.ns_to_iso`` with the seconds part remembered.

    A batch holds many timestamps within the same second; formatting the
    date once per second instead of once per stamp roughly halves the cost.
    """

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, epoch_ns: int) -> str:
        second, nanos = divmod(epoch_ns, 1_000_000_000)
        if second != self._second:
            self._second = second
            self._prefix = _clock.ns_to_iso(second * 1_000_000_000)[:19]
        return f"{self._prefix}.{nanos // 1000:06d}Z"


def service_of(resource: Resource | None) -> str:
    if resource is None:
        return "unknown_service"
    return str(resource.attributes.get("service.name", "unknown_service"))


def attributes_dict(attributes: Attributes) -> dict[str, Any]:
    if not attributes:
        return {}
    return {
        key: list(value) if isinstance(value, tuple) else value for key, value in attributes.items()
    }
