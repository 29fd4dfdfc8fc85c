"""What the audit chain is made of: the genesis hash, a record's canonical bytes, its hash and seal.

``hash`` = SHA-256 of the previous record's hash and this record's canonical
serialisation (sorted keys, compact JSON, without ``hash`` and ``seal``);
``seal`` = HMAC-SHA256(``FF_OTEL_AUDIT_KEY``, ``hash``) when the key is set.
Shared by the writer (:mod:`ff_otel.compliance.audit`), the anchor and the verifier.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

import orjson

from ff_otel.environment_variables import FF_OTEL_AUDIT_KEY

GENESIS = "0" * 64

GAP_ACTION = "audit_gap"
"""A record saying the line before it is a write that was cut short, not a record."""
MISMATCH_ACTION = "audit_anchor_mismatch"
"""A record saying the trail's head did not match its anchor when it was appended."""


def canonical(record: dict[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k not in ("hash", "seal")}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(record)).hexdigest()


def seal_key() -> bytes | None:
    key = os.environ.get(FF_OTEL_AUDIT_KEY)
    return key.encode() if key else None


def seal(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, "sha256").hexdigest()


def sealed_line(record: dict[str, Any], key: bytes | None) -> bytes:
    """``record`` (``seq`` and ``prev_hash`` set) as its stored line; sets ``hash`` and ``seal``.

    The line is the canonical bytes with ``hash`` and ``seal`` added at the
    end, so verification hashes the line as stored without re-encoding it.
    """
    body = canonical(record)
    record["hash"] = hashlib.sha256(str(record["prev_hash"]).encode() + body).hexdigest()
    tail = f',"hash":"{record["hash"]}"'
    if key is not None:
        record["seal"] = seal(key, record["hash"].encode())
        tail += f',"seal":"{record["seal"]}"'
    return body[:-1] + tail.encode() + b"}\n"
