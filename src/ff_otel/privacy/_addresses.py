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

from ff_otel.privacy._identifiers import merged_windows, runs_of, sub_in_windows

IpAddressHandling = Literal["truncate", "keep", "drop"]

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?![\w]|\.[0-9])")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:.])[0-9A-Fa-f:.]{2,45}+(?![\w:])")
_DROPPED = "[REDACTED:ip address]"
_LOOPBACK_IPV4 = "127."
_IPV4_CHARS = "0123456789."
_IPV4_BYTES = bytes.maketrans(_IPV4_CHARS.encode(), b"0" * len(_IPV4_CHARS))
_IPV4_STR = str.maketrans(_IPV4_CHARS, "0" * len(_IPV4_CHARS))
_SHORTEST_IPV4 = len("1.2.3.4")
_IPV6_CHARS = "0123456789abcdefABCDEF:"
_IPV6_BYTES = bytes.maketrans(_IPV6_CHARS.encode(), b"0" * len(_IPV6_CHARS))
_IPV6_STR = str.maketrans(_IPV6_CHARS, "0" * len(_IPV6_CHARS))
_SHORTEST_IPV6 = len("0:0:0:0:0:0:0:0")
_IPV6_REACH = 46
_IPV6_HOST_BITS = 80


def handle_ip_addresses(text: str, handling: IpAddressHandling) -> str:
    """``text`` with every IPv4 and IPv6 address truncated or dropped (``keep``: as it is)."""
    if handling == "keep":
        return text
    # As in ._identifiers: an address is a run of digits and dots (7 or more),
    # or of hex digits and colons (15 or more, or holding "::"), found in C;
    # the patterns run only around those.
    runs = runs_of(text, _IPV4_BYTES, _IPV4_STR, _SHORTEST_IPV4)
    if runs:
        replace = _truncated_ipv4 if handling == "truncate" else _dropped_ipv4
        text = sub_in_windows(text, _IPV4, replace, merged_windows(runs, 1, 1, len(text)))
    runs = runs_of(text, _IPV6_BYTES, _IPV6_STR, _SHORTEST_IPV6)
    runs.extend((place, place + 2) for place in _double_colons(text))
    if runs:
        runs.sort()
        replace = _truncated_ipv6 if handling == "truncate" else _dropped_ipv6
        reach = _IPV6_REACH
        text = sub_in_windows(
            text, _IPV6_CANDIDATE, replace, merged_windows(runs, reach, reach, len(text))
        )
    return text


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
