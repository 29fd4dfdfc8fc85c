"""The one JSONL appender.

A batch of records becomes one buffer of whole lines written with a single
``O_APPEND`` write under an exclusive ``flock``, so lines from several threads
or processes never interleave. If an earlier writer died mid-line, the torn
fragment is closed with a newline first: it stays one unreadable line (the
reader counts it) and never swallows the next good record. A write that fails
part way (a full disk) is cut back under the same lock, so it leaves the file
exactly as it was and the caller may retry the whole batch.

A record that cannot be serialised does not cost its neighbours: it is stored
repaired (see :func:`ff_otel.store.limits.repair`), or alone left out, and
either is counted in the :class:`SerializationFaults` the caller passes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ff_otel.store.limits import repair

_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_DUMP_OPTIONS = orjson.OPT_APPEND_NEWLINE
# Non-str dict keys (a log body may be any dict) are serialised as their text.
# orjson is about 40% slower with this option on, and nearly every record
# has only str keys, so it is used only for a record that needs it.
_DUMP_OPTIONS_ANY_KEYS = _DUMP_OPTIONS | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    # Attribute values are already JSON types; anything else (a set, a Path,
    # an object a user put in an event) is stored as its text, not dropped.
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


@dataclass
class SerializationFaults:
    """Records an appender stored repaired, or could not store at all, and the last reason."""

    repaired: int = 0
    dropped: int = 0
    last_reason: str | None = None


@dataclass(frozen=True)
class Oversize:
    """What to do with a record whose line is longer than ``max_bytes``.

    A string value longer than a length limit makes its line at least that
    long, so a length limit need only be applied to those records: ``shrink``
    cuts the record in place (returning True when it changed it) and the line
    is made again.
    """

    max_bytes: int
    shrink: Callable[[Any], bool]


def _serialize(
    records: Iterable[Mapping[str, Any]],
    faults: SerializationFaults | None = None,
    oversize: Oversize | None = None,
    ends: list[int] | None = None,
) -> bytearray:
    """Records as JSONL bytes: one compact JSON object per line; ``ends`` (when given)
    receives where each record's line ends in them."""
    # Each line is copied into one growing buffer and freed at once, so the
    # same few blocks of memory are reused. ``b"".join`` would first hold every
    # line of the batch at the same time; touching that much fresh memory
    # measured three times slower for a batch of 512 spans.
    payload = bytearray()
    extend = payload.extend
    dumps = orjson.dumps
    longest = oversize.max_bytes if oversize is not None else -1
    for record in records:
        try:
            line = dumps(record, default=_default, option=_DUMP_OPTIONS)
        except TypeError:
            line = _dump_or_repair(record, faults)
        if longest >= 0 and len(line) > longest:
            line = _shrunk(record, line, oversize, faults)  # type: ignore[arg-type]
        extend(line)
        if ends is not None:
            ends.append(len(payload))
    return payload


def _shrunk(
    record: Mapping[str, Any], line: bytes, oversize: Oversize, faults: SerializationFaults | None
) -> bytes:
    if not oversize.shrink(record):
        return line
    try:
        return orjson.dumps(record, default=_default, option=_DUMP_OPTIONS)
    except TypeError:
        return _dump_or_repair(record, faults)


