"""Rollups: spans, resources, user events and sessions folded into time buckets.

Every hour bucket (always) and every bucket of the configured
``aggregation_periods`` (minute, day, week, month) is one JSON document,
``analytics/aggregates/<period>/<bucket>.json``, holding per-component span
counts, errors and a latency sketch; request totals; resource summaries
(count, sum, min, max); event counts by type and by hour of day; the set of
active users; sessions (count, total duration, ratings); and feature use
(uses and users). Users first seen are appended to
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

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from sys import intern
from typing import Any

import orjson

from ff_otel import _clock
from ff_otel.pipeline.sketch import LatencySketch
from ff_otel.store.appender import append_records
from ff_otel.store.documents import read_json, replace_file, sync_folder
from ff_otel.store.layout import StoreLayout
from ff_otel.store.reader import read_records
from ff_otel.store.tail import StreamFile, StreamTail, offset_in

ROLLED_RESOURCE_FIELDS = ("cpu_usage_percent", "memory_usage_percent", "disk_usage_percent")
"""Resource readings the hourly rollups summarise (avg, min, max)."""
STREAMS = ("spans", "events", "sessions", "resources")
_READ_BYTES = 4 << 20
"""How much of a stream's backlog is read and folded at a time."""
_SERIAL_WRITES = 4
_DOCUMENT_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
_WRITE_THREADS = 8


def bucket_key(period: str, stamp: str) -> str:
    """The bucket of ``period`` holding the store timestamp ``stamp``."""
    if period == "minute":
        return stamp[:16]
    if period == "hour":
        return stamp[:13]
    if period == "day":
        return stamp[:10]
    if period == "month":
        return stamp[:7]
    if period == "week":
        day = date.fromisoformat(stamp[:10])
        return (day - timedelta(days=day.weekday())).isoformat()
    raise ValueError(f"unknown aggregation period {period!r}")


def bucket_bounds(period: str, key: str) -> tuple[datetime, datetime]:
    """Start (inclusive) and end (exclusive) of a bucket, in UTC."""
    if period == "minute":
        start = _clock.parse_instant(key + ":00")
        return start, start + timedelta(minutes=1)
    if period == "hour":
        start = _clock.parse_instant(key + ":00:00")
        return start, start + timedelta(hours=1)
    if period in ("day", "week"):
        start = _clock.parse_instant(key + "T00:00:00")
        return start, start + timedelta(days=1 if period == "day" else 7)
    start = _clock.parse_instant(key + "-01T00:00:00")
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start, start.replace(year=year, month=month)


