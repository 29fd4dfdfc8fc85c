"""Secrets wherever they appear: emails, card numbers, bearer tokens, JWTs, secret parameters.

Also AWS access key ids, passwords written in SQL (``pass = '...'``,
``PASSWORD '...'``, ``IDENTIFIED BY '...'``) or in a URL's userinfo
(``postgres://app:...@db``); card numbers and identifiers are :mod:`._identifiers`'.

Every pattern is linear in the length of the text (a possessive or bounded
form), and each is tried only where a cheap ``in`` or ``str.find`` test shows
a match could start, so an 8 KB attribute cannot stall an exporter.
"""

from __future__ import annotations

import re

from ff_otel.privacy._identifiers import redact_numbers

_EMAIL = re.compile(r"(?<![\w.+%-])[\w.+%-]++@[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)++")
_BEARER = re.compile(r"\bbearer\s++[A-Za-z0-9\-._~+/]++=*+", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[\w-]++\.[\w-]++(?:\.[\w-]*+)?")
_SECRET_ASSIGNMENT = re.compile(
    r"((?<![\w-])(?:(?:access|refresh|id)_)?(?:token|api[_-]?key|key|password|passwd|pwd|secret|"
    r"client_secret|sig|signature|auth)=)[^&#\s,;]++",
    re.IGNORECASE,
)
# A quoted value after a password word, as SQL writes it; '' is SQL's escaped quote.
_QUOTED_PASSWORD = re.compile(
    r"((?<![A-Za-z0-9])(?:pass(?:word|wd)?|pwd|secret|identified\s++by)\s*+=?\s*+)"
    r"(?:'(?:[^']|'')*+'|\"[^\"]*+\")",
    re.IGNORECASE,
)
_QUOTED_PASSWORD_WORDS = ("pass", "pwd", "secret", "identified")
# scheme://user:password@host: the password goes, the user and host stay.
_URL_USERINFO = re.compile(r"(//[^/?#@\s:]*+:)[^/?#@\s]++(?=@)")
_AWS_ACCESS_KEY = re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])")
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


def redact_value_patterns(text: str) -> str:
    """``text`` with every secret and identifier this module knows replaced."""
    if "@" in text:
        if "://" in text:
            # Before emails: "app:pw@db.example.com" also reads as an email.
            text = _URL_USERINFO.sub(r"\1[REDACTED:password]", text)
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
    if ("'" in text or '"' in text) and any(w in text.lower() for w in _QUOTED_PASSWORD_WORDS):
        text = _QUOTED_PASSWORD.sub(r"\1'[REDACTED:password]'", text)
    if "AKIA" in text or "ASIA" in text:
        text = _AWS_ACCESS_KEY.sub("[REDACTED:aws access key]", text)
    return redact_numbers(text)


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
