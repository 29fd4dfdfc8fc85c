"""The HTTP server: the standard library's threading server around :class:`DashboardApp`.

``http.server.ThreadingHTTPServer`` rather than an ASGI stack: the dashboard
serves one operator (or a few) polling a handful of JSON endpoints whose work
is blocking file reads, which a thread per connection suits, and it adds no
runtime dependency to ff-otel. Connections are kept alive (HTTP/1.1).
"""

from __future__ import annotations

import logging
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from ff_otel.dashboard.app import DashboardApp, Response
from ff_otel.dashboard.security import Guard, check_bind

_logger = logging.getLogger(__name__)
_MAX_BODY = 64 * 1024


class DashboardServer(ThreadingHTTPServer):
    """A listening dashboard; :meth:`serve_forever` answers until :meth:`shutdown`."""

    daemon_threads = True
    app: DashboardApp

    def __init__(self, host: str, port: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler, bind_and_activate=False)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def server_close(self) -> None:
        super().server_close()
        self.app.close()


def create_server(
    base_path: Path | str,
    host: str = "127.0.0.1",
    port: int = 8050,
    token: str | None = None,
    *,
    refresh_seconds: float = 5.0,
    query_url: str | None = None,
) -> DashboardServer:
    """A dashboard for the store at ``base_path`` listening on ``host:port`` (0: any free port).

    ``query_url`` (else ``configure(query_url=...)``, else ``FF_OTEL_QUERY_URL``; "" for the
    store): the fleet's ClickHouse its telemetry pages query (:mod:`ff_otel.dashboard.context`).

    Raises :class:`ff_otel.dashboard.security.BindRefused` for a non-loopback
    ``host`` without a ``token``, ``OSError`` when the address cannot be bound.
    """
    check_bind(host, token)
    server = DashboardServer(host.strip("[]"), port)
    try:
        server.server_bind()
        server.server_activate()
    except OSError:
        server.socket.close()
        raise
    guard = Guard(host, server.port, token)
    server.app = DashboardApp(base_path, guard, refresh_seconds, query_url)
    server.app.warm_up()
    return server


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    protocol_version = "HTTP/1.1"
    # The answer goes out as one buffered write with Nagle off: headers and body
    # as separate small writes would wait for the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024
    server_version = "ff-otel-dashboard"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer("GET")

    def do_HEAD(self) -> None:
        # Health probes and link checkers ask with HEAD: the GET answer's
        # status and headers (its Content-Length too), without the body.
        self._answer("GET", with_body=False)

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str, *, with_body: bool = True) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self._send(Response(413 if length > 0 else 400, b'{"error": "bad Content-Length"}'))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length > 0 else b""
        target = urlsplit(self.path)
        headers = {name: value for name, value in self.headers.items()}
        response = self.server.app.handle(
            method, target.path, target.query, headers, body, self.client_address[0]
        )
        self._send(response, with_body=with_body)

    def _send(self, response: Response, *, with_body: bool = True) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        _logger.debug("ff-otel dashboard: %s - %s", self.address_string(), format % args)
