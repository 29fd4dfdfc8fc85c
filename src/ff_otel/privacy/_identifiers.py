"""Numbers that identify a person in any text: card numbers, US SSNs, IBANs, phone numbers.

A regex scan costs about a tenth of a microsecond per character even where
nothing matches, so no pattern here scans a whole text. Every one of these
numbers holds a run of at least nine characters that are digits, spaces,
dashes or dots (a card's 13 to 19 digits, ``123-45-6789``, the `` 555-2671``
of ``(415) 555-2671``, an IBAN's account number). Mapping those characters to
``0`` (in C, as bytes for ASCII text) and ``find``-ing nine ``0``s locates
every such run; text without one (UUIDs, 8-digit ids, URLs, timestamps, most
prose) costs one
translation and one search. The patterns then run only in a short window
around each run, and the checks that tell an identifier from a look-alike (a
card's Luhn digit, an IBAN's mod-97 check digits, the SSN's never-issued
areas, a phone number's digit count) only on their matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import AnyStr

_RUN_CHARS = "123456789 -."
_RUN_STR = str.maketrans(_RUN_CHARS, "0" * len(_RUN_CHARS))
_RUN_BYTES = bytes.maketrans(_RUN_CHARS.encode(), b"0" * len(_RUN_CHARS))
_SHORTEST_RUN = 9
_ZEROS = re.compile("0+")
_ZEROS_BYTES = re.compile(b"0+")
_CARD_RUN = 13
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d)*+")
_BEFORE_RUN = 14
"""How far before its run a number may start: "+1 ", "(415) ", an IBAN's "MT84MALT"."""
_AFTER_RUN = 2

Replacement = str | Callable[[re.Match[str]], str]
_KIND_SHAPE = bytes.maketrans(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"0" * 10 + b"A" * 26)
"""Digits become 0 and capitals A; separators stay (a kind's shape keeps its separators)."""

# 123-45-6789: area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
_SSN = re.compile(r"(?<![\w-])(?!000|666|9)[0-9]{3}-(?!00)[0-9]{2}-(?!0000)[0-9]{4}(?![\w-])")

# DE89370400440532013000, or in groups of four: DE89 3704 0044 0532 0130 00.
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}+|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)"
    r"(?![A-Za-z0-9])"
)

# +1 415 555 2671, +44 20 7946 0958, +4930123456 (E.164: 8 to 15 digits);
# (415) 555-2671, 415-555-2671, 415.555.2671 (North American, separators required);
# 020 7946 0958, 030-12345678, 01 23 45 67 89 (national: trunk prefix 0, one kind of
# separator, 9 to 11 digits).
_PHONE = re.compile(
    r"(?<![\w+])\+[1-9][0-9]{0,3}(?:[ .-]?\(?[0-9]{1,5}\)?){1,6}+(?![\w:-]|\.[0-9])"
    r"|(?<![\w.+(-])(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}"
    r"(?![\w:-]|\.[0-9])"
    r"|(?<![\w.+-])0[1-9][0-9]{0,3}([ -])[0-9]{2,8}(?:\1[0-9]{2,8}){0,3}+(?![\w:-]|\.[0-9])"
)


def redact_numbers(text: str) -> str:
    """``text`` with card numbers, SSNs, IBANs and phone numbers replaced."""
    runs = _digit_runs(text)
    if not runs:
        return text
    if any(end - start >= _CARD_RUN for start, end in runs):
        redacted = _redact_card_numbers(text, runs)
        if redacted != text:
            text = redacted
            runs = _digit_runs(text)
    windows = list(_windows(runs, _BEFORE_RUN, _AFTER_RUN, len(text)))
    shape = _windows_shape(text, windows)
    for needles, pattern, replacement in _KINDS:
        # Each kind's own shape must occur in a window before its pattern runs at all.
        if not windows or not any(needle in shape for needle in needles):
            continue
        redacted = sub_in_windows(text, pattern, replacement, windows)
        if redacted != text:
            text = redacted
            runs = _digit_runs(text)
            windows = list(_windows(runs, _BEFORE_RUN, _AFTER_RUN, len(text))) if runs else []
            shape = _windows_shape(text, windows)
    return text


def _windows_shape(text: str, windows: Sequence[tuple[int, int]]) -> bytes:
    """The windows' text, digits as 0 and capitals as A, one window per line."""
    joined = "\n".join(text[start:end] for start, end in windows)
    return joined.encode("utf-8", "surrogatepass").translate(_KIND_SHAPE)


def _digit_runs(text: str) -> list[tuple[int, int]]:
    """Where runs of nine or more digits, spaces, dashes and dots lie in ``text``."""
    return runs_of(text, _RUN_BYTES, _RUN_STR, _SHORTEST_RUN)


