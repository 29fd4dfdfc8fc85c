"""Keyed pseudonyms for user and session identifiers.

``u_<32 hex>`` for users, ``s_<32 hex>`` for sessions: HMAC-SHA256 under the
store's key, truncated to 128 bits. The prefixes make pseudonymising idempotent
(a value that already is a pseudonym is left alone) and tell a reader what a
value is. Consent and erasure records use hashes under other labels, so that
erasing a user's pseudonym from the store leaves nothing that links back to it.

Raw ids seen by this process are remembered (a bounded map), so that a raw id
that turns up inside free text, such as a log message, can be replaced by its
pseudonym too.
"""

from __future__ import annotations

import hmac
import re
import threading
from hashlib import sha256

USER_PREFIX = "u_"
SESSION_PREFIX = "s_"
SUBJECT_PREFIX = "subject:"
PSEUDONYM = re.compile(r"[us]_[0-9a-f]{32}")
SUBJECT_REFERENCE = re.compile(r"subject:[0-9a-f]{32}")
_KNOWN_LIMIT = 100_000
_MIN_KNOWN_LENGTH = 4


class Pseudonymizer:
    """HMAC pseudonyms under one key, and the raw ids this process has seen."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._known: dict[str, str] = {}
        self._pseudonyms: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self.min_known_length = _MIN_KNOWN_LENGTH
        self.generation = 0
        """Changes whenever the set of known raw ids does (for caches of scrubbed text)."""

    def _digest(self, label: str, value: str) -> str:
        return hmac.new(self._key, f"{label}\x00{value}".encode(), sha256).hexdigest()[:32]

    def user(self, user_id: str) -> str:
        """The user's pseudonym (``user.hash``)."""
        # The cache is looked at here too: this runs for every event and span.
        cached = self._pseudonyms.get((USER_PREFIX, user_id))
        return cached if cached is not None else self._pseudonym(USER_PREFIX, user_id)

    def session(self, session_id: str) -> str:
        """The session's pseudonym: a session id is a bearer credential while it lives."""
        cached = self._pseudonyms.get((SESSION_PREFIX, session_id))
        return cached if cached is not None else self._pseudonym(SESSION_PREFIX, session_id)

    def reference(self, purpose: str, user_id: str) -> str:
        """A hash of the user for one purpose (consent, erasure) that matches no other record."""
        key = (purpose, user_id)
        cached = self._pseudonyms.get(key)
        if cached is None:
            cached = self._cache(key, self._digest(purpose, user_id))
        return cached

    def subject(self, user_id: str) -> str:
        """The reference compliance records name the user by (idempotent, like the pseudonym).

        Derived from the pseudonym, so a user id and its pseudonym get the same reference.
        """
        if user_id.startswith(SUBJECT_PREFIX) and SUBJECT_REFERENCE.fullmatch(user_id):
            return user_id
        return SUBJECT_PREFIX + self.reference("subject", self.user(user_id))

    def _pseudonym(self, prefix: str, raw: str) -> str:
        # The same ids come back again and again (a user's every event, a
        # session's every span): an HMAC costs more than the rest of the work.
        key = (prefix, raw)
        cached = self._pseudonyms.get(key)
        if cached is not None:
            return cached
        if PSEUDONYM.fullmatch(raw):
            return raw
        pseudonym = prefix + self._digest(prefix, raw)
        self._remember(raw, pseudonym)
        return self._cache(key, pseudonym)

    def _cache(self, key: tuple[str, str], value: str) -> str:
        with self._lock:
            if len(self._pseudonyms) >= _KNOWN_LIMIT:
                self._pseudonyms.pop(next(iter(self._pseudonyms)))
            self._pseudonyms[key] = value
        return value

    def known_ids(self) -> dict[str, str]:
        """Raw ids seen by this process and their pseudonyms (a snapshot)."""
        return self._known

    def forget(self, raw_id: str) -> None:
        """Drop a raw id from memory (after its user was erased)."""
        with self._lock:
            self._known.pop(raw_id, None)
            for prefix in (USER_PREFIX, SESSION_PREFIX):
                self._pseudonyms.pop((prefix, raw_id), None)

    def _remember(self, raw_id: str, pseudonym: str) -> None:
        if len(raw_id) < self.min_known_length or raw_id in self._known:
            return
        with self._lock:
            if len(self._known) >= _KNOWN_LIMIT:
                # Drop the oldest: dicts keep insertion order.
                self._known.pop(next(iter(self._known)))
            self._known[raw_id] = pseudonym
            self.generation += 1
