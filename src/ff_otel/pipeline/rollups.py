"""Rollups: spans, resources, user events and sessions folded into time buckets.

Every hour bucket (always) and every bucket of the configured
``aggregation_periods`` is one document (see :mod:`ff_otel.pipeline.buckets`
for what it holds). Users first seen are appended to
``aggregates/first_seen.jsonl``.

Folding is incremental and idempotent. Records come from stream tails with
their byte offsets (a backlog in pieces of a few megabytes), and each bucket
remembers, per stream, the offset up to which it has folded: after a crash,
records read again are skipped by the buckets that already hold them and
folded into those that do not. A bucket is
*final* once ``aggregation_delay_minutes`` have passed after its end; records
arriving later still reopen it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import orjson

from ff_otel import _clock
from ff_otel.pipeline.buckets import Bucket, bucket_bounds, bucket_key, write_documents
from ff_otel.store.appender import append_records
from ff_otel.store.documents import read_json
from ff_otel.store.layout import StoreLayout
from ff_otel.store.reader import read_records
from ff_otel.store.tail import StreamFile, StreamTail

STREAMS = ("spans", "events", "sessions", "resources")
_READ_BYTES = 4 << 20
"""How much of a stream's backlog is read and folded at a time."""


class Rollups:
    """Folds new records into buckets; the store's collector runs it every interval."""

    def __init__(self, layout: StoreLayout, periods: Iterable[str], delay_minutes: int) -> None:
        self.layout = layout
        self.root = layout.analytics_path / "aggregates"
        self.periods = ("hour", *sorted({p for p in periods if p != "hour"}))
        self.delay = timedelta(minutes=delay_minutes)
        self.paths = {
            "spans": layout.spans,
            "events": layout.behavior_patterns,
            "sessions": layout.session_analytics,
            "resources": layout.resource_usage,
        }
        self.tails = {name: StreamTail(path, from_end=False) for name, path in self.paths.items()}
        self.open: dict[tuple[str, str], Bucket] = {}
        self.first_seen: dict[str, str] = {}
        self._first_seen_path = self.root / "first_seen.jsonl"
        self._loaded = False

    def positions(self) -> dict[str, dict[str, int]]:
        return {name: tail.position() for name, tail in self.tails.items()}

    def resume(self, positions: dict[str, Any]) -> None:
        for name, tail in self.tails.items():
            if isinstance(positions.get(name), dict):
                tail.resume(positions[name])

    def fold_new(self) -> int:
        """Fold every record appended since the last call; returns how many were read."""
        if not self._loaded:
            self._load_first_seen()
        read = 0
        dirty: set[tuple[str, str]] = set()
        new_users: list[dict[str, str]] = []
        for stream, tail in self.tails.items():
            # A backlog is taken in pieces, so memory stays bounded however
            # much has piled up; the buckets are saved once, at the end.
            while True:
                before = tail.position()
                batch = tail.read_new_with_offsets(max_bytes=_READ_BYTES)
                # The file these offsets are in (a rewrite or a rotation shows
                # up at the read).
                self._fold_batch(stream, tail.file, batch, dirty, new_users)
                read += len(batch)
                if tail.position() == before:
                    break
        if new_users:
            append_records(self._first_seen_path, new_users)
        self._save(dirty)
        return read

    def _fold_batch(
        self,
        stream: str,
        file: StreamFile,
        batch: list[tuple[int, dict[str, Any]]],
        dirty: set[tuple[str, str]],
        new_users: list[dict[str, str]],
    ) -> None:
        # Records are grouped by their finest bucket (an hour, or a minute when
        # minute buckets are kept); each group is folded once and added to the
        # bucket of every period. A bucket that already holds some of a group
        # (a crash between saving it and the checkpoint) takes only the rest.
        width = 16 if "minute" in self.periods else 13
        groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        events = stream == "events"
        for end_offset, record in batch:
            stamp = record.get("timestamp")
            if not isinstance(stamp, str) or len(stamp) < 19:
                continue
            if events:
                self._note_first_seen(record, stamp, new_users)
            group = groups.get(stamp[:width])
            if group is None:
                groups[stamp[:width]] = [(end_offset, record)]
            else:
                group.append((end_offset, record))
        path = self.paths[stream]
        # Counts and sets add up the same in any grouping; sums of measured
        # values (resources, session durations) are added record by record,
        # in stream order, so they come out the same however a backlog is split.
        mergeable = stream in ("spans", "events")
        # What each bucket held before this batch decides which of the batch's
        # records it takes: groups follow time, not file order, and records a
        # little out of time order put one group's offsets among another's.
        targets: dict[tuple[str, str], tuple[Bucket, int]] = {}
        newest: dict[tuple[str, str], int] = {}
        for group_key, group in groups.items():
            first, last = group[0][0], group[-1][0]
            delta: Bucket | None = None
            for period in self.periods:
                name = (period, bucket_key(period, group_key))
                target = targets.get(name)
                if target is None:
                    bucket = self._bucket(*name)
                    target = targets[name] = (bucket, bucket.folded_offset(stream, file, path))
                bucket, folded = target
                if folded >= last:
                    continue
                if folded < first and mergeable:
                    if delta is None:
                        delta = Bucket("hour", group_key)
                        for _, record in group:
                            delta.fold(stream, record)
                    bucket.merge(delta)
                else:
                    for end_offset, record in group:
                        if end_offset > folded:
                            bucket.fold(stream, record)
                if last > newest.get(name, 0):
                    newest[name] = last
        for name, last in newest.items():
            targets[name][0].mark(stream, file, last)
            dirty.add(name)

    def forget_user(self, user_hash: str) -> None:
        self.first_seen.pop(user_hash, None)
        for bucket in self.open.values():
            bucket.forget_user(user_hash)

    def _note_first_seen(
        self, record: dict[str, Any], stamp: str, new_users: list[dict[str, str]]
    ) -> None:
        user = record.get("user_hash")
        if not isinstance(user, str):
            return
        known = self.first_seen.get(user)
        if known is None or stamp < known:
            self.first_seen[user] = stamp
            new_users.append({"timestamp": stamp, "user_hash": user})

    def _bucket(self, period: str, key: str) -> Bucket:
        bucket = self.open.get((period, key))
        if bucket is None:
            path = self.root / period / f"{key}.json"
            try:
                data = read_json(path)
            except (FileNotFoundError, orjson.JSONDecodeError):
                data = None
            bucket = self.open[(period, key)] = Bucket(period, key, data)
        return bucket

    def _save(self, dirty: set[tuple[str, str]]) -> None:
        now = _clock.now()
        documents = []
        for period, key in sorted(dirty):
            bucket = self.open[(period, key)]
            bucket.final = bucket_bounds(period, key)[1] + self.delay <= now
            documents.append((self.root / period / f"{key}.json", bucket))
        write_documents(documents)
        # Final buckets leave memory; a late record loads them again.
        for finished in [k for k, b in self.open.items() if b.final]:
            del self.open[finished]

    def _load_first_seen(self) -> None:
        self._loaded = True
        for line in read_records(self._first_seen_path):
            user, stamp = line.get("user_hash"), line.get("timestamp")
            if isinstance(user, str) and isinstance(stamp, str):
                known = self.first_seen.get(user)
                if known is None or stamp < known:
                    self.first_seen[user] = stamp
