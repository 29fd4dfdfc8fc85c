"""The one clock: UTC instants and their fixed-width ISO-8601 text form.

Every stored timestamp uses ``YYYY-MM-DDTHH:MM:SS.ffffffZ``. The fixed width
means two stamps compare as strings exactly as they compare as instants, so the
reader filters time ranges without parsing every line.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


def now_iso() -> str:
    """The current instant in the store's timestamp form."""
    return format_iso(now())


def format_iso(instant: datetime) -> str:
    """``instant`` in the store's form; a naive datetime is taken as UTC."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC).strftime(_ISO_FORMAT)


def ns_to_iso(epoch_ns: int) -> str:
    """An OTel nanosecond epoch timestamp in the store's form."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos // 1000:06d}Z"


def epoch_to_iso(seconds: float) -> str:
    """A Unix time in seconds in the store's form."""
    return ns_to_iso(round(seconds * 1_000_000) * 1000)


def parse_instant(value: datetime | str) -> datetime:
    """An aware UTC datetime from a datetime or an ISO-8601 string.

    Naive values are taken as UTC. Raises ``ValueError`` naming the value when
    the text is not ISO-8601.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO-8601 timestamp: {value!r}") from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_iso(value: datetime | str) -> str:
    """Normalise a datetime or ISO string to the store's timestamp form."""
    return format_iso(parse_instant(value))
