"""The one clock: UTC instants and their fixed-width ISO-8601 text form.

Every stored timestamp uses ``YYYY-MM-DDTHH:MM:SS.ffffffZ``. The fixed width
means two stamps compare as strings exactly as they compare as instants, so the
reader filters time ranges without parsing every line.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


_second_prefix: tuple[int, str] = (-1, "")


def now_iso() -> str:
    """The current instant in the store's timestamp form.

    Called for every record written; the date and time of day are formatted
    once per second (the tuple swap is atomic, so threads may share it).
    """
    global _second_prefix
    second, nanos = divmod(time.time_ns(), 1_000_000_000)
    cached = _second_prefix
    if cached[0] != second:
        cached = _second_prefix = (second, ns_to_iso(second * 1_000_000_000)[:19])
    return f"{cached[1]}.{nanos // 1000:06d}Z"


def format_iso(instant: datetime) -> str:
    """``instant`` in the store's form; a naive datetime is taken as UTC."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    elif instant.tzinfo is not UTC:
        instant = instant.astimezone(UTC)
    # Formatting the fields directly measured several times faster than strftime.
    return (
        f"{instant.year:04d}-{instant.month:02d}-{instant.day:02d}T"
        f"{instant.hour:02d}:{instant.minute:02d}:{instant.second:02d}."
        f"{instant.microsecond:06d}Z"
    )


def ns_to_iso(epoch_ns: int) -> str:
    """An OTel nanosecond epoch timestamp in the store's form."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    t = time.gmtime(seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{nanos // 1000:06d}Z"
    )


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
