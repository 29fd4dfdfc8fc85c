"""The dashboard's routes: the page, its static files, JSON data and alert actions.

Kept apart from the HTTP server so that every route is a plain function of
(method, path, query, headers, body): the server only moves bytes.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson

from ff_otel.alerting import operations
from ff_otel.dashboard import data, explorers, sql_console, traces
from ff_otel.dashboard.compliance import compliance_status
from ff_otel.dashboard.context import PER_HOST, StoreView
from ff_otel.dashboard.security import Guard, Verdict
from ff_otel.dashboard.slow_figures import BI_MAX_AGE_SECONDS, SlowFigures, business_intelligence
from ff_otel.dashboard.slow_operations import slow_operations
from ff_otel.pipeline.bi import PERIOD_DAYS
from ff_otel.privacy.scrubber import Scrubber
from ff_otel.sql.clickhouse_client import redacted
from ff_otel.sql.engine import resolve_query_url
from ff_otel.sql.safety import QueryError

_logger = logging.getLogger(__name__)

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
_SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
)
_ALERT_ACTION = re.compile(r"/api/alerts/([A-Za-z0-9_.:-]{1,120})/(acknowledge|resolve)")
_TRACE = re.compile(r"/api/traces/([0-9a-f]{32})")
_MAX_TEXT = 500
_LABELS = frozenset({"rule", "component", "severity", "alert_type"})


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


def _json(status: int, document: Any) -> Response:
    return Response(status, orjson.dumps(document))


def _error(status: int, message: str) -> Response:
    return _json(status, {"error": message})


class BadRequest(ValueError):
    """The request asked for something malformed; the message says what."""


class DashboardApp:
    """Every route of one dashboard over one store."""

    def __init__(
        self,
        base_path: Path | str,
        guard: Guard,
        refresh_seconds: float = 5.0,
        query_url: str | None = None,
    ) -> None:
        self.view = StoreView.at(base_path, resolve_query_url(query_url))
        self.guard = guard
        self.refresh_seconds = refresh_seconds
        self.figures = SlowFigures()
        self.static = _load_static()
        self._scrubber = Scrubber(None)
        self._reads: dict[str, Callable[[dict[str, list[str]]], Any]] = {
            "/api/overview": lambda q: data.overview(self.view),
            "/api/alerts": lambda q: data.alerts(self.view),
            "/api/series": lambda q: data.series(self.view, _one(q, "range", "1h")),
            "/api/operations": lambda q: slow_operations(self.view),
            "/api/errors": lambda q: traces.recent_errors(self.view),
            "/api/bi": lambda q: self._bi(_one(q, "period", "week")),
            "/api/compliance": lambda q: compliance_status(self.view, self.figures),
            **explorers.reads(self.view),
        }

    def warm_up(self) -> None:
        """Start the slow figures the page asks for first, before anyone asks, and draw
        the long-range charts once (opening the SQL engine before the first request)."""
        self._bi("week")
        compliance_status(self.view, self.figures)
        self.figures.warm(lambda: data.series(self.view, "7d"))

    def close(self) -> None:
        self.figures.close()

    def handle(
        self,
        method: str,
        path: str,
        query_string: str,
        headers: Mapping[str, str],
        body: bytes,
        client: str,
    ) -> Response:
        """Answer one request; never raises."""
        try:
            response = self._route(method, path, parse_qs(query_string), headers, body, client)
        except (BadRequest, QueryError) as exc:
            response = _error(400, str(exc))
        except Exception as exc:
            _logger.exception("ff-otel dashboard: %s %s failed", method, path)
            response = _error(500, f"internal error: {type(exc).__name__}")
        response.headers.extend(_SECURITY_HEADERS)
        return response

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
        client: str,
    ) -> Response:
        host = self.guard.check_host(headers)
        if not host.allowed:
            return _error(403, host.reason)
        if method == "GET" and path.startswith("/static/"):
            return self._static(path.removeprefix("/static/"))
        if path == "/login":
            return self._login(method, headers, body)
        verdict = self.guard.authenticate(headers)
        if method == "GET":
            if path == "/":
                return self._page(verdict)
            if explorers.PAGES.fullmatch(path):
                return self._page(verdict, "explore.html")
            if not verdict.allowed:
                return _error(403, verdict.reason)
            if path in self._reads:
                try:
                    return _json(200, self._reads[path](query))
                except ValueError as exc:
                    return _error(400, str(exc))
            found = _TRACE.fullmatch(path)
            if found:
                tree = traces.trace(self.view, found.group(1), _one(query, "at", None))
                return _json(200, tree) if tree else _error(404, "trace not found in the last hour")
            return _error(404, f"no such page: {path}")
        if method != "POST":
            return Response(405, b"", headers=[("Allow", "GET, HEAD, POST")])
        if not verdict.allowed:
            return _error(403, verdict.reason)
        verdict = self.guard.check_mutation(headers, verdict)
        if not verdict.allowed:
            return _error(403, verdict.reason)
        if path == "/api/sql":
            return _json(
                200,
                sql_console.run(self.view.layout.base_path, _json_body(body), self.view.query_url),
            )
        return self._mutate(path, _json_body(body), client)

    def _page(self, verdict: Verdict, template: str = "index.html") -> Response:
        if not verdict.allowed:
            return self._login_page(200)
        session = verdict.session
        headers = []
        if session is None:
            session = self.guard.new_session()
            headers.append(("Set-Cookie", self.guard.session_cookie(session)))
        page = (
            self.static[template][0]
            .decode()
            .replace("{{csrf_token}}", html.escape(self.guard.csrf_token(session)))
            .replace("{{refresh_seconds}}", f"{self.refresh_seconds:g}")
            .replace("{{store}}", html.escape(self._where()))
        )
        return Response(200, page.encode(), _CONTENT_TYPES[".html"], headers)

    def _where(self) -> str:
        """What the page says it shows: the store, or the fleet and the store kept here."""
        store = str(self.view.layout.base_path)
        if not self.view.fleet:
            return store
        return (
            f"fleet: {redacted(self.view.query_url)} · alerts, health, resources and "
            f"compliance: this store ({store}), {PER_HOST.split(':')[0]}"
        )

    def _login(self, method: str, headers: Mapping[str, str], body: bytes) -> Response:
        if method == "GET":
            return self._login_page(200)
        if method != "POST":
            return Response(405, b"", headers=[("Allow", "GET, HEAD, POST")])
        verdict = self.guard.check_mutation(headers, Verdict(True, by_bearer=True))
        if not verdict.allowed:
            return _error(403, verdict.reason)
        offered = parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0]
        if not self.guard.token_matches(offered):
            return self._login_page(403, "That is not the dashboard token.")
        session = self.guard.new_session()
        return Response(
            303,
            b"",
            "text/plain",
            [("Location", "/"), ("Set-Cookie", self.guard.session_cookie(session))],
        )

    def _login_page(self, status: int, message: str = "") -> Response:
        page = self.static["login.html"][0].decode().replace("{{message}}", html.escape(message))
        return Response(status, page.encode(), _CONTENT_TYPES[".html"])

    def _static(self, name: str) -> Response:
        found = self.static.get(name)
        if found is None or name.endswith(".html"):
            return _error(404, f"no such file: {name[:80]}")
        content, content_type = found
        return Response(200, content, content_type)

    def _bi(self, period: str) -> dict[str, Any]:
        if period not in PERIOD_DAYS:
            raise BadRequest(f"unknown period {period!r}; use one of {', '.join(PERIOD_DAYS)}")
        result = self.figures.get(
            f"bi:{period}",
            lambda: business_intelligence(self.view, period),
            max_age=BI_MAX_AGE_SECONDS,
        )
        if result is None:
            return {"status": "computing", "period": period}
        if result.value is None:
            return {"status": "failed", "period": period, **result.to_dict()}
        return {"status": "ready", **result.value, **result.to_dict()}

    def _mutate(self, path: str, body: dict[str, Any], client: str) -> Response:
        alerts_path = self.view.layout.alerts
        actor = self._actor(body, client)
        found = _ALERT_ACTION.fullmatch(path)
        if found:
            alert_id, action = found.groups()
            if action == "acknowledge":
                done = operations.acknowledge(alerts_path, alert_id, actor)
            else:
                notes = self._text(body.get("notes"), "notes") or "resolved from the dashboard"
                done = operations.resolve(alerts_path, alert_id, notes, resolved_by=actor)
            if not done:
                return _error(404, f"no open alert {alert_id} (unknown, or already closed)")
            return _json(200, {"ok": True, "alert_id": alert_id, "action": action, "by": actor})
        if path == "/api/silences":
            matchers = body.get("matchers")
            if not isinstance(matchers, dict) or not matchers:
                raise BadRequest("matchers must be a non-empty object, e.g. {'rule': 'slow'}")
            unknown = set(matchers) - _LABELS
            if unknown or not all(isinstance(v, str) and v for v in matchers.values()):
                raise BadRequest(
                    f"matchers take string values for {', '.join(sorted(_LABELS))}"
                    + (f"; unknown: {', '.join(sorted(map(str, unknown)))}" if unknown else "")
                )
            minutes = body.get("duration_minutes")
            if not isinstance(minutes, (int, float)) or not 1 <= minutes <= 7 * 24 * 60:
                raise BadRequest("duration_minutes must be a number from 1 to 10080 (7 days)")
            silence_id = operations.silence(
                alerts_path,
                {str(k): str(v) for k, v in matchers.items()},
                duration_minutes=float(minutes),
                created_by=actor,
                comment=self._text(body.get("comment"), "comment"),
            )
            return _json(200, {"ok": True, "silence_id": silence_id, "by": actor})
        return _error(404, f"no such action: {path}")

    def _actor(self, body: dict[str, Any], client: str) -> str:
        name = self._text(body.get("by"), "by")[:80]
        return f"{name} (dashboard, {client})" if name else f"dashboard ({client})"

    def _text(self, value: Any, name: str) -> str:
        """Operator text, with what the scrubber finds in free text (emails, tokens) replaced."""
        if value is None:
            return ""
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be text")
        return self._scrubber.free_text(value.strip()[:_MAX_TEXT])


def _one(query: dict[str, list[str]], name: str, default: Any) -> Any:
    values = query.get(name)
    return values[-1] if values else default


def _json_body(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("the request body is not JSON") from None
    if not isinstance(document, dict):
        raise BadRequest("the request body must be a JSON object")
    return document


def _load_static() -> dict[str, tuple[bytes, str]]:
    """The page's files, read once from the installed package."""
    folder = resources.files("ff_otel.dashboard") / "static"
    files = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in _CONTENT_TYPES:
            files[entry.name] = (entry.read_bytes(), _CONTENT_TYPES[suffix])
    return files
