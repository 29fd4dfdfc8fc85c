"""One collector per store: a lease held as an exclusive ``flock`` on a lock file.

Store-wide work (host resource readings, interval snapshots, alerts)
must happen once per interval however many worker processes share the store.
The first process to lock ``analytics/.collector.lock`` (at ``configure()``,
see :meth:`Pipeline.claim_collector`) does it; the others try
again every interval, so when the holder dies (the kernel drops its lock) one
of them takes over within an interval.

A lock is shared by every descriptor forked from the one that took it, so a
fork never copies a descriptor this module has not recorded: opening, locking
and closing happen under a guard that a fork waits for, and the child closes
its copies before it runs anything else.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from pathlib import Path

_leases: weakref.WeakSet[CollectorLease] = weakref.WeakSet()
_fork_guard = threading.Lock()


class CollectorLease:
    """Non-blocking attempts to become, and stay, the store's collector."""

    def __init__(self, lock_path: Path) -> None:
        self.lock_path = lock_path
        self._fd: int | None = None
        _leases.add(self)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """True when this process holds the lease (now or already)."""
        with _fork_guard:
            if self._fd is not None:
                return True
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError:
                pass  # a full disk: the lock is the lease, the pid in the file only informs
            return True

    def release(self) -> None:
        with _fork_guard:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _forget_inherited_leases() -> None:
    # A forked worker shares its parent's lock; only the parent holds the lease.
    for lease in list(_leases):
        if lease._fd is not None:
            os.close(lease._fd)
            lease._fd = None
    _fork_guard.release()


os.register_at_fork(
    before=_fork_guard.acquire,
    after_in_parent=_fork_guard.release,
    after_in_child=_forget_inherited_leases,
)