def _dump_or_repair(record: Mapping[str, Any], faults: SerializationFaults | None) -> bytes:
    # orjson refused the record: non-str keys are common (any dict in a log
    # body) and only need the slower option; anything else is repaired.
    try:
        return orjson.dumps(record, default=_default, option=_DUMP_OPTIONS_ANY_KEYS)
    except (TypeError, RecursionError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
    if faults is None:
        faults = _unattributed
    faults.last_reason = reason
    try:
        line = orjson.dumps(repair(record, reason), default=_default, option=_DUMP_OPTIONS)
    except Exception as exc:  # a value whose own __str__ fails: this record alone is lost
        faults.dropped += 1
        faults.last_reason = f"{reason}; repair failed: {type(exc).__name__}: {exc}"
        return b""
    faults.repaired += 1
    return line


_unattributed = SerializationFaults()
"""Faults of appends whose caller keeps no count of its own."""


def append_records(
    path: Path,
    records: Iterable[Mapping[str, Any]],
    faults: SerializationFaults | None = None,
    oversize: Oversize | None = None,
) -> int:
    """Append records to ``path`` as whole lines; returns how many were written.

    A record that cannot be serialised is stored repaired or left out alone,
    counted in ``faults``; a line longer than ``oversize.max_bytes`` is cut by
    ``oversize.shrink`` first. Raises ``OSError`` when the file cannot be
    written (nothing of the batch is then in the file); callers catch, log and
    count it.
    """
    payload = _serialize(records, faults, oversize)
    if not payload:
        return 0
    append_bytes(path, payload)
    return payload.count(b"\n")


@dataclass(frozen=True)
class Placed:
    """Where an append put its lines: the file (by inode), the offset the first starts at
    and the offset past each line."""

    inode: int
    start: int
    ends: list[int]


def append_records_placed(
    path: Path, records: Sequence[Mapping[str, Any]], faults: SerializationFaults
) -> Placed | None:
    """:func:`append_records`, saying where each record's line now ends in the file.

    None when nothing was written, or when a record was stored repaired or
    left out (its line is not the record given).
    """
    before = (faults.repaired, faults.dropped)
    ends: list[int] = []
    payload = _serialize(records, faults, None, ends)
    if not payload:
        return None
    inode, start = append_bytes(path, payload)
    if (faults.repaired, faults.dropped) != before:
        return None
    return Placed(inode, start, [start + end for end in ends])


def append_bytes(path: Path, payload: bytes | bytearray) -> tuple[int, int]:
    """Append pre-serialised whole lines to ``path`` in one locked write; returns the
    file's inode and the offset the payload starts at."""
    fd = _open_locked(path)
    try:
        status = os.fstat(fd)
        written = _write_whole_lines(fd, status.st_size, payload)
        # A newline closing a torn last line may have come first.
        return status.st_ino, status.st_size + written - len(payload)
    finally:
        _close(fd)


def _write_whole_lines(fd: int, size: int, payload: bytes | bytearray) -> int:
    """Write ``payload`` at the end, first closing a torn last line; returns bytes written."""
    if size and os.pread(fd, 1, size - 1) != b"\n":
        payload = b"\n" + payload
    view = memoryview(payload)
    try:
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except OSError:
        # A full disk took part of the batch: cut it off (the lock is held, so
        # nothing else was appended), leaving no torn line for readers or the
        # audit chain, and the whole batch to retry.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
        raise
    return len(payload)


class ChainedAppender:
    """Appends to one file whose next line depends on its last (the audit chain).

    ``append(build)`` calls ``build(fd, size, inode)`` while holding the file's
    lock, so the line it returns follows the true last line even with other
    processes appending. The file stays open between appends (an audit trail
    is written often); a rotation is noticed by its new inode, as in
    :func:`append_bytes`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._inode = -1

    def append(
        self,
        build: Callable[[int, int, int], bytes],
        written: Callable[[int, int], None] | None = None,
    ) -> tuple[int, int]:
        """Returns the file's inode and size after the write.

        ``written(inode, size)``, when given, runs after the write and still
        under the lock (the audit trail's anchor is replaced there).
        """
        while True:
            if self._fd is None:
                self._fd = os.open(self.path, _OPEN_FLAGS, 0o644)
                self._inode = os.fstat(self._fd).st_ino
            fd = self._fd
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                try:
                    current = os.stat(self.path).st_ino
                except FileNotFoundError:
                    current = None
                if current != self._inode:
                    self._reopen()
                    continue
                size = os.fstat(fd).st_size
                size += _write_whole_lines(fd, size, build(fd, size, self._inode))
                if written is not None:
                    written(self._inode, size)
                return self._inode, size
            finally:
                if self._fd == fd:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _reopen(self) -> None:
        assert self._fd is not None
        os.close(self._fd)
        self._fd = None


def _open_locked(path: Path) -> int:
    """Open ``path`` for appending and hold its lock.

    Rotation renames the file under the same lock; a writer that opened the old
    name just before sees a different inode once it holds the lock, and opens
    again so nothing lands in a segment that was already closed.
    """
    while True:
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            if current is not None and current.st_ino == os.fstat(fd).st_ino:
                return fd
        except BaseException:
            _close(fd)
            raise
        _close(fd)


_open_fds: set[int] = set()
"""Descriptors ``append_bytes`` has open right now."""
_fds_lock = threading.Lock()
"""Held while a descriptor is opened or closed, and across a fork: the set is then exact."""


def _open(path: Path) -> int:
    with _fds_lock:
        fd = os.open(path, _OPEN_FLAGS, 0o644)
        _open_fds.add(fd)
    return fd


def _close(fd: int) -> None:
    with _fds_lock:
        _open_fds.discard(fd)
        os.close(fd)


def _close_inherited_descriptors() -> None:
    # A child forked while another thread was appending has a copy of that
    # thread's descriptor. A flock belongs to the open file, not the process:
    # the copy would keep the file locked after the parent's write (or take
    # the lock with it), stalling every writer of the file for as long as the
    # child lives. Closing the copy, never unlocking it, leaves the parent's
    # write alone.
    for fd in _open_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    _open_fds.clear()
    _fds_lock.release()


os.register_at_fork(
    before=_fds_lock.acquire,
    after_in_parent=_fds_lock.release,
    after_in_child=_close_inherited_descriptors,
)
