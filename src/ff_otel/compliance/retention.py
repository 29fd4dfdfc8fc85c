"""Rotation, compression and retention of the store's files.

Streams rotate into dated segments (``<name>.<YYYYmmddTHHMMSS>.jsonl``, the
moment of rotation, so every record in a segment is older) when their first
record is from an earlier UTC day or they exceed 64 MiB; rotation renames the
file under its append lock, writers reopen the new one, and stream tails
finish the old one first. With ``enable_data_compression`` (the default), the
sealed segments of the analytics streams (spans, logs, metrics, user events,
feature usage, sessions, engagement) become Parquet (zstd) once they are ten
minutes old (see :mod:`ff_otel.sql.compaction`); other segments older than
``compression_age_days`` are gzipped (``.jsonl.gz``). The reader reads all three.
Whole segments past their class's retention are deleted, each deletion audited:

- compliance (``compliance/``): ``compliance_data_retention_days``;
- aggregated (``business_intelligence/``, ``reports/``):
  ``aggregated_data_retention_days``;
- raw (everything else): ``raw_data_retention_days``.

The audit trail's segments are compressed like any other but its chain runs on
across them, and it is only ever deleted by age, never rewritten.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from ff_otel.compliance.trails import audit_act
from ff_otel.core import clock
from ff_otel.spec.config import FFAnalyticsConfigDTO
from ff_otel.store.layout import StoreLayout

ROTATE_BYTES = 64 * 1024 * 1024
_STAMP = "%Y%m%dT%H%M%S"


def data_class(layout: StoreLayout, path: Path) -> str:
    """``compliance``, ``aggregated`` or ``raw``: which retention period applies."""
    top = path.relative_to(layout.analytics_path).parts[0]
    if top == "compliance":
        return "compliance"
    if top in ("business_intelligence", "reports"):
        return "aggregated"
    return "raw"


def retention_days(analytics: FFAnalyticsConfigDTO) -> dict[str, int]:
    privacy = analytics.privacy_config
    return {
        "raw": privacy.raw_data_retention_days,
        "aggregated": privacy.aggregated_data_retention_days,
        "compliance": privacy.compliance_data_retention_days,
    }


def run_retention(
    layout: StoreLayout,
    analytics: FFAnalyticsConfigDTO,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Rotate, compress and delete by policy at ``now``; returns what was done.

    ``progress`` (for a progress bar) is called with each file's store-relative
    path as it is examined.
    """
    # Here, not at the top: importing the pipeline (which imports this
    # module) should not load DuckDB, which only compaction needs.
    from ff_otel.sql.compaction import compactable_stream

    moment = clock.now() if now is None else clock.parse_instant(now)
    summary: dict[str, Any] = {"rotated": [], "compacted": [], "compressed": [], "deleted": []}
    streams = [
        p
        for p in sorted(layout.analytics_path.rglob("*.jsonl"))
        if _segment_stamp(p) is None and not p.name.startswith(".")
    ]
    for path in streams:
        if progress is not None:
            progress(_relative(layout, path))
        if _rotate_if_due(path, moment):
            summary["rotated"].append(_relative(layout, path))
    days = retention_days(analytics)
    if analytics.enable_data_compression:
        summary["compacted"] = _compact_sealed(layout, moment, days)
    for segment in sorted(
        p
        for p in layout.analytics_path.rglob("*")
        if p.name.endswith((".jsonl", ".jsonl.gz", ".parquet")) and not p.name.startswith(".")
    ):
        stamp = _segment_stamp(segment)
        if stamp is None:
            continue
        if progress is not None:
            progress(_relative(layout, segment))
        age = moment - stamp
        if age > timedelta(days=days[data_class(layout, segment)]):
            segment.unlink(missing_ok=True)
            summary["deleted"].append(_relative(layout, segment))
            audit_act(
                layout,
                "retention_delete",
                _relative(layout, segment),
                data_class=data_class(layout, segment),
                segment_age_days=age.days,
            )
        elif (
            analytics.enable_data_compression
            and segment.name.endswith(".jsonl")
            and compactable_stream(layout, segment) is None
            and age > timedelta(days=analytics.compression_age_days)
        ):
            _compress(segment)
            summary["compressed"].append(_relative(layout, segment) + ".gz")
    audit_act(
        layout,
        "retention_run",
        str(layout.analytics_path),
        rotated=len(summary["rotated"]),
        compacted=len(summary["compacted"]),
        compressed=len(summary["compressed"]),
        deleted=len(summary["deleted"]),
        at=clock.format_iso(moment),
    )
    return summary


