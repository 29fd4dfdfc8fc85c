"""The one reader: streams records from a JSONL stream and its rotated segments.

A stream is the active file plus any rotated segments beside it
(``<name>.<stamp>.jsonl`` or ``.jsonl.gz``), read oldest first. Lines are read
one at a time, never the whole file. A line that is not a complete JSON object
(a writer killed mid-line) is skipped and counted in :class:`ReadStats`.

Time filtering compares the store's fixed-width ISO timestamps as strings,
which orders them exactly as instants.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from ff_otel import _clock


@dataclass
class ReadStats:
    """What a read saw: good records, skipped torn lines, segments opened."""

    records: int = 0
    torn_lines: int = 0
    segments: int = 0


def segment_paths(path: Path) -> list[Path]:
    """The stream's files, oldest first: rotated segments, then the active file."""
    stem = path.name.removesuffix(".jsonl")
    rotated = sorted(
        p
        for p in path.parent.glob(f"{stem}.*.jsonl*")
        if p.name.endswith((".jsonl", ".jsonl.gz")) and p != path
    )
    return [*rotated, path] if path.exists() else rotated


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
        self.start = _clock.to_iso(start) if start is not None else None
        self.end = _clock.to_iso(end) if end is not None else None
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"time range is reversed: start {self.start} is after end {self.end}")
        self.time_field = time_field
        self.stats = ReadStats()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for segment in segment_paths(self.path):
            try:
                handle = _open_segment(segment)
            except FileNotFoundError:
                continue  # rotated away or deleted between listing and opening
            self.stats.segments += 1
            with handle:
                yield from self._records(handle)

    def _records(self, handle: IO[bytes]) -> Iterator[dict[str, Any]]:
        start, end, field, stats = self.start, self.end, self.time_field, self.stats
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


def _open_segment(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")
