"""Limits applied to every record before it is serialised, and the repair of one that cannot be.

Like the OpenTelemetry SDK's attribute limits (``OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT``,
``OTEL_ATTRIBUTE_COUNT_LIMIT``), a string value longer than ``max_value_length``
is truncated and attributes beyond ``max_attributes`` are left out; ff-otel
adds a nesting depth for structured values (log bodies, user event data) and a
metric cardinality limit per instrument with the OTel spec's overflow series.
What a limit cut is said in the record itself, in ``dropped_values``: a list of
``{"field": ..., "reason": ...}``, so nothing disappears without a trace.

:func:`repair` is the last resort of the appender: a record orjson cannot
serialise (a lone surrogate, an integer beyond 64 bits, nesting orjson refuses)
is rebuilt from JSON-safe values and stored with the same ``dropped_values``
note, so its neighbours in the batch are never lost with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DROPPED_FIELD = "dropped_values"
"""The record field that lists what the limits or a repair cut from the record."""

_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
"""The integers orjson (and JSON readers in general) keep exactly."""
_REPAIR_DEPTH = 64
"""A record being repaired is cut below this depth whatever the limits say (orjson stops at 255)."""
_MAX_NOTES = 32


class RecordLimits(BaseModel):
    """What one stored record may hold; ``configure(limits=...)`` or the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_value_length: int = Field(
        default=32_768,
        ge=1,
        description=(
            "Characters of one string value (also each string in an array, a span name, a status "
            "message, a log body); longer ones are truncated."
        ),
    )
    max_attributes: int = Field(
        default=128,
        ge=1,
        description=(
            "Attributes of one span, span event, log record or metric point (and keys of one "
            "mapping in a body); the rest are left out."
        ),
    )
    max_depth: int = Field(
        default=16,
        ge=1,
        description=(
            "Nesting of a structured value (log body, user event data, audit and security "
            "details); deeper parts are replaced by a marker."
        ),
    )
    max_series_per_instrument: int = Field(
        default=2000,
        ge=2,
        description=(
            "Distinct attribute sets per metric instrument in one process; points of later ones "
            "join the `otel.metric.overflow=true` series."
        ),
    )


DEFAULT_LIMITS = RecordLimits()


class Notes:
    """What the limits cut from one record, as ``dropped_values`` entries."""

    __slots__ = ("entries", "omitted")

    def __init__(self) -> None:
        self.entries: list[dict[str, str]] = []
        self.omitted = 0

    def add(self, field: str, reason: str) -> None:
        if len(self.entries) < _MAX_NOTES:
            self.entries.append({"field": field, "reason": reason})
        else:
            self.omitted += 1

    def attach(self, record: dict[str, Any]) -> None:
        """Add the notes to ``record`` (nothing when there are none)."""
        if not self.entries:
            return
        entries = list(record.get(DROPPED_FIELD) or ()) + self.entries
        if self.omitted:
            entries.append({"field": "*", "reason": f"{self.omitted} more values cut"})
        record[DROPPED_FIELD] = entries


def bound_attributes(
    attributes: dict[str, Any], limits: RecordLimits, notes: Notes | None, where: str
) -> Notes | None:
    """Apply the count and length limits to flat OTel attributes, in place.

    OTel attribute values are primitives or sequences of them, so one pass over
    the values does. Returns ``notes`` (created when something was cut).
    """
    if len(attributes) > limits.max_attributes:
        notes = notes or Notes()
        extra = list(attributes)[limits.max_attributes :]
        for key in extra:
            del attributes[key]
        notes.add(where, f"{len(extra)} attributes beyond the limit of {limits.max_attributes}")
    longest = limits.max_value_length
    for key, value in attributes.items():
        kind = type(value)
        if kind is str:
            if len(value) > longest:
                attributes[key] = value[:longest]
                notes = notes or Notes()
                notes.add(f"{where}.{key}", _truncated(len(value), longest))
        elif (kind is tuple or kind is list) and any(
            type(item) is str and len(item) > longest for item in value
        ):
            attributes[key] = [item[:longest] if type(item) is str else item for item in value]
            notes = notes or Notes()
            notes.add(f"{where}.{key}", f"array items truncated to {longest} characters")
    return notes


def bound_value(value: Any, limits: RecordLimits, notes: Notes, where: str) -> Any:
    """A structured value within the depth, length and count limits, keys made strings.

    Runs before scrubbing (which walks the value recursively) and before
    serialising, so neither meets a value nested thousands deep.
    """
    kind = type(value)
    if kind is str:
        return _bounded_text(value, limits.max_value_length, notes, where)
    if value is None or kind is bool or kind is int or kind is float:
        return value
    return _bounded(value, limits, notes, where, 1)


