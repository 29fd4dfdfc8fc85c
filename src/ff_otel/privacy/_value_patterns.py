"""Secrets wherever they appear: emails, card numbers, bearer tokens, JWTs, secret parameters.

Every pattern is linear in the length of the text (a possessive or bounded
form), and each is tried only where a cheap ``in`` or ``str.find`` test shows
a match could start, so an 8 KB attribute cannot stall an exporter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import AnyStr

_EMAIL = re.compile(r"(?<![\w.+%-])[\w.+%-]++@[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)++")
_BEARER = re.compile(r"\bbearer\s++[A-Za-z0-9\-._~+/]++=*+", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[\w-]++\.[\w-]++(?:\.[\w-]*+)?")
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d)*+")
_SECRET_ASSIGNMENT = re.compile(
    r"((?<![\w-])(?:(?:access|refresh|id)_)?(?:token|api[_-]?key|key|password|passwd|pwd|secret|"
    r"client_secret|sig|signature|auth)=)[^&#\s,;]++",
    re.IGNORECASE,
)
# Every match of _SECRET_ASSIGNMENT ends in one of these keywords and "=":
# this finds the "=" in C (a literal prefix) and looks behind it, with the
# same case-insensitivity, so it is a cheap and exact test for a possible match.
_ASSIGNMENT_ENDINGS = ("token", "key", "password", "passwd", "pwd", "secret", "sig", "signature")
_MAY_ASSIGN_SECRET = re.compile(
    "=(?:" + "|".join(f"(?<={word}=)" for word in (*_ASSIGNMENT_ENDINGS, "auth")) + ")",
    re.IGNORECASE,
)
# Scanning a text with these patterns costs about a tenth of a microsecond per
# character, even where nothing can match: they are only tried where a match
# can start, found by str.find (the "@" of an email, "eyJ" of a JWT, "bearer").
# The local part of an email is found backwards from its "@", in reverse.
_EMAIL_LOCAL_REVERSED = re.compile(r"[\w.+%-]*+")
# Card numbers: mapping digits, spaces and dashes to "0" turns every possible
# card into a run of 13 or more "0"s, which str.find locates in C; only those
# regions are then examined by the (slower, Unicode-aware) digit patterns.
# ASCII text (nearly all of it) is mapped as bytes: several times faster.
_CARD_CHARS = str.maketrans("123456789 -", "00000000000")
_CARD_BYTES = bytes.maketrans(b"123456789 -", b"00000000000")
_CARD_RUN = "0" * 13
_CARD_RUN_BYTES = b"0" * 13
_ZEROS = re.compile("0+")
_ZEROS_BYTES = re.compile(b"0+")


def redact_value_patterns(text: str) -> str:
    """``text`` with emails, bearer tokens, JWTs, secret parameters and card numbers replaced."""
    if "@" in text:
        text = _redact_emails(text)
    if "%40" in text:
        # "@" percent-encoded, as clients and forms send it in a query string:
        # the same email. Decoded "%40"s stay decoded (same meaning in a URL).
        decoded = text.replace("%40", "@")
        redacted = _redact_emails(decoded)
        if redacted != decoded:
            text = redacted
    if "earer" in text or "EARER" in text:
        text = _redact_bearer_tokens(text)
    if "eyJ" in text:
        text = _redact_at(text, _JWT, "eyJ", "[REDACTED:jwt]")
    if "=" in text and _MAY_ASSIGN_SECRET.search(text):
        text = _SECRET_ASSIGNMENT.sub(r"\1[REDACTED:secret parameter]", text)
    return _redact_card_numbers(text)


def _redact_emails(text: str) -> str:
    """``_EMAIL.sub("[REDACTED:email]", text)``, trying it only where an email can start."""
    # A match holds exactly one "@" and starts where the run of local-part
    # characters before it starts (the pattern's look-behind and possessive
    # local part say so). That run is found by matching the same character
    # class on the reversed text before the "@"; it cannot reach back past the
    # previous "@", so those searches never overlap.
    pieces: list[str] = []
    done = 0
    after_previous = 0
    at = text.find("@")
    while at >= 0:
        local = _EMAIL_LOCAL_REVERSED.match(text[after_previous:at][::-1])
        start = at - (local.end() if local else 0)
        if done <= start < at:
            match = _EMAIL.match(text, start)
            if match is not None:
                pieces.append(text[done:start])
                pieces.append("[REDACTED:email]")
                done = match.end()
        after_previous = at + 1
        at = text.find("@", after_previous)
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _redact_bearer_tokens(text: str) -> str:
    """``_BEARER.sub(...)``, trying the pattern only where "bearer" (any case) starts."""
    if not text.isascii():
        return _BEARER.sub("[REDACTED:bearer token]", text)
    # Lower-casing ASCII keeps every position, and the case-insensitive
    # pattern can only match where the lowered text reads "bearer".
    return _redact_at(text, _BEARER, "bearer", "[REDACTED:bearer token]", text.lower())


def _redact_at(
    text: str, pattern: re.Pattern[str], prefix: str, replacement: str, haystack: str = ""
) -> str:
    """``pattern.sub(replacement, text)`` for a pattern whose matches all start with ``prefix``.

    The candidates are the places ``prefix`` occurs in ``haystack`` (the text,
    or its ASCII lower-case form); ``pattern.match`` at a position still sees
    the text before it (for word boundaries and look-behinds), as ``sub`` does.
    """
    haystack = haystack or text
    pieces: list[str] = []
    done = 0
    start = haystack.find(prefix)
    while start >= 0:
        match = pattern.match(text, start)
        if match is not None:
            pieces.append(text[done:start])
            pieces.append(replacement)
            done = match.end()
        start = haystack.find(prefix, max(done, start + 1))
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _redact_card_numbers(text: str) -> str:
    # Card numbers are digit runs (single spaces or dashes allowed between
    # digits) of 13 to 19 digits that pass the Luhn check.
    if text.isascii():
        # One byte per character, so positions agree; bytes map several
        # times faster than str does.
        shape_bytes = text.encode().translate(_CARD_BYTES)
        start = shape_bytes.find(_CARD_RUN_BYTES)
        if start < 0:
            return text
        regions = _runs(shape_bytes, start, _CARD_RUN_BYTES, _ZEROS_BYTES)
    else:
        shape = text.translate(_CARD_CHARS)
        start = shape.find(_CARD_RUN)
        if start < 0:
            return text
        regions = _runs(shape, start, _CARD_RUN, _ZEROS)
    pieces: list[str] = []
    done = 0
    for start, end in regions:
        pieces.append(text[done:start])
        pieces.append(_DIGIT_RUN.sub(_card_or_digits, text[start:end]))
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def _runs(
    shape: AnyStr, start: int, card_run: AnyStr, zeros: re.Pattern[AnyStr]
) -> Iterator[tuple[int, int]]:
    """Where runs of 13 or more zeros lie in ``shape``, the first starting at ``start``."""
    while start >= 0:
        run = zeros.match(shape, start)
        end = run.end() if run else start + len(card_run)
        yield start, end
        start = shape.find(card_run, end)


def _card_or_digits(match: re.Match[str]) -> str:
    run = match.group()
    if len(run) < 13:
        return run
    digits = [int(c) for c in run if c != " " and c != "-"]
    if 13 <= len(digits) <= 19 and _luhn_valid(digits):
        return "[REDACTED:card number]"
    return run


def _luhn_valid(digits: list[int]) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
