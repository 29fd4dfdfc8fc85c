"""Follow a JSONL stream: each call returns the complete records appended since the last.

The pipeline folds what is new every interval; re-reading a growing file from
the start each time would cost more the longer the service runs. A tail keeps
its byte offset and the file's inode, reads only whole lines past the offset,
and starts again at the top of a new file when the old one was rotated away.
When an erasure rewrote the file (lines removed, nothing else changed), the
map it left behind says where the old offset now lies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ff_otel.store.reader import segment_paths

_CHUNK = 1 << 20


@dataclass
class TailStats:
    """Lines a tail has read: valid records and lines that were not (torn)."""

    records: int = 0
    torn_lines: int = 0


class StreamTail:
    """The new records of one stream since the previous :meth:`read_new`."""

    def __init__(self, path: Path, *, from_end: bool = True) -> None:
        self.path = path
        self.stats = TailStats()
        self._inode: int | None = None
        self._offset = 0
        if from_end:
            try:
                status = path.stat()
            except FileNotFoundError:
                return
            self._inode, self._offset = status.st_ino, status.st_size

    def position(self) -> dict[str, int]:
        """Where this tail has read to, for a checkpoint."""
        return {"inode": self._inode or 0, "offset": self._offset}

    def resume(self, position: dict[str, int]) -> None:
        """Continue from a checkpoint, if it is of the file now at the path (or rewrote it),
        or of a segment it was rotated into since (finished first, then the new file)."""
        try:
            inode = self.path.stat().st_ino
        except FileNotFoundError:
            return
        offset = int(position.get("offset", 0))
        old_inode = position.get("inode")
        if old_inode == inode:
            self._inode, self._offset = inode, offset
        elif old_inode and _segment_with_inode(self.path, old_inode) is not None:
            self._inode, self._offset = old_inode, offset
        elif _rewrite_map(self.path, inode) is not None:
            self._inode = inode
            self._offset = _offset_after_rewrite(self.path, old_inode, inode, offset)

    @property
    def inode(self) -> int:
        """The inode of the file being followed (after the latest read)."""
        return self._inode or 0

    def read_new(self) -> list[dict[str, Any]]:
        """Records appended since the last call; a partial last line waits for the next call."""
        return [record for _, record in self.read_new_with_offsets()]

    def read_new_with_offsets(
        self, max_bytes: int | None = None
    ) -> list[tuple[int, dict[str, Any]]]:
        """Like :meth:`read_new`, each record with the byte offset just past its line.

        With ``max_bytes``, reads about that much at most (more only when one
        line is longer), so a large backlog can be taken in bounded pieces.
        """
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return []
        try:
            status = os.fstat(fd)
            if status.st_ino != self._inode and self._inode is not None:
                # Rotated away with lines not read yet: finish the old file
                # first (its segment still has our inode), then move on.
                rotated = _segment_with_inode(self.path, self._inode)
                if rotated is not None and rotated.stat().st_size > self._offset:
                    os.close(fd)
                    fd = os.open(rotated, os.O_RDONLY | os.O_CLOEXEC)
                    status = os.fstat(fd)
            if status.st_ino != self._inode:
                self._offset = _offset_after_rewrite(
                    self.path, self._inode, status.st_ino, self._offset
                )
                self._inode = status.st_ino
            if status.st_size < self._offset:
                self._offset = 0
            if status.st_size == self._offset:
                return []
            size = status.st_size
            step = size if max_bytes is None else max(1, max_bytes)
            data = bytearray()
            position = self._offset
            stop = min(size, position + step)
            while True:
                while position < stop:
                    chunk = os.pread(fd, min(_CHUNK, stop - position), position)
                    if not chunk:
                        stop = size = position  # the file shrank under us
                        break
                    data += chunk
                    position += len(chunk)
                if position >= size or data.rfind(b"\n") >= 0:
                    break
                stop = min(size, position + max(step, _CHUNK))
        finally:
            os.close(fd)
        end = data.rfind(b"\n") + 1
        base = self._offset
        self._offset += end
        del data[end:]
        return self._parse(data, base)

    def _parse(self, block: bytes | bytearray, base: int) -> list[tuple[int, dict[str, Any]]]:
        records = []
        position = base
        for line in block.split(b"\n"):
            position += len(line) + 1
            if not line:
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                self.stats.torn_lines += 1
                continue
            if isinstance(record, dict):
                records.append((position, record))
            else:
                self.stats.torn_lines += 1
        self.stats.records += len(records)
        return records


def _rewrite_map(path: Path, inode: int) -> dict[str, Any] | None:
    try:
        data = orjson.loads((path.parent.parent / ".rewrites" / f"{inode}.json").read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _offset_after_rewrite(path: Path, old_inode: int | None, new_inode: int, offset: int) -> int:
    """Where ``offset`` in the old file lies in a file an erasure rewrote; 0 for a new file."""
    rewrite = _rewrite_map(path, new_inode)
    if rewrite is None or rewrite.get("old_inode") != old_inode:
        return 0
    removed = rewrite.get("removed", [])
    return offset - sum(int(length) for start, length in removed if int(start) < offset)


def offset_in(path: Path, position: dict[str, int], inode: int) -> int:
    """A checkpointed position of ``path`` as an offset in the file now at ``inode``.

    Its own offset when it is of that file, translated when an erasure rewrote
    that file into this one, and 0 when this is a new file (rotation).
    """
    old_inode, offset = position.get("inode"), int(position.get("offset", 0))
    if old_inode == inode:
        return offset
    return _offset_after_rewrite(path, old_inode, inode, offset)


def _segment_with_inode(path: Path, inode: int) -> Path | None:
    for segment in segment_paths(path):
        if segment != path and not segment.name.endswith(".gz"):
            try:
                if segment.stat().st_ino == inode:
                    return segment
            except FileNotFoundError:
                continue
    return None
