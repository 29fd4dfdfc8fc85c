"""Follow a JSONL stream: each call returns the complete records appended since the last.

The pipeline folds what is new every interval; re-reading a growing file from
the start each time would cost more the longer the service runs. A tail keeps
its byte offset and which file that offset is in, reads only whole lines past
the offset, and starts again at the top of a new file when the old one was
rotated away. When an erasure rewrote the file (lines removed, nothing else
changed), the map it left behind says where the old offset now lies.

A file is known by its inode and by a fingerprint of its first line. Lines are
only ever appended, so that line never changes until rotation renames the file
away or an erasure rewrites it; unlike the inode, it survives a copy of the
store (``cp -a``, a backup restore, a move to another disk), where every file
gets a new inode. :func:`offset_in` is the one test of "is this the same file".
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ff_otel.core.gc import gc_paused
from ff_otel.store.reader import segment_paths
from ff_otel.store.schema import drop_invalid, fields_of, stream_of

_ADOPTED_LIMIT = 262_144
"""Records handed to a tail (:meth:`StreamTail.adopt`) and not read yet, at most: beyond,
the oldest are parsed from the file after all."""
_CHUNK = 1 << 20
_HEAD_BYTES = 4096
"""The fingerprint covers the first line, or this much of it when it is longer."""


def head_fingerprint(data: bytes | bytearray) -> int:
    """Fingerprint of a stream file's first line, from the file's first bytes (or all of them).

    0 while the file has no complete first line (empty, or a line still being
    written): such a file is known by its inode alone. 63 bits, so that it is a
    plain JSON integer in checkpoints.
    """
    head = data[:_HEAD_BYTES]
    end = head.find(b"\n")
    if end >= 0:
        head = head[: end + 1]
    elif len(head) < _HEAD_BYTES:
        return 0
    digest = hashlib.blake2b(head, digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1 or 1


@dataclass(frozen=True)
class StreamFile:
    """One file of a stream as last seen: its inode, first-line fingerprint and size."""

    inode: int
    head: int
    size: int

    def position(self, offset: int) -> dict[str, int]:
        """A checkpoint of ``offset`` in this file, for :func:`offset_in` to place later."""
        return {"inode": self.inode, "offset": offset, "head": self.head}


_NO_FILE = StreamFile(0, 0, 0)


@dataclass
class TailStats:
    """Lines a tail has read: valid records and lines that were not (torn)."""

    records: int = 0
    torn_lines: int = 0
    invalid_fields: int = 0
    """Fields removed because their value had the wrong type (see ``store.schema``)."""


class StreamTail:
    """The new records of one stream since the previous :meth:`read_new`."""

    def __init__(self, path: Path, *, from_end: bool = True) -> None:
        self.path = path
        self.stats = TailStats()
        self._stream = stream_of(path.name)
        self._checked = fields_of(self._stream)
        self._file: StreamFile | None = None
        self._offset = 0
        self._adopted: deque[tuple[int, int, list[int], list[dict[str, Any]]]] = deque()
        self._adopted_records = 0
        self._adopt_lock = threading.Lock()
        if from_end:
            file = _file_at(path)
            if file is not None:
                self._file, self._offset = file, file.size

    def position(self) -> dict[str, int]:
        """Where this tail has read to, for a checkpoint."""
        return (self._file or _NO_FILE).position(self._offset)

    def resume(self, position: Mapping[str, int]) -> None:
        """Continue from a checkpoint, if it is of the file now at the path (or rewrote it),
        or of a segment it was rotated into since (finished first, then the new file)."""
        current = _file_at(self.path)
        if current is None:
            return
        found = _locate(self.path, position, [(self.path, current), *_segments(self.path)])
        if found is not None:
            self._file, self._offset = found[1], found[2]

    def adopt(self, inode: int, start: int, ends: list[int], records: list[dict[str, Any]]) -> None:
        """Records this process has just appended, so that the next read takes them as
        they are instead of parsing their lines again.

        Their lines run from ``start`` in the file with this inode, ``ends[i]``
        past record ``i``'s, and each record is what its line parses to. Only
        lines a read reaches whole, in that same file, are taken from here;
        any other (read before this call, cut by ``max_bytes``, of a file
        since rotated or rewritten) is parsed from the file as usual.
        """
        with self._adopt_lock:
            self._adopted.append((inode, start, ends, records))
            self._adopted_records += len(records)
            while self._adopted_records > _ADOPTED_LIMIT:
                self._adopted_records -= len(self._adopted.popleft()[3])

    def _take_adopted(
        self, inode: int, low: int, high: int, *, live: bool
    ) -> list[tuple[int, list[int], list[dict[str, Any]]]]:
        """The adopted records whose lines lie whole in ``[low, high)`` of file ``inode``,
        by offset; those the read passed by are forgotten, and (``live``: the read is of
        the file now at the path) so are those of other files."""
        taken: list[tuple[int, list[int], list[dict[str, Any]]]] = []
        kept: deque[tuple[int, int, list[int], list[dict[str, Any]]]] = deque()
        with self._adopt_lock:
            for entry in self._adopted:
                if entry[0] != inode:
                    if not live:
                        kept.append(entry)
                elif entry[1] >= high:
                    kept.append(entry)
                elif entry[1] >= low and entry[2][-1] <= high:
                    taken.append(entry[1:])
            self._adopted = kept
            self._adopted_records = sum(len(entry[3]) for entry in kept)
        return sorted(taken, key=lambda entry: entry[0])

    @property
    def file(self) -> StreamFile:
        """The file being followed (after the latest read)."""
        return self._file or _NO_FILE

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
        live = True
        try:
            file = self._identify(fd)
            if self._file is not None and file.inode != self._file.inode:
                # Rotated away with lines not read yet: finish the old file
                # first (a segment still holds it), then move on.
                held = _locate(self.path, self.position(), _segments(self.path))
                if held is not None and held[1].size > held[2]:
                    try:
                        rotated = os.open(held[0], os.O_RDONLY | os.O_CLOEXEC)
                    except FileNotFoundError:
                        pass  # compressed meanwhile: what it still held is out of reach
                    else:
                        os.close(fd)
                        fd = rotated
                        file = self._identify(fd)
                        live = False
            if self._file is not None and file.inode != self._file.inode:
                self._offset = offset_in(self.path, self.position(), file) or 0
            self._file = file
            if file.size < self._offset:
                self._offset = 0  # truncated: what was adopted of it is gone
                self._take_adopted(file.inode, 0, 1 << 62, live=live)
            if file.size == self._offset:
                return []
            size = file.size
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
        return self._parse(data, base, self._take_adopted(file.inode, base, base + end, live=live))

    def _identify(self, fd: int) -> StreamFile:
        status = os.fstat(fd)
        known = self._file
        if known is not None and known.inode == status.st_ino and known.head:
            # A file's first line does not change while it keeps its inode.
            return StreamFile(status.st_ino, known.head, status.st_size)
        return _file_of(fd)

    def _parse(
        self,
        block: bytes | bytearray,
        base: int,
        adopted: list[tuple[int, list[int], list[dict[str, Any]]]],
    ) -> list[tuple[int, dict[str, Any]]]:
        with gc_paused():  # see ff_otel.core.gc: the parse makes no cycles
            if not adopted:
                return self._parse_lines(block, base)
            records: list[tuple[int, dict[str, Any]]] = []
            position = base
            for start, ends, given in adopted:
                if start > position:
                    records.extend(
                        self._parse_lines(block[position - base : start - base], position)
                    )
                records.extend(zip(ends, given, strict=True))
                self.stats.records += len(given)
                position = ends[-1]
            if position < base + len(block):
                records.extend(self._parse_lines(block[position - base :], position))
            return records

    def _parse_lines(self, block: bytes | bytearray, base: int) -> list[tuple[int, dict[str, Any]]]:
        records = []
        position = base
        checked, stream = self._checked, self._stream
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
                if checked is not None:
                    self.stats.invalid_fields += drop_invalid(record, stream, checked)
                records.append((position, record))
            else:
                self.stats.torn_lines += 1
        self.stats.records += len(records)
        return records


def offset_in(
    path: Path, position: Mapping[str, int], file: StreamFile, *, by_head: bool = True
) -> int | None:
    """Where a checkpointed ``position`` of ``path``'s stream lies in ``file``; None when
    ``file`` is another file (the stream rotated since, and this is a newer one).

    The position's own offset when ``file`` is the file it was taken in: the
    same inode (and first line), or, once the store was copied and every inode
    changed, the same first line in a file at least that long. Translated when
    an erasure rewrote that file into this one. Without ``by_head``, only what
    the inodes say (the position is of this store, not of a copy).
    """
    offset = int(position.get("offset", 0))
    inode, head = position.get("inode"), int(position.get("head", 0))
    if inode == file.inode and _agree(head, file.head):
        return offset
    for rewrite in _rewrites_into(path, file, scan=by_head):
        # Both inodes were recorded in the same place and time, so they
        # compare even in a copy of the store.
        if rewrite.get("old_inode") == inode and _agree(head, int(rewrite.get("old_head", 0))):
            removed = rewrite.get("removed", [])
            return offset - sum(int(length) for start, length in removed if int(start) < offset)
    if by_head and head and head == file.head and file.size >= offset:
        return offset
    return None


def _agree(head: int, other: int) -> bool:
    # An unknown fingerprint (a checkpoint from before they were kept, or an
    # empty file) leaves the inode to decide.
    return not head or not other or head == other


def _rewrites_into(path: Path, file: StreamFile, *, scan: bool) -> Iterator[dict[str, Any]]:
    """The erasure maps that may describe how ``file`` came to be: the one named by its
    inode, then (in a copy of the store, where that name is stale) those naming its first line."""
    folder = path.parent.parent / ".rewrites"
    named = folder / f"{file.inode}.json"
    rewrite = _read_map(named)
    if rewrite is not None and _agree(int(rewrite.get("new_head", 0)), file.head):
        yield rewrite
    if not scan or not file.head or not folder.is_dir():
        return
    for other in sorted(folder.glob("*.json")):
        if other != named:
            rewrite = _read_map(other)
            if rewrite is not None and rewrite.get("new_head") == file.head:
                yield rewrite


def _read_map(path: Path) -> dict[str, Any] | None:
    try:
        data = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _file_of(fd: int) -> StreamFile:
    status = os.fstat(fd)
    return StreamFile(status.st_ino, head_fingerprint(os.pread(fd, _HEAD_BYTES, 0)), status.st_size)


def _file_at(path: Path) -> StreamFile | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        return _file_of(fd)
    finally:
        os.close(fd)


def _segments(path: Path) -> list[tuple[Path, StreamFile]]:
    """The rotated segments not yet compressed (a tail can still read those), oldest first."""
    found = []
    for segment in segment_paths(path):
        if segment != path and not segment.name.endswith((".gz", ".parquet")):
            file = _file_at(segment)
            if file is not None:
                found.append((segment, file))
    return found


def _locate(
    path: Path, position: Mapping[str, int], files: list[tuple[Path, StreamFile]]
) -> tuple[Path, StreamFile, int] | None:
    """The first of ``files`` that ``position`` is of, and its offset there.

    What the inodes say comes first: a first line is only asked about when no
    file has the position's inode (the store was copied).
    """
    for by_head in (False, True):
        for where, file in files:
            offset = offset_in(path, position, file, by_head=by_head)
            if offset is not None:
                return where, file, offset
    return None
