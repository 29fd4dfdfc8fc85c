"""IP addresses in client-address attributes and free text: truncated, kept or dropped.

``truncate`` (the default) zeroes an IPv4 address's last octet and an IPv6
address's last 80 bits, as analytics tools anonymise visitors' addresses: the
network stays (for geography and abuse analysis), the host goes. ``drop``
replaces the address with ``[REDACTED:ip address]``; ``keep`` leaves it.
IPv6 candidates are confirmed by :mod:`ipaddress`, so clock times
(``10:30:00``) and C++ names (``std::string``) are not addresses.
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
_IPV4_REACH = 16  # "255.255.255.255" around any of its dots
_IPV6_REACH = 46
_IPV6_HOST_BITS = 80


def handle_ip_addresses(text: str, handling: IpAddressHandling) -> str:
    """``text`` with every IPv4 and IPv6 address truncated or dropped (``keep``: as it is)."""
    if handling == "keep":
        return text
    # As in ._identifiers: the patterns run only in windows around places
    # that str.find shows could hold an address.
    if text.count(".") >= 3:
        places = _ipv4_places(text)
        if places:
            replace = _truncated_ipv4 if handling == "truncate" else _DROPPED
            windows = list(merged_windows(places, _IPV4_REACH, len(text)))
            text = sub_in_windows(text, _IPV4, replace, windows)
    if text.count(":") >= 2:
        places = _ipv6_places(text)
        if places:
            replace = _truncated_ipv6 if handling == "truncate" else _dropped_ipv6
            windows = list(merged_windows(places, _IPV6_REACH, len(text)))
            text = sub_in_windows(text, _IPV6_CANDIDATE, replace, windows)
    return text


def _ipv4_places(text: str) -> list[int]:
    """Dots with a digit on both sides and two more dots within an address's length."""
    places = []
    dot = text.find(".")
    while dot >= 0:
        if (
            0 < dot < len(text) - 1
            and text[dot - 1].isdigit()
            and text[dot + 1].isdigit()
            and text.count(".", dot, dot + 12) >= 3
        ):
            places.append(dot)
            dot = text.find(".", dot + 12)
        else:
            dot = text.find(".", dot + 1)
    return places


def _ipv6_places(text: str) -> list[int]:
    """Every "::", and colons followed by six more within a full address's length."""
    places = []
    colon = text.find(":")
    while colon >= 0:
        if text.startswith("::", colon) or text.count(":", colon, colon + 40) >= 7:
            places.append(colon)
            colon = text.find(":", colon + 40)
        else:
            colon = text.find(":", colon + 1)
    return places


def _truncated_ipv4(match: re.Match[str]) -> str:
    address = match.group()
    return address[: address.rindex(".")] + ".0"


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
    network = ipaddress.IPv6Address(int(address) >> _IPV6_HOST_BITS << _IPV6_HOST_BITS)
    return network.compressed + trailing


def _dropped_ipv6(match: re.Match[str]) -> str:
    found = _ipv6(match.group())
    return match.group() if found is None else _DROPPED + found[1]
