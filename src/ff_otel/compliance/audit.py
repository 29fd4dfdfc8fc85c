"""The audit trail: hash-chained records of who did what, when, where, on what, with what outcome.

Each record of ``compliance/audit_logs.jsonl`` holds the NIST SP 800-53 AU-3
content (``timestamp``, ``actor``, ``action``, ``resource``, ``outcome``,
``service``, ``host``, ``pid``, ``details``) plus ``seq``, ``prev_hash`` and
``hash`` (see :mod:`ff_otel.compliance.chain`). As in CloudTrail's log-file
integrity validation, changing, removing, inserting or reordering any record
breaks the chain at that record; the anchor (:mod:`ff_otel.compliance.anchor`)
shows records cut off the end. With ``FF_OTEL_AUDIT_KEY`` (a secret kept
outside the store) each record and the anchor are also sealed with
HMAC-SHA256, so even someone who rewrites the whole file cannot produce a
chain that verifies.

Appending reads the last record and writes the next one under the file's
append lock, then replaces the anchor under the same lock, so processes
sharing a store extend one chain and one anchor; the chain goes on across
rotated and compressed segments. An append also repairs what it finds:

- a torn last line (a write cut short by a full disk or a killed writer; the
  record it held was never acknowledged) is closed and followed by an
  ``audit_gap`` record naming its offset, length and SHA-256, so verification
  reports a gap with its cause instead of a break;
- a head that does not match the anchor (records cut off the end, a record
  added after the anchored head, a missing or damaged anchor) is recorded as
  an ``audit_anchor_mismatch`` record before the new one, so what was found
  stays visible after the trail goes on.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from ff_otel.compliance.anchor import (
    Anchor,
    AnchorUnusable,
    anchor_document,
    read_anchor,
    write_anchor,
)
from ff_otel.compliance.chain import (
    GAP_ACTION,
    GENESIS,
    MISMATCH_ACTION,
    canonical,
    chain_hash,
    seal,
    seal_key,
    sealed_line,
)
from ff_otel.compliance.verification import AuditGap, VerificationResult, verify
from ff_otel.core import clock
from ff_otel.store.appender import ChainedAppender
from ff_otel.store.reader import segment_paths

__all__ = [
    "GENESIS",
    "AuditGap",
    "AuditTrail",
    "VerificationResult",
    "canonical",
    "chain_hash",
    "verify",
]

_TAIL_BYTES = 64 * 1024
_HOST = socket.gethostname()
_FF_OTEL_ACTOR = "system:ff-otel"
_logger = logging.getLogger("ff_otel.compliance")

AnchorPublisher = Callable[[dict[str, Any]], None]
_publishers: dict[Path, AnchorPublisher] = {}


def publish_anchors(trail: Path, publisher: AnchorPublisher | None) -> None:
    """Also hand every new head of the trail at ``trail`` to ``publisher`` (None: stop).

    ``configure()`` sends it to the OTLP log stream with
    ``FF_OTEL_AUDIT_ANCHOR_TO_OTLP``: a copy of the anchor outside this host.
    """
    if publisher is None:
        _publishers.pop(trail.resolve(), None)
    else:
        _publishers[trail.resolve()] = publisher


class AuditTrail:
    """Appends chained records to one store's audit log and keeps its anchor."""

    def __init__(self, path: Path, service: str | None) -> None:
        self.path = path
        self.service = service or "unknown_service"
        self._lock = threading.Lock()
        self._appender = ChainedAppender(path)
        self._resolved = path.resolve()
        # (inode, size) of the file after our last append, and its last record:
        # while nobody else appended, the next record needs no read, and the
        # anchor is the one we wrote.
        self._known: tuple[int, int, int, str] | None = None

    def append(
        self,
        actor: str,
        action: str,
        resource: str,
        outcome: str = "success",
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write one record (after any gap or mismatch record it has to write first); return it.

        Raises ``OSError`` when the record cannot be written. A failure to
        replace the anchor after the record is written is logged, not raised:
        the record is stored, and this process's next append re-anchors.
        """
        record = self._record(actor, action, resource, outcome, details or {})
        key = seal_key()
        with self._lock:
            written: list[dict[str, Any]] = []

            def build(fd: int, size: int, inode: int) -> bytes:
                written.clear()
                known = self._known
                ours = known is not None and known[0] == inode and known[1] == size
                if known is not None and ours:
                    end, (seq, prev, head_line) = size, (known[2], known[3], b"")
                else:
                    end = _end_of_whole_lines(fd, size)
                    seq, prev, head_line = self._last(fd, end)
                pending: list[dict[str, Any]] = []
                if end < size:
                    pending.append(self._gap(os.pread(fd, size - end, end), end))
                if not ours:
                    mismatch = _anchor_mismatch(self.path, key, seq, prev, head_line)
                    if mismatch is not None:
                        pending.append(
                            self._record(
                                _FF_OTEL_ACTOR, MISMATCH_ACTION, self.path.name, "failure", mismatch
                            )
                        )
                pending.append(record)
                lines = []
                for each in pending:
                    seq += 1
                    each["seq"], each["prev_hash"] = seq, prev
                    lines.append(sealed_line(each, key))
                    prev = str(each["hash"])
                    written.append(each)
                return b"".join(lines)

            def anchor(inode: int, size: int) -> None:
                self._known = (inode, size, int(record["seq"]), str(record["hash"]))
                head = Anchor(int(record["seq"]), str(record["hash"]))
                try:
                    write_anchor(self.path, head, key)
                except OSError:
                    _logger.exception(
                        "ff-otel: audit record %s is stored but its anchor %s could not be "
                        "replaced; the next append re-anchors",
                        record["seq"],
                        self.path,
                    )

            self._appender.append(build, anchor)
            publisher = _publishers.get(self._resolved)
            if publisher is not None:
                head = Anchor(int(record["seq"]), str(record["hash"]))
                try:
                    publisher(anchor_document(self.path, head, key))
                except Exception:
                    _logger.exception(
                        "ff-otel: could not publish the audit anchor of %s", self.path
                    )
        return record

    def close(self) -> None:
        self._appender.close()

    def _record(
        self, actor: str, action: str, resource: str, outcome: str, details: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "timestamp": clock.now_iso(),
            "actor": actor,
            "action": action,
            "resource": resource,
            "outcome": outcome,
            "service": self.service,
            "host": _HOST,
            "pid": os.getpid(),
            "details": details,
        }

    def _gap(self, torn: bytes, offset: int) -> dict[str, Any]:
        return self._record(
            _FF_OTEL_ACTOR,
            GAP_ACTION,
            self.path.name,
            "failure",
            {
                "cause": "torn_line",
                "explanation": "a write was cut short (a full disk or a killed writer); the "
                "record it held was never acknowledged, so the line is no record",
                "torn_offset": offset,
                "torn_bytes": len(torn),
                "torn_sha256": hashlib.sha256(torn).hexdigest(),
            },
        )

    def _last(self, fd: int, end: int) -> tuple[int, str, bytes]:
        """``seq``, ``hash`` and line of the last record in the first ``end`` bytes (or before)."""
        if end:
            start = max(0, end - _TAIL_BYTES)
            for line in reversed(os.pread(fd, end - start, start).splitlines()):
                found = _head_of(line)
                if found is not None:
                    return found
        return _last_of_segments(self.path)


def _end_of_whole_lines(fd: int, size: int) -> int:
    """Where the file's last whole line ends: ``size`` unless a torn line follows it."""
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    position = size
    while position > 0:
        start = max(0, position - _TAIL_BYTES)
        newline = os.pread(fd, position - start, start).rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        position = start
    return 0


def _head_of(line: bytes) -> tuple[int, str, bytes] | None:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(record, dict) and isinstance(record.get("hash"), str):
        seq = record.get("seq", 0)
        return (seq if isinstance(seq, int) else 0), record["hash"], line
    return None


def _last_of_segments(path: Path) -> tuple[int, str, bytes]:
    # The active file is empty (just rotated): the chain goes on from the
    # newest rotated segment.
    rotated = [p for p in segment_paths(path) if p != path]
    if not rotated:
        return 0, GENESIS, b""
    newest = rotated[-1]
    opener = gzip.open if newest.name.endswith(".gz") else open
    last: tuple[int, str, bytes] = (0, GENESIS, b"")
    with opener(newest, "rb") as handle:
        for line in handle:
            found = _head_of(line.rstrip(b"\n"))
            if found is not None:
                last = found
    return last


def _anchor_mismatch(
    path: Path, key: bytes | None, seq: int, last_hash: str, head_line: bytes
) -> dict[str, Any] | None:
    """What an ``audit_anchor_mismatch`` record says, or None when the head is the anchored one."""
    try:
        anchor = read_anchor(path, key)
    except AnchorUnusable as exc:
        return {"kind": "anchor_unusable", "explanation": str(exc), "found_records": seq}
    if anchor is None:
        if seq == 0:
            return None  # a new trail
        return {
            "kind": "anchor_missing",
            "explanation": "the trail had records but no anchor (written before anchors "
            "existed, or the anchor was deleted); anchored from here on",
            "found_records": seq,
            "found_hash": last_hash,
        }
    if (anchor.records, anchor.last_hash) == (seq, last_hash):
        return None
    found = {
        "anchored_records": anchor.records,
        "anchored_hash": anchor.last_hash,
        "found_records": seq,
        "found_hash": last_hash,
    }
    if seq < anchor.records:
        return {
            "kind": "truncated",
            "explanation": f"{anchor.records - seq} anchored record(s) were missing from the "
            "end of the trail",
            **found,
        }
    if seq > anchor.records:
        if seq == anchor.records + 1 and key is not None and _sealed_after(head_line, anchor, key):
            return None  # a writer stopped between its record and its anchor: sealed, so ours
        return {
            "kind": "beyond_anchor",
            "explanation": f"{seq - anchor.records} record(s) followed the anchored head",
            **found,
        }
    return {
        "kind": "head_replaced",
        "explanation": "the last record is not the anchored one",
        **found,
    }


def _sealed_after(line: bytes, anchor: Anchor, key: bytes) -> bool:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return (
        isinstance(record, dict)
        and record.get("prev_hash") == anchor.last_hash
        and record.get("hash") == chain_hash(anchor.last_hash, record)
        and record.get("seal") == seal(key, str(record["hash"]).encode())
    )