COMPACTION_GRACE = timedelta(minutes=10)
"""How long a rotated segment stays JSONL: stream tails finish it first."""


def _compact_sealed(layout: StoreLayout, moment: datetime, days: dict[str, int]) -> list[str]:
    """Sealed segments of analytics streams rotated before ``moment - COMPACTION_GRACE``
    become Parquet (not those past retention: they are deleted next)."""
    from ff_otel.sql.compaction import compact, sealed_segments  # see run_retention

    due = [
        (view, segment)
        for view, segment in sealed_segments(layout)
        if (stamp := _segment_stamp(segment)) is not None
        and COMPACTION_GRACE <= moment - stamp <= timedelta(days=days[data_class(layout, segment)])
    ]
    compacted: list[str] = compact(layout, due)["compacted"] if due else []
    return compacted


def _rotate_if_due(path: Path, moment: datetime) -> bool:
    try:
        status = path.stat()
    except FileNotFoundError:
        return False
    if status.st_size == 0:
        return False
    first_day = _first_record_day(path)
    due = status.st_size >= ROTATE_BYTES or (
        first_day is not None and first_day < clock.format_iso(moment)[:10]
    )
    if not due:
        return False
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_ino != os.stat(path).st_ino:
            return False  # rotated by someone else meanwhile
        target = _free_segment_name(path, moment)
        os.rename(path, target)
        path.touch()
        return True
    finally:
        os.close(fd)


def _free_segment_name(path: Path, moment: datetime) -> Path:
    """``<name>.<stamp>.jsonl`` for a rotation at ``moment``, never an existing segment's name.

    A second rotation stamped with the same second (a stream past 64 MiB twice
    in a second, or retention run twice with the same ``now``) takes the next
    free second, so it neither overwrites the earlier segment nor sorts before it.
    """
    while True:
        target = path.with_name(f"{path.stem}.{moment.strftime(_STAMP)}.jsonl")
        if not any(
            target.with_name(target.name.removesuffix(".jsonl") + suffix).exists()
            for suffix in (".jsonl", ".jsonl.gz", ".parquet")
        ):
            return target
        moment += timedelta(seconds=1)


def _first_record_day(path: Path) -> str | None:
    with path.open("rb") as handle:
        line = handle.readline(1 << 20)
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    stamp = record.get("timestamp") if isinstance(record, dict) else None
    return stamp[:10] if isinstance(stamp, str) else None


def _compress(segment: Path) -> None:
    target = segment.with_name(segment.name + ".gz")
    temporary = segment.with_name(f".{segment.name}.gz.tmp")
    with segment.open("rb") as source, gzip.open(temporary, "wb") as sink:
        shutil.copyfileobj(source, sink)
    with temporary.open("rb") as written:
        os.fsync(written.fileno())
    os.replace(temporary, target)
    segment.unlink()


def _segment_stamp(path: Path) -> datetime | None:
    name = path.name.removesuffix(".gz").removesuffix(".jsonl").removesuffix(".parquet")
    stem, dot, stamp = name.rpartition(".")
    if not dot or not stem:
        return None
    try:
        return clock.parse_instant(datetime.strptime(stamp, _STAMP))
    except ValueError:
        return None


def _relative(layout: StoreLayout, path: Path) -> str:
    return str(path.relative_to(layout.analytics_path))
