"""The audit chain's head kept outside the file it covers: truncation and deletion become visible.

A hash chain alone cannot show that its end was cut off: the records that are
left still link up. So each append also overwrites ``audit_logs.anchor.json``
beside the trail with the chain's head, ``records`` (the last ``seq``) and
``last_hash``, under the trail's append lock, so processes sharing a store keep
it consistent. The anchor is one JSON document padded to whole 512-byte blocks
and written in place by a single ``pwrite``: a killed process leaves the old
anchor or the new one, never a mix, and readers under the lock see one of the
two. It is not fsynced, like the records it covers (the appender leaves
durability to the page cache), so it is exactly as durable as the trail; a
temp-file-fsync-rename per append cost 100 times the append itself. With
``FF_OTEL_AUDIT_KEY`` the anchor carries ``seal`` = HMAC-SHA256(key,
``"<records>:<last_hash>"``): nobody without the key can move it back.
Without the key, whoever can rewrite the store can rewrite the trail and its
anchor consistently; that is not detectable without a secret kept elsewhere.
"""

from __future__ import annotations

import errno
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ff_otel.compliance.chain import seal
from ff_otel.core import clock
from ff_otel.store.documents import read_json


@dataclass(frozen=True)
class Anchor:
    """The chain's head as the last append left it."""

    records: int
    """The last record's ``seq``."""
    last_hash: str


class AnchorUnusable(ValueError):
    """The anchor file exists but cannot be trusted; the message says why."""


def anchor_path(trail: Path) -> Path:
    return trail.with_name(trail.name.removesuffix(".jsonl") + ".anchor.json")


_BLOCK = 512


def write_anchor(trail: Path, head: Anchor, key: bytes | None) -> None:
    """Overwrite the anchor in place: one ``pwrite`` of whole blocks (see the module docstring)."""
    document = orjson.dumps(anchor_document(trail, head, key))
    size = -(-(len(document) + 1) // _BLOCK) * _BLOCK
    block = document.ljust(size - 1) + b"\n"
    fd = os.open(anchor_path(trail), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        if os.pwrite(fd, block, 0) != len(block):
            raise OSError(errno.ENOSPC, "short write of the audit anchor", str(anchor_path(trail)))
        if os.fstat(fd).st_size > size:
            os.ftruncate(fd, size)
    finally:
        os.close(fd)


def anchor_document(trail: Path, head: Anchor, key: bytes | None) -> dict[str, Any]:
    """The anchor as stored (and as published to a collector)."""
    document: dict[str, Any] = {
        "trail": trail.name,
        "records": head.records,
        "last_hash": head.last_hash,
        "updated_at": clock.now_iso(),
    }
    if key is not None:
        document["seal"] = seal(key, _sealed_text(head))
    return document


def read_anchor(trail: Path, key: bytes | None) -> Anchor | None:
    """The anchored head; None when there is no anchor file.

    Raises :class:`AnchorUnusable` when it is unreadable, or (with a key)
    unsealed or sealed with another key.
    """
    try:
        document = read_json(anchor_path(trail))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise AnchorUnusable(f"the anchor cannot be read ({exc})") from None
    if not isinstance(document, dict):
        raise AnchorUnusable("the anchor is not a JSON object")
    records, last_hash = document.get("records"), document.get("last_hash")
    if not isinstance(records, int) or not isinstance(last_hash, str):
        raise AnchorUnusable("the anchor has no records count and last hash")
    head = Anchor(records, last_hash)
    if key is not None:
        stored = document.get("seal")
        if not isinstance(stored, str):
            raise AnchorUnusable("the anchor is not sealed although FF_OTEL_AUDIT_KEY is set")
        if not hmac.compare_digest(stored, seal(key, _sealed_text(head))):
            raise AnchorUnusable("the anchor's seal does not match FF_OTEL_AUDIT_KEY")
    return head


def _sealed_text(head: Anchor) -> bytes:
    return f"{head.records}:{head.last_hash}".encode()
