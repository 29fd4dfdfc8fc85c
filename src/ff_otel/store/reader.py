"""The one reader: streams records from a JSONL stream and its rotated segments.

A stream is the active file plus any rotated segments beside it
(``<name>.<stamp>.jsonl``, ``.jsonl.gz`` or, compacted, ``.parquet``), read
oldest first. Lines are read
one at a time, never the whole file. A line that is not a complete JSON object
(a writer killed mid-line) is skipped and counted in :class:`ReadStats`; a
field of the wrong type is removed and counted (see :mod:`ff_otel.store.schema`).

Time filtering compares the store's fixed-width ISO timestamps as strings,
which orders them exactly as instants.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson

from ff_otel.core import clock
from ff_otel.store.parquet import parquet_records, parquet_twin
from ff_otel.store.schema import drop_invalid, fields_of, stream_of


@dataclass
class ReadStats:
    """What a read saw: good records, skipped torn lines, segments opened."""

    records: int = 0
    torn_lines: int = 0
    segments: int = 0
    invalid_fields: int = 0
    """Fields removed from records read because their value had the wrong type."""


def segment_paths(path: Path) -> list[Path]:
    """The stream's files, oldest first: rotated and compacted segments, then the active file.

    Rotated JSONL is listed before compacted Parquet and a JSONL segment whose
    Parquet twin exists is left out: compaction renames the Parquet into place
    before it removes the JSONL, so this listing names every record once.
    """
    stem = path.name.removesuffix(".jsonl")
    rotated = [
        p
        for p in path.parent.glob(f"{stem}.*.jsonl*")
        if p.name.endswith((".jsonl", ".jsonl.gz")) and p != path
    ]
    compacted = set(path.parent.glob(f"{stem}.*.parquet"))
    kept = [p for p in rotated if parquet_twin(p) not in compacted]
    segments = sorted([*kept, *compacted])
    return [*segments, path] if path.exists() else segments


class RecordStream:
    """An iterable over one stream's records in a time range; ``stats`` fills as it goes."""

    def __init__(
        self,
        path: Path | str,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        time_field: str = "timestamp",
    ) -> None:
        self.path = Path(path)
        self.start = clock.to_iso(start) if start is not None else None
        self.end = clock.to_iso(end) if end is not None else None
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"time range is reversed: start {self.start} is after end {self.end}")
        self.time_field = time_field
        self.stats = ReadStats()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for segment in segment_paths(self.path):
            if segment.name.endswith(".parquet"):
                yield from self._parquet_records(segment)
                continue
            try:
                handle = _open_segment(segment)
            except FileNotFoundError:
                if parquet_twin(segment).exists():  # compacted between listing and opening
                    yield from self._parquet_records(parquet_twin(segment))
                continue  # rotated away or deleted between listing and opening
            self.stats.segments += 1
            with handle:
                yield from self._records(handle)

    def _parquet_records(self, segment: Path) -> Iterator[dict[str, Any]]:
        try:
            records = parquet_records(segment)
        except FileNotFoundError:
            return  # deleted by retention between listing and opening
        self.stats.segments += 1
        start, end, field = self.start, self.end, self.time_field
        for record in records:
            if start is not None or end is not None:
                stamp = record.get(field)
                if not isinstance(stamp, str):
                    continue
                if (start is not None and stamp < start) or (end is not None and stamp >= end):
                    continue
            self.stats.records += 1
            yield record

    def _records(self, handle: IO[bytes]) -> Iterator[dict[str, Any]]:
        start, end, field, stats = self.start, self.end, self.time_field, self.stats
        stream = stream_of(self.path.name)
        checked = fields_of(stream)
        for line in handle:
            if not line.endswith(b"\n"):
                stats.torn_lines += 1
                continue
            if len(line) <= 1:
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                stats.torn_lines += 1
                continue
            if not isinstance(record, dict):
                stats.torn_lines += 1
                continue
            if checked is not None:
                stats.invalid_fields += drop_invalid(record, stream, checked)
            if start is not None or end is not None:
                stamp = record.get(field)
                if not isinstance(stamp, str):
                    continue
                if (start is not None and stamp < start) or (end is not None and stamp >= end):
                    continue
            stats.records += 1
            yield record


def read_records(
    path: Path | str,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    time_field: str = "timestamp",
) -> RecordStream:
    """Records of the stream at ``path`` with ``start <= time_field < end``."""
    return RecordStream(path, start, end, time_field)


