"""The secret behind every pseudonym: created once per store, or given by the operator.

A keyed hash (HMAC) of a user id cannot be reversed by hashing a list of
candidate ids, as an unsalted SHA-256 can, as long as the key stays secret.
``FF_OTEL_HASH_KEY`` (hex or any text) wins; otherwise the store keeps a random
32-byte key in ``analytics/.hash_key``, readable by its owner only (0600).
Every process sharing a store reads the same key, so they agree on pseudonyms.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ff_otel.environment_variables import FF_OTEL_HASH_KEY

_KEY_BYTES = 32


def load_hash_key(analytics_path: Path) -> bytes:
    """The store's pseudonymisation key, creating it on first use."""
    from_env = os.environ.get(FF_OTEL_HASH_KEY)
    if from_env:
        try:
            return bytes.fromhex(from_env)
        except ValueError:
            return from_env.encode()
    path = analytics_path / ".hash_key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(_KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process created it first: use theirs, so pseudonyms agree.
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
        handle.flush()
        os.fsync(handle.fileno())
    return key
