"""A ClickHouse that is down, silent, slow or refuses the user: one line naming what failed,
where and what to check, never the password, never a traceback, within the configured timeout.

The server side of the silent and the refusing server is a real socket on loopback answering
as ClickHouse's HTTP interface does (a ClickHouse server cannot run here; chdb is in-process).
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import ff_otel

from .conftest import free_port
from .test_cli_sql import CLI, run

_AUTH_FAILED = (
    b"Code: 516. DB::Exception: ro: Authentication failed: password is incorrect, or there is "
    b"no user with such name. (AUTHENTICATION_FAILED) (version 25.3.1.1)\n"
)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.fixture
def refusing_server() -> Iterator[int]:
    """Answers every request as ClickHouse does a wrong password (HTTP 516)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(516)
            self.send_header("X-ClickHouse-Exception-Code", "516")
            self.send_header("Content-Length", str(len(_AUTH_FAILED)))
            self.end_headers()
            self.wfile.write(_AUTH_FAILED)

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr and stderr.count("\n") == 1, stderr
    return stderr


def test_a_closed_port_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    done = run(
        "sql",
        "SELECT count(*) FROM spans",
        "--query-url",
        f"clickhouse://ro:s3cret@127.0.0.1:{port}/otel",
    )
    assert done.returncode == 2
    line = _one_line(done.stderr)
    assert f"ClickHouse query at clickhouse://127.0.0.1:{port} failed" in line
    assert "check the host and port in the URL" in line and "s3cret" not in line


def test_a_silent_server_gives_up_at_the_configured_timeout(
    base_path: Path, silent_server: int
) -> None:
    ff_otel.configure(base_path=base_path, system_metrics=False, query_timeout_seconds=1)
    started = time.monotonic()
    with pytest.raises(ff_otel.QueryError) as caught:
        ff_otel.sql("SELECT 1", query_url=f"clickhouse://ro:pw@127.0.0.1:{silent_server}/otel")
    assert time.monotonic() - started < 30  # generous for a busy machine; the timeout is 1 s
    message = str(caught.value)
    assert "\n" not in message and f"127.0.0.1:{silent_server}" in message
    assert "took longer than query_timeout_seconds (1 s, FF_OTEL_QUERY_TIMEOUT_SECONDS)" in message


def test_the_cli_reads_the_timeout_from_the_environment(silent_server: int) -> None:
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("FF_OTEL_", "OTEL_"))}
    env["FF_OTEL_QUERY_TIMEOUT_SECONDS"] = "1"
    done = subprocess.run(
        [
            str(CLI),
            "sql",
            "SELECT 1",
            "--query-url",
            f"clickhouse://127.0.0.1:{silent_server}/otel",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "took longer than query_timeout_seconds (1 s" in _one_line(done.stderr)


def test_a_wrong_password_says_to_check_the_credentials(refusing_server: int) -> None:
    url = f"clickhouse://ro:wrong-pw@127.0.0.1:{refusing_server}/otel"
    with pytest.raises(ff_otel.QueryError) as caught:
        ff_otel.sql("SELECT count(*) FROM spans", query_url=url)
    message = str(caught.value)
    assert "\n" not in message and "AUTHENTICATION_FAILED" in message
    assert "check the user name and password in the URL" in message
    assert "wrong-pw" not in message


def test_a_query_running_past_the_timeout_is_stopped_in_chdb(
    base_path: Path, chdb_path: Path
) -> None:
    ff_otel.configure(base_path=base_path, system_metrics=False, query_timeout_seconds=1)
    url = f"chdb://{chdb_path}?database=default"
    started = time.monotonic()
    with pytest.raises(ff_otel.QueryError) as caught:
        ff_otel.sql(
            "SELECT count() FROM numbers(1000000000000) WHERE sipHash64(number) = 1",
            query_url=url,
        )
    assert time.monotonic() - started < 30
    assert "took longer than query_timeout_seconds (1 s" in str(caught.value)
