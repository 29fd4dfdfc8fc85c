"""The audit trail: hash-chained records of who did what, when, where, on what, with what outcome.

Each record of ``compliance/audit_logs.jsonl`` holds the NIST SP 800-53 AU-3
content (``timestamp``, ``actor``, ``action``, ``resource``, ``outcome``,
``service``, ``host``, ``pid``, ``details``) plus ``seq``, ``prev_hash`` and
``hash`` = SHA-256 of the previous record's hash and this record's canonical
serialisation (sorted keys, compact JSON, without ``hash`` and ``seal``; the
line is written as exactly those bytes with ``hash`` and ``seal`` added at the
end, so verification hashes the line as stored without re-encoding it). As in
CloudTrail's log-file integrity validation, changing, removing, inserting or
reordering any record breaks the chain at that record. With ``FF_OTEL_AUDIT_KEY``
(a secret kept outside the store) each record also carries ``seal`` =
HMAC-SHA256(key, hash), so even someone who rewrites the whole file cannot
produce a chain that verifies.

Appending reads the last record and writes the next one under the file's
append lock, so processes sharing a store extend one chain; the chain goes on
across rotated and compressed segments.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ff_otel import _clock
from ff_otel.environment_variables import FF_OTEL_AUDIT_KEY
from ff_otel.store.appender import ChainedAppender
from ff_otel.store.reader import segment_paths

GENESIS = "0" * 64
_TAIL_BYTES = 64 * 1024
_HOST = socket.gethostname()


@dataclass(frozen=True)
class VerificationResult:
    """``ok``; ``records`` checked; ``first_bad_index`` (0-based) and ``reason`` when not ok."""

    ok: bool
    records: int
    first_bad_index: int | None = None
    reason: str | None = None
    sealed: bool = False


def canonical(record: dict[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k not in ("hash", "seal")}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(record)).hexdigest()


def _seal_key() -> bytes | None:
    key = os.environ.get(FF_OTEL_AUDIT_KEY)
    return key.encode() if key else None


class AuditTrail:
    """Appends chained records to one store's audit log."""

    def __init__(self, path: Path, service: str | None) -> None:
        self.path = path
        self.service = service or "unknown_service"
        self._lock = threading.Lock()
        self._appender = ChainedAppender(path)
        # (inode, size) of the file after our last append, and its last record:
        # while nobody else appended, the next record needs no read.
        self._known: tuple[int, int, int, str] | None = None

    def append(
        self,
        actor: str,
        action: str,
        resource: str,
        outcome: str = "success",
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write one record and return it (with its hash)."""
        record: dict[str, Any] = {
            "timestamp": _clock.now_iso(),
            "actor": actor,
            "action": action,
            "resource": resource,
            "outcome": outcome,
            "service": self.service,
            "host": _HOST,
            "pid": os.getpid(),
            "details": details or {},
        }
        key = _seal_key()
        with self._lock:

            def build(fd: int, size: int, inode: int) -> bytes:
                seq, prev = self._last(fd, size, inode)
                record["seq"] = seq + 1
                record["prev_hash"] = prev
                body = canonical(record)
                record["hash"] = hashlib.sha256(prev.encode() + body).hexdigest()
                tail = f',"hash":"{record["hash"]}"'
                if key is not None:
                    record["seal"] = hmac.new(key, record["hash"].encode(), "sha256").hexdigest()
                    tail += f',"seal":"{record["seal"]}"'
                return body[:-1] + tail.encode() + b"}\n"

            inode, size = self._appender.append(build)
            self._known = (inode, size, int(record["seq"]), str(record["hash"]))
        return record

    def close(self) -> None:
        self._appender.close()

    def _last(self, fd: int, size: int, inode: int) -> tuple[int, str]:
        known = self._known
        if known is not None and known[0] == inode and known[1] == size:
            return known[2], known[3]
        if size:
            start = max(0, size - _TAIL_BYTES)
            tail = os.pread(fd, size - start, start)
            for line in reversed(tail.splitlines()):
                try:
                    last = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(last, dict) and "hash" in last:
                    return int(last.get("seq", 0)), str(last["hash"])
        return _last_of_segments(self.path)


def _last_of_segments(path: Path) -> tuple[int, str]:
    # The active file is empty (just rotated): the chain goes on from the
    # newest rotated segment.
    rotated = [p for p in segment_paths(path) if p != path]
    if not rotated:
        return 0, GENESIS
    newest = rotated[-1]
    opener = gzip.open if newest.name.endswith(".gz") else open
    last: dict[str, Any] | None = None
    with opener(newest, "rb") as handle:
        for line in handle:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict) and "hash" in record:
                last = record
    if last is None:
        return 0, GENESIS
    return int(last.get("seq", 0)), str(last["hash"])


def verify(path: Path, progress: Callable[[int], None] | None = None) -> VerificationResult:
    """Walk the whole chain (every segment, oldest first) and report the first break.

    ``progress`` (for a progress bar) is called with the records checked so far,
    every 10,000 records.
    """
    key = _seal_key()
    previous = GENESIS.encode()
    index = 0
    for line in _lines(path):
        bad = _check_line(line, previous, index + 1, key)
        if isinstance(bad, str):
            return VerificationResult(False, index, index, bad)
        previous = bad
        index += 1
        if progress is not None and index % 10_000 == 0:
            progress(index)
    return VerificationResult(True, index, sealed=key is not None)


def _check_line(line: bytes, previous: bytes, seq: int, key: bytes | None) -> bytes | str:
    """The line's hash when it continues the chain, else why it does not."""
    marker = line.rfind(b',"hash":"')
    if marker < 0 or not line.endswith(b"}"):
        return "unreadable record"
    body = line[:marker] + b"}"
    stored = line[marker + 9 : marker + 9 + 64]
    # Position in the chain first: a removed, inserted or reordered record
    # breaks the link even where its own hash is intact.
    if (
        b'"prev_hash":"' + previous + b'"' not in body
        or b'"seq":' + str(seq).encode() + b"," not in body
    ):
        return "a record was removed, inserted or reordered here"
    digest = hashlib.sha256(previous + body).hexdigest().encode()
    if digest != stored:
        return "record altered"
    if key is not None:
        seal = hmac.new(key, stored, "sha256").hexdigest().encode()
        if line.find(b',"seal":"' + seal + b'"', marker) < 0:
            return "seal does not match the key"
    return stored


def _lines(path: Path) -> Iterator[bytes]:
    for segment in segment_paths(path):
        opener = gzip.open if segment.name.endswith(".gz") else open
        try:
            with opener(segment, "rb") as handle:
                for line in handle:
                    stripped = line.rstrip(b"\n")
                    if stripped:
                        yield stripped
        except FileNotFoundError:
            continue