def read_recent(
    path: Path | str,
    since: datetime | str | None = None,
    *,
    max_bytes: int | None = None,
    disorder_seconds: float = 900.0,
) -> list[dict[str, Any]]:
    """The newest records of a stream with ``timestamp >= since``, in file order.

    For views of what just happened (the last hour of a stream that holds a
    month): the stream is read backwards from its end, newest line first, and
    the reading stops after a run of records all older than ``since`` by more
    than ``disorder_seconds``. Streams are appended in time order up to that
    much disorder (a span is written after it ends, a batch a few seconds
    after its records); a record written later than that after its own
    timestamp (a span longer than 15 minutes, a back-filled user event) can
    be missed here, though one such record alone does not end the reading.
    :func:`read_records` is the exact reader.

    With ``since`` None, the newest records up to ``max_bytes``; ``max_bytes``
    also bounds a read with ``since`` (the newest records are kept). A torn
    last line (a write in progress) is left out.
    """
    since_iso = clock.to_iso(since) if since is not None else None
    stop = (
        clock.format_iso(clock.parse_instant(since_iso) - timedelta(seconds=disorder_seconds))
        if since_iso is not None
        else None
    )
    remaining = max_bytes
    block_size = (
        _BACKWARD_BLOCK if max_bytes is None else max(4096, min(max_bytes, _BACKWARD_BLOCK))
    )
    newest_first: list[dict[str, Any]] = []
    older_run = 0
    target = Path(path)
    stream = stream_of(target.name)
    checked = fields_of(stream)
    for segment in reversed(segment_paths(target)):
        if stop is not None and segment != target:
            rotated = _rotated_at(segment)
            if rotated is not None and rotated < stop:
                break  # every record of a rotated segment predates its rotation
        try:
            lines = (
                _gzip_lines(segment)
                if segment.name.endswith(".gz")
                else _parquet_lines(segment)
                if segment.name.endswith(".parquet")
                else _lines_backwards(segment, block_size)
            )
            for line in lines:
                if remaining is not None:
                    if remaining <= 0:
                        return newest_first[::-1]
                    remaining -= len(line) + 1
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(record, dict):
                    continue
                if checked is not None:
                    drop_invalid(record, stream, checked)
                stamp = _stamp(record)
                if stop is not None and stamp < stop:
                    older_run += 1
                    if older_run >= _OLDER_RUN:
                        return newest_first[::-1]
                    continue
                older_run = 0
                if since_iso is None or stamp >= since_iso:
                    newest_first.append(record)
        except FileNotFoundError:
            continue  # rotated away or deleted while being read
    return newest_first[::-1]


_BACKWARD_BLOCK = 1 << 20
_OLDER_RUN = 64
"""Records in a row older than the window (and its disorder) that end a backwards read."""


def _lines_backwards(path: Path, block: int) -> Iterator[bytes]:
    """The complete lines of ``path``, last first, read a block at a time from its end."""
    with path.open("rb") as handle:
        position = handle.seek(0, 2)
        carry = b""
        first = True
        while position > 0:
            size = min(block, position)
            position -= size
            handle.seek(position)
            data = handle.read(size) + carry
            cut = data.find(b"\n") + 1 if position > 0 else 0
            if position > 0 and cut == 0:
                carry = data  # one line longer than a block: read on
                continue
            carry, data = data[:cut], data[cut:]
            if first:
                # A line without its newline is a write in progress.
                data = data[: data.rfind(b"\n") + 1]
                first = False
            for line in reversed(data.split(b"\n")):
                if line:
                    yield line


def _gzip_lines(path: Path) -> Iterator[bytes]:
    # A compressed segment cannot be read from its end: it is read whole
    # (compressed segments are days old, so only long look-backs reach one).
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    for line in reversed(data[: data.rfind(b"\n") + 1].split(b"\n")):
        if line:
            yield line


def _parquet_lines(path: Path) -> Iterator[bytes]:
    for record in reversed(parquet_records(path)):
        yield orjson.dumps(record)


def _stamp(record: dict[str, Any]) -> str:
    stamp = record.get("timestamp")
    return stamp if isinstance(stamp, str) else ""


def _rotated_at(segment: Path) -> str | None:
    """The rotation moment a segment's name carries, in the store's timestamp form."""
    parts = segment.name.removesuffix(".gz").split(".")
    if len(parts) < 3:
        return None
    try:
        moment = datetime.strptime(parts[-2], _SEGMENT)
    except ValueError:
        return None
    return clock.format_iso(moment.replace(tzinfo=UTC))


_SEGMENT = "%Y%m%dT%H%M%S"


def _open_segment(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")