def runs_of(
    text: str, table: bytes, table_str: dict[int, int], length: int
) -> list[tuple[int, int]]:
    """Where runs of ``length`` or more characters that ``table`` maps to "0" lie in ``text``."""
    if text.isascii():
        # One byte per character, so positions agree; bytes map several
        # times faster than str does.
        shape_bytes = text.encode().translate(table)
        start = shape_bytes.find(b"0" * length)
        return list(_runs(shape_bytes, start, length, _ZEROS_BYTES)) if start >= 0 else []
    shape = text.translate(table_str)
    start = shape.find("0" * length)
    return list(_runs(shape, start, length, _ZEROS)) if start >= 0 else []


def _runs(
    shape: AnyStr, start: int, length: int, zeros: re.Pattern[AnyStr]
) -> Iterator[tuple[int, int]]:
    """The runs of zeros in ``shape`` from ``start`` on that are ``length`` or longer."""
    needle = shape[start : start + length]
    while start >= 0:
        run = zeros.match(shape, start)
        end = run.end() if run else start + length
        yield start, end
        start = shape.find(needle, end)


def _windows(
    spans: Sequence[tuple[int, int]], before: int, after: int, length: int
) -> Iterator[tuple[int, int]]:
    """Windows from ``before`` ahead of to ``after`` past sorted ``spans``, overlaps merged."""
    if not spans:
        return
    start, end = max(0, spans[0][0] - before), spans[0][1] + after
    for span_start, span_end in spans[1:]:
        if span_start - before <= end:
            end = span_end + after
            continue
        yield start, min(end, length)
        start, end = max(0, span_start - before), span_end + after
    yield start, min(end, length)


def _redact_card_numbers(text: str, runs: Sequence[tuple[int, int]]) -> str:
    # Card numbers are digit runs (single spaces or dashes allowed between
    # digits) of 13 to 19 digits that pass the Luhn check.
    pieces: list[str] = []
    done = 0
    for start, end in runs:
        # Dots are in runs for phone numbers, never in a card's digits.
        if end - start < _CARD_RUN or max(map(len, text[start:end].split("."))) < _CARD_RUN:
            continue
        pieces.append(text[done:start])
        pieces.append(_DIGIT_RUN.sub(_card_or_digits, text[start:end]))
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def merged_windows(
    spans: Sequence[tuple[int, int]], before: int, after: int, length: int
) -> list[tuple[int, int]]:
    """Windows from ``before`` ahead of to ``after`` past sorted ``spans``, overlaps merged."""
    return list(_windows(spans, before, after, length))


def sub_in_windows(
    text: str,
    pattern: re.Pattern[str],
    replacement: Replacement,
    windows: Sequence[tuple[int, int]],
) -> str:
    """``pattern.sub(replacement, text)`` for a pattern whose every match lies in a window.

    Matches are searched inside the windows (look-behinds still see the text
    before), then matched again on the whole text, so one that reaches past
    its window's end is taken whole.
    """
    pieces: list[str] = []
    done = 0
    for start, end in windows:
        position = max(start, done)
        while position < end:
            found = pattern.search(text, position, end)
            if found is None:
                break
            whole = pattern.match(text, found.start())
            if whole is None:
                # It matched only because the window ended there.
                position = found.start() + 1
                continue
            pieces.append(text[done : whole.start()])
            pieces.append(replacement if isinstance(replacement, str) else replacement(whole))
            done = position = max(whole.end(), whole.start() + 1)
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def _iban_or_text(match: re.Match[str]) -> str:
    candidate = match.group()
    if iban_valid(candidate):
        return "[REDACTED:iban]"
    # Written in groups, the last group may be the next word's: try without it.
    head, _, tail = candidate.rpartition(" ")
    if head and iban_valid(head):
        return f"[REDACTED:iban] {tail}"
    return candidate


def iban_valid(text: str) -> bool:
    """Whether ``text`` (spaces allowed) has 15 to 34 characters and ISO 13616 check digits."""
    compact = text.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _phone_or_text(match: re.Match[str]) -> str:
    candidate = match.group()
    digits = sum(c.isdigit() for c in candidate)
    if candidate.startswith("+"):
        kept = not 8 <= digits <= 15
    elif candidate.startswith("0"):
        kept = not 9 <= digits <= 11
    else:
        kept = False  # the North American form's shape fixes its ten digits
    return candidate if kept else "[REDACTED:phone number]"


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


_KINDS: tuple[tuple[tuple[bytes, ...], re.Pattern[str], Replacement], ...] = (
    ((b"000-00-0000",), _SSN, "[REDACTED:ssn]"),
    ((b"AA00",), _IBAN, _iban_or_text),
    (
        (
            b"+0",
            b"(000)",
            b"000-000-0000",
            b"000.000.0000",
            b"000 000 0000",
            b"0-000000",
            b"000 0000 0000",
            b"00 00 00 00 00",
            b"0000 000000",
            b"000 000000",
        ),
        _PHONE,
        _phone_or_text,
    ),
)
