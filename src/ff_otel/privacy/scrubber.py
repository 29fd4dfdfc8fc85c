"""One scrubber for every attribute and body before any exporter sees it.

What it does to a value depends first on its key (the key's kind is decided
once per distinct key and cached):

- a *sensitive* key (password, secret, token, API key, auth, cookie, credit
  card, SSN, private key, JWT, CSRF, ... plus ``extra_patterns``): the value is
  replaced by ``[REDACTED:sensitive key]``;
- a *user identifier* key (``user.id``, ``enduser.id``, ``user_email``, ...) or a
  *session identifier* key (``session.id``, ``session_id``, ...): the value is
  replaced by its keyed pseudonym, so records stay joinable per user;
- a *content* key (``content``, ``body``, ``text``, ``prompt``, ``completion``,
  ``transcript``) when ``exclude_sensitive_content`` is on: dropped to
  ``[REDACTED:content excluded]``;
- a *free text* key (``exception.message``, ``exception.stacktrace``): scrubbed
  as free text, below;
- any other string has emails, card numbers (Luhn-checked), bearer tokens,
  JWTs, secret assignments (``password=...``, ``?token=...``), passwords in SQL
  and URLs, AWS access key ids, US SSNs, IBANs (mod-97 checked), phone numbers
  and ``extra_value_patterns`` matches replaced in place, and IP addresses
  truncated (``client.address``, ``X-Forwarded-For`` and any other value; or
  kept, or dropped: ``ip_addresses``), the rest kept.

Only the ``code.*`` keys that say where code is (function, file, line,
namespace, column) are left alone; ``code.arg.<name>`` values are judged by
their name like any attribute.

Free text (log bodies, span event names, status and exception
messages and stack traces, user event types and data) also has secrets written as
labels (``password: ...``) redacted and the raw user ids this process has
pseudonymised replaced by their pseudonyms.
That look-up splits the text into words, so it is kept to the places where ids
turn up in prose; attribute values rely on their keys.

Redactions say why and never include the value. Every pattern is linear in the
length of the text: a possessive or bounded form, and each is tried only when
a cheap ``in`` test shows the text could contain it, so an 8 KB attribute
cannot stall an exporter. Short values repeat (methods, routes, model names),
so their scrubbed form is cached.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from ff_otel.privacy._addresses import IpAddressHandling, handle_ip_addresses
from ff_otel.privacy._value_patterns import redact_value_patterns
from ff_otel.privacy.pseudonym import Pseudonymizer

_S = TypeVar("_S", bound="Scrubber")

_SENSITIVE_KEY = (
    r"passw(?:or)?d|\bpwd\b|secret|token(?!s|iz|_?count)|api[._ -]?key|auth(?!or(?!i[sz]))|"
    r"credential|cookie|credit[._ -]?card|card[._ -]?number|\bcvv\b|cvc|(?:\b|_)ssn(?:\b|_)|"
    r"social[._ -]?security|private[._ -]?key|access[._ -]?key|(?:\b|_)jwt(?:\b|_)|"
    r"(?:\b|_)[cx]srf(?:\b|_)|bearer"
)
_USER_KEY = re.compile(
    r"(?:^|\.)(?:end)?user(?:[._ -]?(?:id|name|email|login))?$|"
    r"(?:^|[._])(?:customer|account|member)[._ -]?id$|(?:^|[._])e-?mail(?:[._ -]?address)?$|"
    r"^username$",
    re.IGNORECASE,
)
_SESSION_KEY = re.compile(r"session[._ -]?id$|^session$", re.IGNORECASE)
_CONTENT_KEY = re.compile(
    r"(?:^|[._])(?:content|body|text|prompt|prompts|completion|completions|transcript)$",
    re.IGNORECASE,
)
_FREE_TEXT_KEYS = frozenset({"exception.message", "exception.stacktrace", "code.stacktrace"})
# The code.* semantic-convention keys that locate code (old and new names).
_SAFE_KEYS = frozenset(
    {
        "ff.component",
        "user.hash",
        "code.function",
        "code.function.name",
        "code.filepath",
        "code.file.path",
        "code.lineno",
        "code.line.number",
        "code.namespace",
        "code.column",
        "code.column.number",
    }
)

# "password: hunter2" in prose; only looked for in free text, after a cheap test.
_SECRET_LABEL = re.compile(
    r"(\b(?:password|passwd|pwd|secret|api[_ -]?key|token)\s*:\s*)[^\s,;]++", re.IGNORECASE
)
_SECRET_LABEL_WORDS = ("pass", "pwd", "secret", "key", "token")
_PUNCTUATION = ".,;:()[]{}<>\"'!?/\\|="
_FEW_KNOWN = 8
_FREE_TEXT_CACHED_LENGTH = 256
_SHORTEST_FINDING = 6  # "a@b.co", "?key=x": nothing shorter can hold a finding
_CACHED_LENGTH = 64
_CACHE_LIMIT = 4096

_NORMAL, _SENSITIVE, _USER, _SESSION, _CONTENT, _SAFE, _FREE = range(7)
_SCALARS = frozenset({int, float, bool, type(None)})


@dataclass(frozen=True)
class ScrubMatch:
    """What the scrubber is about to redact, handed to a callback."""

    path: tuple[str, ...]
    value: Any
    reason: str


@dataclass(frozen=True)
class ScrubbingOptions:
    """Extra rules for the scrubber (``configure(scrubbing=...)``).

    ``extra_patterns`` are regexes searched (case-insensitively) in attribute
    keys, like the built-in sensitive-key patterns. ``extra_value_patterns``
    are regexes whose matches inside string values are redacted; keep them
    linear (no nested quantifiers). ``callback(match)`` sees each redaction of
    a whole value and may return a value to keep instead, or ``None`` to let it
    be redacted.
    """

    extra_patterns: Sequence[str] = ()
    extra_value_patterns: Sequence[str] = ()
    callback: Callable[[ScrubMatch], Any] | None = None


class Scrubber:
    """Scrubs attribute maps, bodies and text; safe to share between threads."""

    def __init__(
        self,
        pseudonymizer: Pseudonymizer | None,
        *,
        exclude_sensitive_content: bool = True,
        pseudonymize_identifiers: bool = True,
        ip_addresses: IpAddressHandling = "truncate",
        options: ScrubbingOptions | None = None,
    ) -> None:
        options = options or ScrubbingOptions()
        self._options = options
        self._ip_addresses: IpAddressHandling = ip_addresses
        self._pseudonymize_setting = pseudonymize_identifiers
        self._twins: dict[type[Scrubber], Scrubber] = {}
        self._pseudonymizer = pseudonymizer
        self._exclude_content = exclude_sensitive_content
        self._pseudonymize = pseudonymize_identifiers and pseudonymizer is not None
        # Bound once: a user.id is on most spans (only called when _pseudonymize).
        self._user: Callable[[str], str] = (
            self._naming(pseudonymizer) if pseudonymizer else self.text
        )
        self._callback = options.callback
        patterns = [_SENSITIVE_KEY, *options.extra_patterns]
        self._sensitive_key = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        self._extra_values = [re.compile(p) for p in options.extra_value_patterns]
        self._kinds: dict[str, int] = {}
        self._plans: dict[tuple[str, ...], tuple[tuple[str, int], ...]] = {}
        self._short: dict[str, str] = {}
        self._free: dict[str, tuple[int, str]] = {}

    @staticmethod
    def _naming(pseudonymizer: Pseudonymizer) -> Callable[[str], str]:
        """What a user identifier becomes: its pseudonym."""
        return pseudonymizer.user

    def twin(self, kind: type[_S]) -> _S:
        """A scrubber of class ``kind`` with this one's settings, made once and kept.

        For example ``twin(SubjectScrubber)``, the scrubber of compliance records
        (:class:`~ff_otel.privacy.subjects.SubjectScrubber`).
        """
        made = self._twins.get(kind)
        if made is None:
            made = self._twins[kind] = kind(
                self._pseudonymizer,
                exclude_sensitive_content=self._exclude_content,
                pseudonymize_identifiers=self._pseudonymize_setting,
                ip_addresses=self._ip_addresses,
                options=self._options,
            )
        return cast(_S, made)

    def attributes(
        self, attributes: Mapping[str, Any], where: str = "attributes"
    ) -> dict[str, Any]:
        """A scrubbed copy of an attribute map."""
        return self.attributes_in_place(dict(attributes), where)

    def attributes_in_place(self, out: dict[str, Any], where: str = "attributes") -> dict[str, Any]:
        """Scrub a dict the caller owns (an exporter's own copy), changing only what must change."""
        # Attribute maps come in few shapes (one per call site, mostly): the
        # keys that need looking at are worked out once per shape. Within the
        # loop the common cases (a short string seen before, a user id) are
        # decided inline.
        shape = tuple(out)
        plan = self._plans.get(shape)
        if plan is None:
            plan = self._plan(shape)
        short = self._short
        for key, kind in plan:
            value = out[key]
            if kind == _NORMAL:
                kind_of_value = type(value)
                if kind_of_value is str:
                    scrubbed = short.get(value)
                    if scrubbed is None:
                        scrubbed = self._uncached(value)
                    if scrubbed is not value:
                        out[key] = scrubbed
                elif kind_of_value in _SCALARS:
                    pass
                elif kind_of_value is tuple or kind_of_value is list:
                    out[key] = self._sequence(value, where, key)
                else:
                    out[key] = self._value(value, where, key)
            elif kind == _USER and type(value) is str and self._pseudonymize:
                # _by_kind's answer, without its detours.
                out[key] = self._user(value)
            else:
                out[key] = self._by_kind(kind, value, where, key)
        return out

    def _sequence(self, items: tuple[Any, ...] | list[Any], where: str, key: str) -> list[Any]:
        # Sequence attributes (OTel allows only primitives in them). One item
        # (a header's value, a finish reason) is the usual case. A map or list
        # inside (event data and log bodies may hold them) is scrubbed as one.
        if len(items) == 1:
            item = items[0]
            if type(item) is str:
                scrubbed = self._short.get(item)
                return [scrubbed if scrubbed is not None else self._uncached(item)]
            if type(item) in _SCALARS:
                return [item]
            return [self._value(item, where, key)]
        text = self.text
        return [
            text(item)
            if type(item) is str
            else item
            if type(item) in _SCALARS
            else self._value(item, where, key)
            for item in items
        ]

    def _plan(self, shape: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
        kinds = self._kinds
        for key in shape:
            if key not in kinds:
                kinds[key] = self._kind_of(key)
        plan = tuple((key, kinds[key]) for key in shape if kinds[key] != _SAFE)
        if len(self._plans) >= _CACHE_LIMIT:
            self._plans.clear()
        self._plans[shape] = plan
        return plan

    def body(self, body: Any, where: str = "body") -> Any:
        """A scrubbed copy of a log body or event payload (text, map or list), as free text."""
        if type(body) is dict:  # the usual event data: no abstract-class checks
            return self._body_map(body, where)
        if isinstance(body, str):
            return self.free_text(body)
        if isinstance(body, Mapping):
            return self._body_map(body, where)
        if isinstance(body, (list, tuple)):
            return [self.body(item, where) for item in body]
        return body

    def _body_map(self, body: Mapping[str, Any], where: str) -> dict[str, Any]:
        scrubbed = self.attributes(body, where)
        free_text = self.free_text
        for key, value in scrubbed.items():
            if isinstance(value, str):
                scrubbed[key] = free_text(value)  # a new value, not a new key: safe
        return scrubbed

    def free_text(self, text: str) -> str:
        """:meth:`text`, and raw user ids this process has seen replaced by pseudonyms."""
        pseudonymizer = self._pseudonymizer
        if pseudonymizer is None or len(text) > _FREE_TEXT_CACHED_LENGTH:
            return self._known_ids(self.text(text))
        # Error messages repeat; a cached result holds while no new id became known.
        generation = pseudonymizer.generation
        cached = self._free.get(text)
        if cached is not None and cached[0] == generation:
            return cached[1]
        if len(self._free) >= _CACHE_LIMIT:
            self._free.clear()
        scrubbed = self._known_ids(self.text(text))
        self._free[text] = (generation, scrubbed)
        return scrubbed

    def text(self, text: str) -> str:
        """``text`` with emails, card numbers, tokens and secret parameters replaced."""
        if len(text) <= _CACHED_LENGTH:
            cached = self._short.get(text)
            if cached is not None:
                return cached
        return self._uncached(text)

    def _uncached(self, text: str) -> str:
        """:meth:`text` for a text not in the cache of short texts."""
        if len(text) > _CACHED_LENGTH:
            return self._patterns(text)
        short = self._short
        if len(short) >= _CACHE_LIMIT:
            short.clear()
        scrubbed = short[text] = self._patterns(text)
        return scrubbed

    def _patterns(self, text: str) -> str:
        if len(text) < _SHORTEST_FINDING:
            return text
        text = redact_value_patterns(text)
        # An address has three dots, or "::", or seven colons: most texts have none.
        if text.count(".") >= 3 or "::" in text or text.count(":") >= 7:
            text = handle_ip_addresses(text, self._ip_addresses)
        for pattern in self._extra_values:
            text = pattern.sub("[REDACTED:matched pattern]", text)
        return text

    def _known_ids(self, text: str) -> str:
        if ":" in text:
            lowered = text.lower()
            if any(word in lowered for word in _SECRET_LABEL_WORDS):
                text = _SECRET_LABEL.sub(r"\1[REDACTED:secret value]", text)
        pseudonymizer = self._pseudonymizer
        if pseudonymizer is None:
            return text
        known = pseudonymizer.known_ids()
        if not known or len(text) < pseudonymizer.min_known_length:
            return text
        if len(known) <= _FEW_KNOWN:
            present = [raw for raw in known if raw in text]
        else:
            split = text.split()
            if len(split) == 1:  # a one-word value ("en-US", "/chat"): the same set, built directly
                word = split[0]
                words = {word, word.strip(_PUNCTUATION)}
            else:
                words = set(split)
                words.update([word.strip(_PUNCTUATION) for word in words])
            present = list(known.keys() & words)
        for raw in present:
            text = re.sub(rf"(?<![\w.@+-]){re.escape(raw)}(?![\w.@+-])", self._user(raw), text)
        return text

    def _value(self, value: Any, where: str, key: str) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return self.attributes(value, f"{where}.{key}" if key else where)
        if isinstance(value, (list, tuple)):
            return [self._value(item, where, key) for item in value]
        return value

    def _by_kind(self, kind: int, value: Any, where: str, key: str) -> Any:
        if kind == _FREE:
            free_text = self.free_text
            if isinstance(value, str):
                return free_text(value)
            if isinstance(value, (list, tuple)):
                return [free_text(item) if isinstance(item, str) else item for item in value]
            return self._value(value, where, key)
        if kind in (_USER, _SESSION):
            if not self._pseudonymize or value is None:
                return value if not isinstance(value, str) else self.text(value)
            assert self._pseudonymizer is not None
            as_text = str(value)
            if kind == _USER:
                return self._user(as_text)
            return self._pseudonymizer.session(as_text)
        reason = "sensitive key" if kind == _SENSITIVE else "content excluded"
        return self._redact(value, where, key, reason)

    def _redact(self, value: Any, where: str, key: str, reason: str) -> Any:
        if self._callback is not None:
            kept = self._callback(ScrubMatch((where, key), value, reason))
            if kept is not None:
                return kept
        return f"[REDACTED:{reason}]"

    def _kind_of(self, key: str) -> int:
        if key in _SAFE_KEYS:
            return _SAFE
        if key in _FREE_TEXT_KEYS:
            return _FREE
        if _SESSION_KEY.search(key):
            return _SESSION
        if _USER_KEY.search(key):
            return _USER
        if self._sensitive_key.search(key):
            return _SENSITIVE
        if self._exclude_content and _CONTENT_KEY.search(key):
            return _CONTENT
        return _NORMAL
