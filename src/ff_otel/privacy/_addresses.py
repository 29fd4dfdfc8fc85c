"""IP addresses in client-address attributes and free text: truncated, kept or dropped.

``truncate`` (the default) zeroes an IPv4 address's last octet and an IPv6
address's last 80 bits, as analytics tools anonymise visitors' addresses: the
network stays (for geography and abuse analysis), the host goes. ``drop``
replaces the address with ``[REDACTED:ip address]``; ``keep`` leaves it.
Loopback and unspecified addresses (``127.0.0.1``, ``::1``, ``0.0.0.0``) name
no one and stay. IPv6 candidates are confirmed by :mod:`ipaddress`, so clock
times (``10:30:00``) and C++ names (``std::string``) are not addresses.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from ff_otel.privacy._identifiers import merged_windows, sub_in_windows

IpAddressHandling = Literal["truncate", "keep", "drop"]

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\w]|\.[0-9])")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:.])[0-9A-Fa-f:.]{2,45}+(?![\w:])")
_DROPPED = "[REDACTED:ip address]"
_LOOPBACK_IPV4 = "127."
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
# Shapes start with a literal ("0." and "h:"), which the regex engine finds
# as fast as bytes.find does.
_IPV4_SHAPE = re.compile(rb"0\.0{1,3}\.0{1,3}\.0")
_IPV4_REACH = 16  # "255.255.255.255" around where its shape starts
_HEX_TO_H = bytes.maketrans(b"0123456789abcdefABCDEF", b"h" * 22)
# Four colons between hex groups; "::" is looked for apart, with find (an
# alternation would lose the literal prefix and scan ten times slower).
_IPV6_SHAPE = re.compile(rb"h:h{0,4}:h{0,4}:h{0,4}:")
_IPV6_REACH = 46
_IPV6_HOST_BITS = 80


def handle_ip_addresses(text: str, handling: IpAddressHandling) -> str:
    """``text`` with every IPv4 and IPv6 address truncated or dropped (``keep``: as it is)."""
    if handling == "keep":
        return text
    # As in ._identifiers: the patterns run only in windows around the places
    # where a search of the text's shape (in C) shows an address could be.
    if text.count(".") >= 3:
        windows = _windows(text, _DIGITS_TO_ZERO, _IPV4_SHAPE, _IPV4_REACH)
        if windows:
            replace = _truncated_ipv4 if handling == "truncate" else _dropped_ipv4
            text = sub_in_windows(text, _IPV4, replace, windows)
    if "::" in text or text.count(":") >= 4:
        windows = _windows(text, _HEX_TO_H, _IPV6_SHAPE, _IPV6_REACH)
        if windows:
            replace = _truncated_ipv6 if handling == "truncate" else _dropped_ipv6
            text = sub_in_windows(text, _IPV6_CANDIDATE, replace, windows)
    return text


def _windows(
    text: str, table: bytes, shape_pattern: re.Pattern[bytes], reach: int
) -> list[tuple[int, int]]:
    shape = text.encode("utf-8", "surrogatepass").translate(table)
    if not text.isascii():
        # Positions in the UTF-8 shape are not the text's: the whole text is the window.
        found = shape_pattern.search(shape) or (table is _HEX_TO_H and "::" in text)
        return [(0, len(text))] if found else []
    places = [found.start() for found in shape_pattern.finditer(shape)]
    if table is _HEX_TO_H:
        places.extend(_double_colons(text))
        places.sort()
    return list(merged_windows(places, reach, len(text)))


def _double_colons(text: str) -> list[int]:
    places = []
    place = text.find("::")
    while place >= 0:
        places.append(place)
        place = text.find("::", place + 2)
    return places


def _truncated_ipv4(match: re.Match[str]) -> str:
    address = match.group()
    if address.startswith(_LOOPBACK_IPV4) or address == "0.0.0.0":
        return address
    return address[: address.rindex(".")] + ".0"


def _dropped_ipv4(match: re.Match[str]) -> str:
    address = match.group()
    return address if address.startswith(_LOOPBACK_IPV4) or address == "0.0.0.0" else _DROPPED


def _ipv6(candidate: str) -> tuple[ipaddress.IPv6Address, str] | None:
    """The address a candidate holds (and what follows it: a full stop), or None."""
    trailing = ""
    while candidate.endswith("."):
        candidate, trailing = candidate[:-1], trailing + "."
    if candidate.count(":") < 2:
        return None
    try:
        return ipaddress.IPv6Address(candidate), trailing
    except ValueError:
        return None


def _truncated_ipv6(match: re.Match[str]) -> str:
    found = _ipv6(match.group())
    if found is None:
        return match.group()
    address, trailing = found
    if address.is_loopback or address.is_unspecified:
        return match.group()
    network = ipaddress.IPv6Address(int(address) >> _IPV6_HOST_BITS << _IPV6_HOST_BITS)
    return network.compressed + trailing


def _dropped_ipv6(match: re.Match[str]) -> str:
    found = _ipv6(match.group())
    if found is None or found[0].is_loopback or found[0].is_unspecified:
        return match.group()
    return _DROPPED + found[1]