def _bounded(value: Any, limits: RecordLimits, notes: Notes, where: str, depth: int) -> Any:
    if isinstance(value, str):
        return _bounded_text(value, limits.max_value_length, notes, where)
    if type(value) is dict or isinstance(value, Mapping):
        if depth > limits.max_depth:
            notes.add(where, f"nested deeper than {limits.max_depth} levels")
            return f"[dropped: nested deeper than {limits.max_depth} levels]"
        plain = _plain_copy(value, limits, depth)
        if plain is not None:
            return plain
        out: dict[str, Any] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= limits.max_attributes:
                notes.add(
                    where, f"{len(value) - index} keys beyond the limit of {limits.max_attributes}"
                )
                break
            name = key if type(key) is str else _key_text(key)
            out[name] = _bounded(item, limits, notes, f"{where}.{name}", depth + 1)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        if depth > limits.max_depth:
            notes.add(where, f"nested deeper than {limits.max_depth} levels")
            return f"[dropped: nested deeper than {limits.max_depth} levels]"
        items = list(value)
        if len(items) > limits.max_attributes:
            notes.add(
                where,
                f"{len(items) - limits.max_attributes} items beyond the limit of "
                f"{limits.max_attributes}",
            )
            items = items[: limits.max_attributes]
        return [_bounded(item, limits, notes, f"{where}[]", depth + 1) for item in items]
    return value


_SCALARS = frozenset({int, float, bool, type(None)})


def _plain_copy(value: Mapping[Any, Any], limits: RecordLimits, depth: int) -> Any:
    """A copy of a map that no limit touches, or None when one might.

    Nearly every event's data is a flat map of strings, numbers and lists of
    them with string keys: this says so in one pass, without the per-value
    walk (and its notes) that the general case needs.
    """
    longest, most = limits.max_value_length, limits.max_attributes
    if len(value) > most:
        return None
    lists_fit = depth + 1 <= limits.max_depth
    scalars = _SCALARS
    out: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            return None
        kind = type(item)
        if kind is str:
            if len(item) > longest:
                return None
        elif kind is list:
            if not lists_fit or len(item) > most:
                return None
            for element in item:
                element_kind = type(element)
                if element_kind is str:
                    if len(element) > longest:
                        return None
                elif element_kind not in scalars:
                    return None
            item = list(item)
        elif kind not in scalars:
            return None
        out[key] = item
    return out


def _bounded_text(text: str, longest: int, notes: Notes, where: str) -> str:
    if len(text) > longest:
        notes.add(where, _truncated(len(text), longest))
        return text[:longest]
    return text


def _truncated(length: int, longest: int) -> str:
    return f"{length} characters, truncated to the limit of {longest}"


def _key_text(key: Any) -> str:
    return key.decode("utf-8", "backslashreplace") if isinstance(key, bytes) else str(key)


def repair(record: Mapping[str, Any], error: str) -> dict[str, Any]:
    """A copy of ``record`` made of values every JSON encoder takes, noting what changed.

    Lone surrogates become their ``\\udcff`` escape text, integers beyond 64
    bits their decimal text, non-string keys their text, anything nested
    deeper than 64 levels a marker; ``error`` is why serialising failed.
    """
    notes = Notes()
    fixed = _repaired(record, notes, "", 0)
    if not isinstance(fixed, dict):
        fixed = {"value": fixed}
    if not notes.entries:
        notes.add("*", f"not serialisable: {error}")
    notes.attach(fixed)
    return fixed


def _repaired(value: Any, notes: Notes, where: str, depth: int) -> Any:
    if isinstance(value, str):
        return _valid_text(value, notes, where)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        if _INT_MIN <= value <= _INT_MAX:
            return value
        notes.add(where, "integer beyond 64 bits, stored as its decimal text")
        return str(value)
    if depth >= _REPAIR_DEPTH and isinstance(value, (Mapping, list, tuple, set, frozenset)):
        notes.add(where, f"nested deeper than {_REPAIR_DEPTH} levels")
        return f"[dropped: nested deeper than {_REPAIR_DEPTH} levels]"
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key if isinstance(key, str) else _key_text(key)
            name = _valid_text(name, notes, f"{where}.<key>")
            out[name] = _repaired(item, notes, f"{where}.{name}" if where else name, depth + 1)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_repaired(item, notes, f"{where}[]", depth + 1) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return _valid_text(str(value), notes, where)


def _valid_text(text: str, notes: Notes, where: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        notes.add(where, "lone surrogate, stored as its escape text")
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
