"""The one JSONL appender.

A batch of records becomes one buffer of whole lines written with a single
``O_APPEND`` write under an exclusive ``flock``, so lines from several threads
or processes never interleave. If an earlier writer died mid-line, the torn
fragment is closed with a newline first: it stays one unreadable line (the
reader counts it) and never swallows the next good record.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

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


def _serialize(records: Iterable[Mapping[str, Any]]) -> bytearray:
    """Records as JSONL bytes: one compact JSON object per line."""
    # Each line is copied into one growing buffer and freed at once, so the
    # same few blocks of memory are reused. ``b"".join`` would first hold every
    # line of the batch at the same time; touching that much fresh memory
    # measured three times slower for a batch of 512 spans.
    payload = bytearray()
    extend = payload.extend
    dumps = orjson.dumps
    for record in records:
        try:
            line = dumps(record, default=_default, option=_DUMP_OPTIONS)
        except TypeError:
            line = dumps(record, default=_default, option=_DUMP_OPTIONS_ANY_KEYS)
        extend(line)
    return payload


def append_records(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Append records to ``path`` as whole lines; returns how many were written.

    Raises ``OSError`` when the file cannot be written; callers on exporter
    threads catch, log and count it.
    """
    payload = _serialize(records)
    if not payload:
        return 0
    append_bytes(path, payload)
    return payload.count(b"\n")


def append_bytes(path: Path, payload: bytes | bytearray) -> None:
    """Append pre-serialised whole lines to ``path`` in one locked write."""
    fd = _open_locked(path)
    try:
        _write_whole_lines(fd, os.fstat(fd).st_size, payload)
    finally:
        _close(fd)


def _write_whole_lines(fd: int, size: int, payload: bytes | bytearray) -> int:
    """Write ``payload`` at the end, first closing a torn last line; returns bytes written."""
    if size and os.pread(fd, 1, size - 1) != b"\n":
        payload = b"\n" + payload
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]
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
