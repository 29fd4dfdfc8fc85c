"""Rollup buckets: what one time bucket holds, its key and bounds, its JSON document.

A bucket (an hour, or a configured minute/day/week/month) is one document,
``analytics/aggregates/<period>/<key>.json``: per-component span counts,
errors and a latency sketch; request totals; resource summaries (count, sum,
min, max); event counts by type and by hour of day; the set of active users;
sessions (count, total duration, ratings); feature use (uses and users); and,
per stream, the offset up to which it has folded. :mod:`ff_otel.pipeline.rollups`
folds records into buckets; readers (queries, BI, reports) load them here.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from sys import intern
from typing import Any

import orjson

from ff_otel import _clock
from ff_otel.pipeline.interval import failed, is_request
from ff_otel.pipeline.sketch import LatencySketch
from ff_otel.store.documents import read_json, replace_file, sync_folder
from ff_otel.store.layout import StoreLayout
from ff_otel.store.tail import StreamFile, offset_in

ROLLED_RESOURCE_FIELDS = ("cpu_usage_percent", "memory_usage_percent", "disk_usage_percent")
"""Resource readings the hourly rollups summarise (avg, min, max)."""
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
        span_failed = failed(span)
        duration = float(span.get("duration_ms") or 0.0)
        entry["count"] += 1
        entry["errors"] += span_failed
        entry["latency"].add(duration)
        if is_request(span):
            requests = self.requests
            requests["count"] += 1
            requests["errors"] += span_failed
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


def write_documents(documents: list[tuple[Path, Bucket]]) -> None:
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
