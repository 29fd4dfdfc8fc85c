"""Right to erasure and right of access over every file of the store.

Erasure rewrites each file that mentions the user's pseudonym without those
lines: under the file's append lock, into a temporary file that is fsynced and
renamed over the original, so a reader sees the old file or the new one, and a
writer waiting on the lock appends to the new one. Rotated and compressed
segments are rewritten the same way. The compliance trail (audit, privacy and
security events) never holds pseudonyms, only purpose-bound references
(consent, erasure and subject references: :mod:`ff_otel.privacy.subjects`), so
it is left as it is: the record that an erasure happened must outlive the data,
and the hash-chained audit trail keeps verifying.

So that the collector's stream tails need not read a rewritten file again from
the start, each rewrite leaves a small map of the byte ranges it removed
(``analytics/.rewrites/<inode>.json``, with both files' first-line fingerprints)
from which a tail recomputes its offset.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ff_otel.store.documents import read_json, write_json_atomic
from ff_otel.store.layout import StoreLayout
from ff_otel.store.tail import head_fingerprint

_UNTOUCHED_FOLDERS = ("compliance",)


def data_files(layout: StoreLayout) -> Iterator[Path]:
    """Every JSONL file and segment that may hold personal data."""
    for path in sorted(layout.analytics_path.rglob("*.jsonl*")):
        relative = path.relative_to(layout.analytics_path)
        if relative.parts[0] in _UNTOUCHED_FOLDERS or relative.parts[0].startswith("."):
            continue
        if path.name.endswith((".jsonl", ".jsonl.gz")):
            yield path


def erase_lines(layout: StoreLayout, needle: bytes) -> tuple[int, list[str]]:
    """Remove every line containing ``needle`` from the store's JSONL and Parquet files.

    Returns (records removed, files changed).
    """
    removed = 0
    changed: list[str] = []
    for path in data_files(layout):
        count = _rewrite_without(layout, path, needle)
        if count:
            removed += count
            changed.append(str(path.relative_to(layout.analytics_path)))
    from ff_otel.sql.compaction import erase_from_parquet

    parquet_removed, parquet_changed = erase_from_parquet(layout, needle)
    removed += parquet_removed
    changed.extend(parquet_changed)
    for path in sorted((layout.analytics_path / "aggregates").rglob("*.json")):
        if needle in path.read_bytes():
            write_json_atomic(path, _without(read_json(path), needle.decode()))
            changed.append(str(path.relative_to(layout.analytics_path)))
    return removed, changed


def _without(value: Any, user: str) -> Any:
    # Rollups hold users in sets (JSON lists), and counts under keys that were
    # scrubbed text (an event type naming the user): every one naming the user goes.
    if isinstance(value, dict):
        return {key: _without(item, user) for key, item in value.items() if user not in key}
    if isinstance(value, list):
        return [
            _without(item, user) for item in value if not (isinstance(item, str) and user in item)
        ]
    return value


def lines_with(layout: StoreLayout, needle: bytes) -> list[dict[str, Any]]:
    """Every record (with its file) containing ``needle``, for a data-subject access request."""
    found: list[dict[str, Any]] = []
    for path in data_files(layout):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            for line in handle:
                if needle in line and line.endswith(b"\n"):
                    try:
                        record = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue
                    found.append(
                        {"file": str(path.relative_to(layout.analytics_path)), "record": record}
                    )
    from ff_otel.sql.compaction import parquet_records_with

    found.extend(parquet_records_with(layout, needle))
    return found


def _rewrite_without(layout: StoreLayout, path: Path, needle: bytes) -> int:
    compressed = path.name.endswith(".gz")
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(os.dup(fd), "rb") as raw:
            data = gzip.decompress(raw.read()) if compressed else raw.read()
        if needle not in data:
            return 0
        kept = bytearray()
        removed_ranges: list[tuple[int, int]] = []
        offset = removed = 0
        for line in data.splitlines(keepends=True):
            if needle in line:
                removed += 1
                removed_ranges.append((offset, len(line)))
            else:
                kept += line
            offset += len(line)
        old_inode = os.fstat(fd).st_ino
        payload = gzip.compress(bytes(kept)) if compressed else bytes(kept)
        tmp_fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(tmp_fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, 0o644)
            new_inode = os.stat(tmp_name).st_ino
            if not compressed:
                # The first lines' fingerprints let a copy of the store, where
                # both inodes are stale, still find this map (see store.tail).
                rewrite = {
                    "old_inode": old_inode,
                    "old_head": head_fingerprint(data),
                    "new_head": head_fingerprint(kept),
                    "removed": removed_ranges,
                }
                _record_rewrite(layout, new_inode, rewrite)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return removed
    finally:
        os.close(fd)


def _record_rewrite(layout: StoreLayout, new_inode: int, rewrite: dict[str, Any]) -> None:
    folder = layout.analytics_path / ".rewrites"
    folder.mkdir(exist_ok=True)
    write_json_atomic(folder / f"{new_inode}.json", rewrite)
