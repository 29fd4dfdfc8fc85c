"""Who may read the dashboard and who may change alerts through it.

- It binds to loopback by default. Binding any other address needs a token
  (``FF_OTEL_DASHBOARD_TOKEN``): :func:`check_bind` refuses to start without one.
- With a token, every request but the login page and the static files must
  carry it: once, through the login form (which then sets a session cookie),
  or on every request as ``Authorization: Bearer <token>`` (scripts).
- Without a token (loopback only), every request must name the loopback
  address it was sent to in its ``Host`` header, so a web page served from
  elsewhere cannot reach the dashboard by DNS rebinding.
- A mutating request (POST) is refused when its ``Origin`` (or, without one,
  its ``Referer``) is not the dashboard itself, and a request that relies on
  the session cookie must also echo the session's CSRF token in
  ``X-CSRF-Token`` (a synchronizer token, HMAC of the session id under a
  secret of this process). A bearer-token request carries no cookie a browser
  could replay, so it needs no CSRF token; a foreign ``Origin`` is refused
  even then.

Refusals are 403 with a one-line reason. Tokens are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

TOKEN_ENV = "FF_OTEL_DASHBOARD_TOKEN"
"""The dashboard's access token (at least 16 characters); needed to listen beyond loopback."""
CSRF_HEADER = "X-CSRF-Token"
_MAX_SESSIONS = 10_000


class BindRefused(ValueError):
    """The dashboard may not listen on that address as configured."""


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Raise :class:`BindRefused` when ``host`` is not loopback and there is no token."""
    if not is_loopback(host) and not token:
        raise BindRefused(
            f"binding {host} exposes the dashboard beyond this machine: "
            f"set {TOKEN_ENV} to a secret (at least 16 characters) or bind 127.0.0.1"
        )
    if token is not None and len(token) < 16:
        raise BindRefused(f"{TOKEN_ENV} is too short: use at least 16 characters")


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on; ``reason`` says why not (and is safe to show)."""

    allowed: bool
    reason: str = ""
    session: str | None = None
    by_bearer: bool = False


class Guard:
    """Sessions, tokens and the origin checks for one running dashboard."""

    def __init__(self, host: str, port: int, token: str | None) -> None:
        self.token = token or None
        self.port = port
        self.cookie_name = f"ff_otel_dashboard_{port}"
        self._secret = secrets.token_bytes(32)
        self._sessions: set[str] = set()
        self._lock = threading.Lock()
        # Without a token only loopback names are answered (DNS rebinding);
        # with one, whatever name the operator reaches the host by is fine.
        self.allowed_hosts: frozenset[str] | None = (
            None
            if self.token
            else frozenset({f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]", host)})
        )

    @property
    def token_required(self) -> bool:
        return self.token is not None

    def new_session(self) -> str:
        session = secrets.token_urlsafe(24)
        with self._lock:
            if len(self._sessions) >= _MAX_SESSIONS:
                self._sessions.clear()  # a flood of logins must not grow memory
            self._sessions.add(session)
        return session

    def csrf_token(self, session: str) -> str:
        return hmac.new(self._secret, session.encode(), hashlib.sha256).hexdigest()

    def token_matches(self, offered: str) -> bool:
        return self.token is not None and hmac.compare_digest(offered.encode(), self.token.encode())

    def session_of(self, headers: Mapping[str, str]) -> str | None:
        """The request's session id, when it holds one this dashboard issued."""
        raw = headers.get("Cookie")
        if not raw:
            return None
        try:
            cookie = SimpleCookie(raw)
        except CookieError:
            return None
        morsel = cookie.get(self.cookie_name)
        if morsel is None:
            return None
        with self._lock:
            return morsel.value if morsel.value in self._sessions else None

    def check_host(self, headers: Mapping[str, str]) -> Verdict:
        if self.allowed_hosts is None:
            return Verdict(True)
        host = (headers.get("Host") or "").lower()
        if host not in self.allowed_hosts:
            return Verdict(
                False, f"unexpected Host header {host!r}: use http://127.0.0.1:{self.port}/"
            )
        return Verdict(True)

    def authenticate(self, headers: Mapping[str, str]) -> Verdict:
        """May this request read? (Mutations also need :meth:`check_mutation`.)"""
        session = self.session_of(headers)
        bearer = _bearer(headers)
        if bearer is not None:
            if self.token_matches(bearer):
                return Verdict(True, session=session, by_bearer=True)
            return Verdict(False, "wrong dashboard token")
        if not self.token_required or session is not None:
            return Verdict(True, session=session)
        return Verdict(False, f"log in with the dashboard token ({TOKEN_ENV}) first")

    def check_mutation(self, headers: Mapping[str, str], verdict: Verdict) -> Verdict:
        """Same origin, and the CSRF token of the session unless the bearer token was sent."""
        host = headers.get("Host") or ""
        origin = headers.get("Origin")
        if origin is not None:
            if not _same_origin(origin, host):
                return Verdict(False, f"cross-origin request from {origin!r} refused")
        else:
            referer = headers.get("Referer")
            if referer is not None and not _same_origin(referer, host):
                return Verdict(False, "cross-origin request refused (Referer)")
            if referer is None and not verdict.by_bearer:
                return Verdict(False, "request without Origin refused")
        if verdict.by_bearer:
            return verdict
        if verdict.session is None:
            return Verdict(False, "no dashboard session: reload the page")
        offered = headers.get(CSRF_HEADER) or ""
        if not hmac.compare_digest(offered.encode(), self.csrf_token(verdict.session).encode()):
            return Verdict(False, "missing or wrong CSRF token: reload the page")
        return verdict

    def session_cookie(self, session: str) -> str:
        return f"{self.cookie_name}={session}; HttpOnly; SameSite=Strict; Path=/"


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("Authorization")
    if not value:
        return None
    scheme, _, credentials = value.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def _same_origin(url: str, host: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.lower()