class Bucket:
    """One period's aggregates, as kept in memory while it can still change."""

    def __init__(self, period: str, key: str, data: dict[str, Any] | None = None) -> None:
        data = data or {}
        self.period, self.key = period, key
        self.folded: dict[str, dict[str, int]] = data.get("folded", {})
        self.spans: dict[str, dict[str, Any]] = {
            name: {**c, "latency": LatencySketch.from_json(c["latency"])}
            for name, c in data.get("spans", {}).items()
        }
        requests = data.get("requests") or {"count": 0, "errors": 0, "latency": {}}
        self.requests = {**requests, "latency": LatencySketch.from_json(requests["latency"])}
        self.resources: dict[str, dict[str, float]] = data.get("resources", {})
        self.events: dict[str, Any] = data.get("events") or {
            "count": 0,
            "by_type": {},
            "by_hour": [0] * 24,
        }
        self.users: set[str] = set(data.get("users", []))
        self.sessions: dict[str, float] = data.get("sessions") or {
            "count": 0,
            "duration_sum": 0,
            "ratings_sum": 0,
            "ratings_count": 0,
        }
        self.features: dict[str, dict[str, Any]] = {
            name: {"uses": f["uses"], "users": set(f["users"])}
            for name, f in data.get("features", {}).items()
        }
        self.final = bool(data.get("final", False))

    def folded_offset(self, stream: str, file: StreamFile, path: Path) -> int:
        """How far into ``file`` this bucket has folded ``stream`` (0: not at all)."""
        mark = self.folded.get(stream)
        if not mark:
            return 0
        return offset_in(path, mark, file) or 0

    def mark(self, stream: str, file: StreamFile, end_offset: int) -> None:
        self.folded[stream] = file.position(end_offset)

    def merge(self, other: Bucket) -> None:
        """Add ``other``'s spans, requests, events, users and features (counts and sets only)."""
        spans = self.spans
        for name, c in other.spans.items():
            entry = spans.get(name)
            if entry is None:
                entry = spans[name] = {"count": 0, "errors": 0, "latency": LatencySketch()}
            entry["count"] += c["count"]
            entry["errors"] += c["errors"]
            entry["latency"].merge(c["latency"])
        requests, theirs = self.requests, other.requests
        requests["count"] += theirs["count"]
        requests["errors"] += theirs["errors"]
        requests["latency"].merge(theirs["latency"])
        events, added = self.events, other.events
        events["count"] += added["count"]
        by_type = events["by_type"]
        for kind, count in added["by_type"].items():
            by_type[kind] = by_type.get(kind, 0) + count
        by_hour = events["by_hour"]
        for hour, count in enumerate(added["by_hour"]):
            if count:
                by_hour[hour] += count
        self.users |= other.users
        features = self.features
        for name, f in other.features.items():
            entry = features.get(name)
            if entry is None:
                entry = features[name] = {"uses": 0, "users": set()}
            entry["uses"] += f["uses"]
            entry["users"] |= f["users"]

    def to_json(self) -> dict[str, Any]:
        start, end = bucket_bounds(self.period, self.key)
        return {
            "period": self.period,
            "bucket": self.key,
            "start": _clock.format_iso(start),
            "end": _clock.format_iso(end),
            "final": self.final,
            "folded": self.folded,
            "spans": {
                name: {**c, "latency": c["latency"].to_json()} for name, c in self.spans.items()
            },
            "requests": {**self.requests, "latency": self.requests["latency"].to_json()},
            "resources": self.resources,
            "events": self.events,
            "users": sorted(self.users),
            "sessions": self.sessions,
            "features": {
                name: {"uses": f["uses"], "users": sorted(f["users"])}
                for name, f in self.features.items()
            },
        }

    def fold(self, stream: str, record: dict[str, Any]) -> None:
        if stream == "spans":
            self._fold_span(record)
        elif stream == "events":
            self._fold_event(record)
        elif stream == "sessions":
            self._fold_session(record)
        else:
            self._fold_resources(record)

    def _fold_span(self, span: dict[str, Any]) -> None:
        component = str(span.get("component") or "unknown")
        entry = self.spans.get(component)
        if entry is None:
            entry = self.spans[component] = {"count": 0, "errors": 0, "latency": LatencySketch()}
        failed = span.get("status") == "error"
        duration = float(span.get("duration_ms") or 0.0)
        entry["count"] += 1
        entry["errors"] += failed
        entry["latency"].add(duration)
        if span.get("kind") == "server" or not span.get("parent_span_id"):
            requests = self.requests
            requests["count"] += 1
            requests["errors"] += failed
            requests["latency"].add(duration)

    def _fold_event(self, event: dict[str, Any]) -> None:
        events = self.events
        events["count"] += 1
        kind = str(event.get("event_type") or "")
        events["by_type"][kind] = events["by_type"].get(kind, 0) + 1
        stamp = event["timestamp"]
        events["by_hour"][int(stamp[11:13])] += 1
        user = event.get("user_hash")
        if isinstance(user, str):
            # One string per user however many buckets and records hold it.
            user = intern(user)
            self.users.add(user)
            for feature in event.get("features_used") or ():
                entry = self.features.get(feature)
                if entry is None:
                    entry = self.features[feature] = {"uses": 0, "users": set()}
                entry["uses"] += 1
                entry["users"].add(user)

    def _fold_session(self, session: dict[str, Any]) -> None:
        sessions = self.sessions
        sessions["count"] += 1
        sessions["duration_sum"] += float(session.get("session_duration_seconds") or 0)
        rating = session.get("satisfaction_rating")
        if isinstance(rating, int):
            sessions["ratings_sum"] += rating
            sessions["ratings_count"] += 1

    def _fold_resources(self, reading: dict[str, Any]) -> None:
        for name in ROLLED_RESOURCE_FIELDS:
            value = reading.get(name)
            if not isinstance(value, (int, float)):
                continue
            summary = self.resources.get(name)
            if summary is None:
                self.resources[name] = {"count": 1, "sum": value, "min": value, "max": value}
            else:
                summary["count"] += 1
                summary["sum"] += value
                summary["min"] = min(summary["min"], value)
                summary["max"] = max(summary["max"], value)

    def forget_user(self, user_hash: str) -> None:
        self.users.discard(user_hash)
        for entry in self.features.values():
            entry["users"].discard(user_hash)


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
        _write_documents(documents)
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


def _write_documents(documents: list[tuple[Path, Bucket]]) -> None:
    """Replace each bucket's document atomically; durable, folders included, on return.

    As ``write_json_atomic`` does for one document (temp file, fsync, rename,
    fsync of the folder), but the fsyncs of a large save (a backlog folded at
    once) overlap in a few threads and each folder is synced once, after all
    its renames: the disk's cache flushes are shared instead of taken one by one.
    """
    folders = sorted({path.parent for path, _ in documents})
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)

    def write(item: tuple[Path, Bucket]) -> None:
        path, bucket = item
        replace_file(path, orjson.dumps(bucket.to_json(), option=_DOCUMENT_OPTIONS))

    if len(documents) <= _SERIAL_WRITES:
        for item in documents:
            write(item)
    else:
        with ThreadPoolExecutor(_WRITE_THREADS, thread_name_prefix="ff-otel-rollups") as pool:
            # list() re-raises the first failure here.
            list(pool.map(write, documents))
    for folder in folders:
        sync_folder(folder)


def iter_documents(
    layout: StoreLayout, period: str, start: datetime, end: datetime
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each stored bucket document of ``period`` overlapping ``[start, end)``, oldest first,
    read one at a time (a document that cannot be read is skipped)."""
    folder = layout.analytics_path / "aggregates" / period
    if not folder.is_dir():
        return
    first, last = (
        bucket_key(period, _clock.format_iso(start)),
        bucket_key(period, _clock.format_iso(end - timedelta(microseconds=1))),
    )
    for path in sorted(folder.glob("*.json")):
        key = path.stem
        if first <= key <= last:
            try:
                document = read_json(path)
            except (FileNotFoundError, orjson.JSONDecodeError):
                continue
            if isinstance(document, dict):
                yield key, document


def load_buckets(layout: StoreLayout, period: str, start: datetime, end: datetime) -> list[Bucket]:
    """The stored buckets of ``period`` that overlap ``[start, end)``, oldest first."""
    return [Bucket(period, key, data) for key, data in iter_documents(layout, period, start, end)]
