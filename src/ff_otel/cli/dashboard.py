"""``ff-otel dashboard``: serve the live web dashboard for a store until Ctrl-C."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from ff_otel.cli._common import (
    base_path_option,
    examples,
    fail,
    open_store,
    query_url_option,
)
from ff_otel.dashboard import TOKEN_ENV, BindRefused, create_server
from ff_otel.settings.model import ConfigError
from ff_otel.sql.clickhouse_client import redacted
from ff_otel.store.layout import StoreLayout


@click.command(
    epilog=examples(
        "ff-otel dashboard                      # http://127.0.0.1:8050/",
        "ff-otel dashboard --base-path /srv/chat/ff_data --port 9000",
        f"{TOKEN_ENV}=$(openssl rand -hex 24) ff-otel dashboard --host 0.0.0.0",
    )
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help=f"Address to listen on. Anything but loopback needs {TOKEN_ENV}.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8050,
    show_default=True,
    help="Port to listen on (0: any free port, printed at start).",
)
@click.option(
    "--refresh",
    type=click.FloatRange(1, 3600),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="How often the page polls for new data.",
)
@base_path_option
@query_url_option
def dashboard(host: str, port: int, refresh: float, base_path: Path, query_url: str | None) -> None:
    """Serve a live web dashboard: health, alerts (acknowledge, resolve, silence), latency,
    errors and resource charts, slow operations with their traces, BI and compliance.

    It reads the store and changes nothing but alerts (each change audited). It
    binds to loopback unless told otherwise; on any other address every request
    needs the token in FF_OTEL_DASHBOARD_TOKEN (the page asks for it once).

    With --query-url the charts, operations, traces, errors, explorers, BI and the
    SQL console are the fleet's (ClickHouse); alerts, health, resource readings and
    compliance stay those of the store at --base-path (the page says so).
    """
    layout = StoreLayout(base_path) if query_url else open_store(base_path)
    token = os.environ.get(TOKEN_ENV) or None
    try:
        server = create_server(
            layout.base_path,
            host,
            port,
            token,
            refresh_seconds=refresh,
            query_url=query_url or "",
        )
    except BindRefused as exc:
        fail(str(exc))
    except ConfigError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"ff-otel dashboard for {_source(layout.base_path, query_url)} "
        f"at http://{shown}:{server.port}/ "
        f"({'token required' if token else 'no token'}; Ctrl-C stops it)"
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it runs on another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _source(base_path: Path, query_url: str | None) -> str:
    if not query_url:
        return str(base_path)
    return f"the fleet at {redacted(query_url)} (alerts: {base_path})"
