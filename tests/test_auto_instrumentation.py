"""Unmodified services under ``ff-otel-instrument`` and ``opentelemetry-instrument``.

Real processes: each service in ``tests/apps`` (which import nothing of ff-otel)
is started by a fixture under a launcher, served real HTTP requests, then
stopped with the signal its server treats as a graceful stop; the store is
polled with generous deadlines, never waited on for a fixed time. Each service
runs once per module and every test reads what that run left in its store.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import venv
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import ff_otel
from ff_otel.sdk import launcher

from .conftest import Collector, free_port, records

BIN = Path(sys.executable).parent
APPS = Path(__file__).parent / "apps"
SERVICE = "shop"
EMAIL = "alice@example.com"
TOKEN = "tok" + "5e" * 8
FLASK_ITEM_ROUTE = "/items/<int:item_id>"
FASTAPI_ITEM_ROUTE = "/items/{item_id}"
_DEADLINE = 120.0
"""Seconds to wait for a server to start, answer, store or stop: generous for a loaded machine."""


def environment(**extra: str) -> dict[str, str]:
    """This environment without the developer's FF_OTEL_*/OTEL_* variables, plus ``extra``.

    The venv's bin comes first on PATH, as in an activated venv, so that
    ``python``, ``gunicorn`` and ``uvicorn`` are the ones with ff-otel installed.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FF_OTEL_", "OTEL_"))}
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["FF_OTEL_COLLECTION_INTERVAL_SECONDS"] = "1"
    env["FF_OTEL_SYSTEM_METRICS"] = "false"
    env.update(extra)
    return env


def run(
    command: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=APPS, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def store_files(store: Path) -> list[Path]:
    return [path for path in store.rglob("*") if path.is_file()]


def never_stored(store: Path, *texts: str) -> None:
    """None of ``texts`` is in any file of the store."""
    for path in store_files(store):
        data = path.read_bytes()
        for text in texts:
            assert text.encode() not in data, f"{text!r} reached {path}"


def server_spans(store: Path) -> list[dict[str, Any]]:
    return [
        r for r in records(store / "analytics/system_metrics/spans.jsonl") if r["kind"] == "server"
    ]


# --------------------------------------------------------------------------- services


@dataclass(frozen=True)
class Launch:
    """How one service is started: the launcher, the server and its graceful stop."""

    name: str
    framework: str
    command: Callable[[Path, int], list[str]]
    extra_env: Callable[[Path], dict[str, str]]
    stop: signal.Signals
    workers: int = 1
    stopped_by: int = 0
    """The server's exit status after ``stop`` (uvicorn re-raises SIGTERM once it has shut down)."""
    live: bool = True
    """Whether spans are expected before the stop (False: an hour's interval, so only the
    flush at the stop writes them)."""

    @property
    def item_route(self) -> str:
        return FLASK_ITEM_ROUTE if self.framework == "flask" else FASTAPI_ITEM_ROUTE


def _ff_otel_instrument(*program: str) -> Callable[[Path, int], list[str]]:
    def command(store: Path, port: int) -> list[str]:
        args = [arg.format(port=port) for arg in program]
        return ["ff-otel-instrument", "--base-path", str(store), "--service-name", SERVICE, *args]

    return command


def _opentelemetry_instrument(*program: str) -> Callable[[Path, int], list[str]]:
    def command(store: Path, port: int) -> list[str]:
        return ["opentelemetry-instrument", *[arg.format(port=port) for arg in program]]

    return command


def _no_env(store: Path) -> dict[str, str]:
    return {}


def _otel_env(store: Path) -> dict[str, str]:
    # The standard variables only: the distro by name, the service name, and
    # where the store is (the one ff-otel setting that has no OTEL_ form).
    return {
        "OTEL_PYTHON_DISTRO": "ff_otel",
        "OTEL_SERVICE_NAME": SERVICE,
        "FF_OTEL_BASE_PATH": str(store),
    }


LAUNCHES = [
    Launch(
        "flask-werkzeug-ff-otel-instrument",
        "flask",
        _ff_otel_instrument("python", "flask_app.py", "{port}"),
        _no_env,
        signal.SIGINT,
    ),
    Launch(
        "flask-werkzeug-opentelemetry-instrument",
        "flask",
        _opentelemetry_instrument("python", "flask_app.py", "{port}"),
        _otel_env,
        signal.SIGINT,
    ),
    GUNICORN := Launch(
        "flask-gunicorn-ff-otel-instrument",
        "flask",
        _ff_otel_instrument(
            "gunicorn",
            "-w",
            "2",
            "-b",
            "127.0.0.1:{port}",
            "--graceful-timeout",
            "10",
            "flask_app:app",
        ),
        lambda store: {"FF_OTEL_SYSTEM_METRICS": "true"},
        signal.SIGTERM,
        workers=2,
    ),
    Launch(
        "fastapi-uvicorn-ff-otel-instrument",
        "fastapi",
        _ff_otel_instrument(
            "uvicorn", "fastapi_app:app", "--host", "127.0.0.1", "--port", "{port}"
        ),
        _no_env,
        signal.SIGINT,
    ),
    Launch(
        "fastapi-uvicorn-opentelemetry-instrument",
        "fastapi",
        _opentelemetry_instrument(
            "uvicorn", "fastapi_app:app", "--host", "127.0.0.1", "--port", "{port}"
        ),
        lambda store: {**_otel_env(store), "FF_OTEL_COLLECTION_INTERVAL_SECONDS": "3600"},
        signal.SIGTERM,
        stopped_by=-signal.SIGTERM,
        live=False,
    ),
]


@dataclass
class Sent:
    """One request the test made, with the trace id it carried in ``traceparent``."""

    path: str
    status: int
    pid: int | None


@dataclass
class Served:
    """What one service run did: the requests, how the process ended, where it wrote."""

    launch: Launch
    store: Path
    pid: int
    output: Path
    requests: dict[str, Sent] = field(default_factory=dict)
    returncode: int | None = None

    def spans_by_trace(self) -> dict[str, dict[str, Any]]:
        return {span["trace_id"]: span for span in server_spans(self.store)}


def _get(client: httpx.Client, path: str, **kwargs: Any) -> tuple[str, Sent]:
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    # A new connection each time: uvicorn closes one whose handler raised.
    headers = {"traceparent": traceparent, "connection": "close"}
    response = client.get(path, headers=headers, **kwargs)
    try:
        pid = response.json().get("pid")
    except ValueError:
        pid = None
    return trace_id, Sent(path, response.status_code, pid)


def _wait_serving(served: Served, process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + _DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"{served.launch.name} exited with {process.returncode}:\n"
                + served.output.read_text(errors="replace")[-3000:]
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{served.launch.name} never answered on port {port}")


def _send_traffic(served: Served, port: int) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
        for path in ("/", "/items/1", "/items/2", "/boom", f"/items/9?email={EMAIL}&token={TOKEN}"):
            trace_id, sent = _get(client, path)
            served.requests[trace_id] = sent
        # A client or an HTML form percent-encodes the "@".
        trace_id, sent = _get(client, "/items/3", params={"email": EMAIL, "token": TOKEN})
        served.requests[trace_id] = sent
    if served.launch.workers > 1:
        _spread_over_workers(served, port)


def _spread_over_workers(served: Served, port: int) -> None:
    # Concurrent requests: while one sync worker is busy, another accepts.
    deadline = time.monotonic() + _DEADLINE
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
        while time.monotonic() < deadline:
            with ThreadPoolExecutor(max_workers=4) as pool:
                for trace_id, sent in pool.map(lambda n: _get(client, f"/items/{n}"), range(16)):
                    served.requests[trace_id] = sent
            if len({sent.pid for sent in served.requests.values() if sent.pid}) >= 2:
                return
    raise AssertionError("gunicorn's two workers never both answered")


def _wait_for_spans(served: Served) -> None:
    deadline = time.monotonic() + _DEADLINE
    while time.monotonic() < deadline:
        if set(served.requests) <= set(served.spans_by_trace()):
            return
        time.sleep(0.2)
    missing = set(served.requests) - set(served.spans_by_trace())
    raise AssertionError(f"{len(missing)} request(s) never had a server span stored")


def _stop(served: Served, process: subprocess.Popen[bytes]) -> None:
    process.send_signal(served.launch.stop)
    try:
        served.returncode = process.wait(timeout=_DEADLINE)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        raise AssertionError(
            f"{served.launch.name} did not stop on {served.launch.stop.name}"
        ) from None


@pytest.fixture(scope="module", params=LAUNCHES, ids=[launch.name for launch in LAUNCHES])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A service started under its launcher, served traffic and stopped gracefully."""
    launch: Launch = request.param
    folder = tmp_path_factory.mktemp(launch.name)
    store = folder / "store"
    port = free_port()
    output = folder / "server.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            launch.command(store, port),
            cwd=APPS,
            env=environment(**launch.extra_env(store)),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(launch=launch, store=store, pid=process.pid, output=output)
    try:
        _wait_serving(served, process, port)
        _send_traffic(served, port)
        if launch.live:
            _wait_for_spans(served)
        _stop(served, process)
        yield served
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_server_spans_have_route_status_and_duration(served: Served) -> None:
    spans = served.spans_by_trace()
    for trace_id, sent in served.requests.items():
        span = spans[trace_id]
        route = {"/": "/", "/boom": "/boom"}.get(sent.path, served.launch.item_route)
        assert span["attributes"]["http.route"] == route
        assert span["attributes"]["http.status_code"] == sent.status
        assert span["attributes"]["http.method"] == "GET"
        assert span["duration_ms"] > 0
        assert span["service"] == SERVICE
        assert span["status"] == ("error" if sent.status >= 500 else "ok")
    statuses = sorted({sent.status for sent in served.requests.values()})
    assert statuses == [200, 500]


def test_the_raised_handler_error_is_in_error_rates(served: Served) -> None:
    boom = next(trace for trace, sent in served.requests.items() if sent.path == "/boom")
    errors = records(served.store / "analytics/system_metrics/error_rates.jsonl")
    raised = [e for e in errors if e.get("record_type") == "span_error" and e["trace_id"] == boom]
    assert any(
        e["error_type"] == "RuntimeError" and e["message"] == "the boom handler failed"
        for e in raised
    ), raised
    # The pipeline ran too: its interval summaries counted the failed request.
    summaries = [e for e in errors if e.get("record_type") == "interval_summary"]
    assert sum(e["failed_requests"] for e in summaries) >= 1


def test_an_email_or_token_in_a_query_string_never_reaches_the_store(served: Served) -> None:
    never_stored(served.store, EMAIL, EMAIL.replace("@", "%40"), TOKEN)
    stored = json.dumps(server_spans(served.store))
    assert "[REDACTED:email]" in stored
    assert "[REDACTED:secret parameter]" in stored


def test_the_stop_signal_ends_the_service_as_it_would_without_ff_otel(served: Served) -> None:
    output = served.output.read_text(errors="replace")
    assert served.returncode == served.launch.stopped_by, output[-3000:]
    # Nothing went wrong in ff-otel or the auto-instrumentation on the way.
    for complaint in ("ff-otel:", "exporter failed", "Failed to auto initialize"):
        assert complaint not in output, output[-3000:]


@pytest.mark.parametrize("served", [GUNICORN], indirect=True, ids=[GUNICORN.name])
def test_each_gunicorn_worker_records_into_the_shared_store(served: Served) -> None:
    spans = served.spans_by_trace()
    workers = {sent.pid for sent in served.requests.values() if sent.pid}
    assert len(workers) == 2 and served.pid not in workers
    for worker in workers:
        stored = [t for t, sent in served.requests.items() if sent.pid == worker and t in spans]
        assert stored, f"no span stored from worker {worker}"
    # Store-wide work stayed with the master (the collector lease's holder),
    # reading host and process resources once per interval.
    usage = records(served.store / "analytics/system_metrics/resource_usage.jsonl")
    assert usage and {u["process"]["pid"] for u in usage} == {served.pid}
    # Three processes appended to one audit chain; it is intact.
    verified = ff_otel.verify_audit_trail(base_path=served.store)
    assert verified.ok and verified.records >= 3, verified


# ------------------------------------------------------------------- short programs


def test_exit_code_and_python_m_form(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = run(
        [
            "ff-otel-instrument",
            "--base-path",
            str(store),
            "--service-name",
            "job",
            "python",
            "-m",
            "exit_with",
            "3",
        ],
        environment(),
    )
    assert result.returncode == 3, result.stderr
    system = store / "analytics/system_metrics"
    (span,) = records(system / "spans.jsonl")
    assert (span["name"], span["service"], span["attributes"]["exit.code"]) == (
        "exit_with.work",
        "job",
        3,
    )
    assert any(m["name"] == "exit_with.runs" for m in records(system / "metrics.jsonl"))
    assert any(log["body"] == "exiting with 3" for log in records(system / "logs.jsonl"))
    never_stored(store, "carol@example.com")


def test_exporters_named_in_otel_variables_run_beside_the_store(
    tmp_path: Path, collector: Collector
) -> None:
    store = tmp_path / "store"
    env = environment(
        OTEL_PYTHON_DISTRO="ff_otel",
        OTEL_SERVICE_NAME="job",
        FF_OTEL_BASE_PATH=str(store),
        OTEL_TRACES_EXPORTER="console,otlp",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=collector.grpc_endpoint,
        OTEL_LOGS_EXPORTER="no_such_exporter",
        OTEL_METRICS_EXPORTER="none",
    )
    result = run(["opentelemetry-instrument", "python", "-m", "exit_with", "0"], env)
    assert result.returncode == 0, result.stderr
    # The console exporter printed the span, scrubbed like everything that leaves.
    assert '"name": "exit_with.work"' in result.stdout
    assert "carol@example.com" not in result.stdout
    assert "[REDACTED:email]" in result.stdout
    # OTLP for traces only (the signal whose variable named it).
    seen = collector.wait_for("exit_with.work")
    assert "carol@example.com" not in seen
    # An unknown name is one clear log line; the rest still ran.
    assert "OTEL_LOGS_EXPORTER names 'no_such_exporter'" in result.stderr
    system = store / "analytics/system_metrics"
    assert [s["name"] for s in records(system / "spans.jsonl")] == ["exit_with.work"]
    assert any(log["body"] == "exiting with 0" for log in records(system / "logs.jsonl"))
    assert any(m["name"] == "exit_with.runs" for m in records(system / "metrics.jsonl"))


def test_ff_flatfile_exporters_under_the_sdks_own_configurator(tmp_path: Path) -> None:
    # Another distro and the SDK's configurator, registered the way packages
    # such as opentelemetry-distro register theirs; ff-otel only as exporters.
    dist_info = tmp_path / "site" / "other_distro-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: other-distro\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        "[opentelemetry_distro]\n"
        "other = opentelemetry.instrumentation.distro:DefaultDistro\n"
        "[opentelemetry_configurator]\n"
        "sdk = opentelemetry.sdk._configuration:_OTelSDKConfigurator\n"
    )
    store = tmp_path / "store"
    env = environment(
        PYTHONPATH=str(tmp_path / "site"),
        OTEL_PYTHON_DISTRO="other",
        OTEL_PYTHON_CONFIGURATOR="sdk",
        OTEL_SERVICE_NAME="sdk-job",
        OTEL_TRACES_EXPORTER="ff_flatfile",
        OTEL_METRICS_EXPORTER="ff_flatfile",
        OTEL_LOGS_EXPORTER="ff_flatfile",
        FF_OTEL_BASE_PATH=str(store),
    )
    result = run(["opentelemetry-instrument", "python", "-m", "exit_with", "5"], env)
    assert result.returncode == 5, result.stderr
    assert "Configuration of ff_otel not loaded" in result.stderr
    system = store / "analytics/system_metrics"
    (span,) = records(system / "spans.jsonl")
    assert (span["name"], span["service"]) == ("exit_with.work", "sdk-job")
    assert span["attributes"]["contact"] == "[REDACTED:email]"
    assert any(m["name"] == "exit_with.runs" for m in records(system / "metrics.jsonl"))
    assert any(log["body"] == "exiting with 5" for log in records(system / "logs.jsonl"))


@pytest.mark.parametrize(
    ("variable", "value"),
    [("OTEL_SDK_DISABLED", "true"), ("OTEL_TRACES_SAMPLER", "always_off")],
)
def test_standard_switches_keep_their_meaning(tmp_path: Path, variable: str, value: str) -> None:
    store = tmp_path / "store"
    env = environment(**{variable: value})
    command = ["ff-otel-instrument", "--base-path", str(store), "python", "-m", "exit_with", "0"]
    result = run(command, env)
    assert result.returncode == 0, result.stderr
    spans = store / "analytics/system_metrics/spans.jsonl"
    if variable == "OTEL_SDK_DISABLED":
        assert not store.exists()
    else:
        assert records(spans) == []
        metrics = records(store / "analytics/system_metrics/metrics.jsonl")
        assert any(m["name"] == "exit_with.runs" for m in metrics)


def test_disabled_instrumentations_are_not_loaded(tmp_path: Path) -> None:
    program = (
        "import flask\n"
        "app = flask.Flask('probe')\n"
        "app.add_url_rule('/', 'index', lambda: 'ok')\n"
        "assert app.test_client().get('/').status_code == 200\n"
    )
    spans = {}
    for disabled in ("", "flask"):
        store = tmp_path / (disabled or "all")
        env = environment(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=disabled)
        result = run(
            ["ff-otel-instrument", "--base-path", str(store), "python", "-c", program], env
        )
        assert result.returncode == 0, result.stderr
        spans[disabled] = server_spans(store)
    assert [s["name"] for s in spans[""]] == ["GET /"]
    assert spans["flask"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus", "python", "app.py"], "unknown option --bogus"),
        (["--analytics-level", "loud", "python", "app.py"], "--analytics-level must be one of"),
        (["--otlp-endpoint", "collector", "python"], "--otlp-endpoint must be a URL"),
        (["--service-name"], "--service-name needs a value"),
        (["--service-name", "x"], "no program to run given"),
        (["--base-path", "/proc/no-store-here", "python"], "cannot create the ff-otel store"),
    ],
)
def test_launcher_usage_errors_are_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        launcher.main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("ff-otel-instrument: error: ") and message in err
    assert err.count("\n") == 1


def test_a_missing_program_is_one_line_and_exit_2() -> None:
    result = run(["ff-otel-instrument", "no-such-program-anywhere", "--flag"], environment())
    assert result.returncode == 2
    assert (
        result.stderr == "ff-otel-instrument: error: program not found: no-such-program-anywhere\n"
    )


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh venv with no packages: its python cannot import ff-otel."""
    folder = tmp_path_factory.mktemp("bare-venv")
    venv.create(folder, with_pip=False)
    return folder / "bin"


def test_a_bare_python_on_path_is_replaced_by_the_launchers_own(
    tmp_path: Path, bare_python: Path
) -> None:
    # An unactivated venv: the launcher is called by its path, while "python"
    # on PATH is another interpreter without ff-otel.
    store = tmp_path / "store"
    env = environment()
    env["PATH"] = f"{bare_python}{os.pathsep}/usr/bin{os.pathsep}/bin"
    result = run(
        [
            str(BIN / "ff-otel-instrument"),
            "--base-path",
            str(store),
            "python",
            "-m",
            "exit_with",
            "3",
        ],
        env,
    )
    assert result.returncode == 3, result.stderr
    assert f"python on PATH ({bare_python / 'python'}) cannot import ff_otel" in result.stderr
    assert "Error in sitecustomize" not in result.stderr
    (span,) = records(store / "analytics/system_metrics/spans.jsonl")
    assert span["name"] == "exit_with.work"


def test_a_named_interpreter_without_ff_otel_is_refused_in_one_line(
    tmp_path: Path, bare_python: Path
) -> None:
    interpreter = bare_python / "python"
    result = run(
        ["ff-otel-instrument", "--base-path", str(tmp_path), str(interpreter), "-m", "exit_with"],
        environment(),
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        f"ff-otel-instrument: error: {interpreter} cannot import ff_otel"
    )
    assert "pip install ff-otel" in result.stderr


def test_launcher_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        launcher.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "gunicorn -w 4" in out and "python -m shop" in out and "uvicorn" in out


# ---------------------------------------------------------------------- fork safety

FORKING_SERVICE = """
import os, sys
import ff_otel
ff_otel.configure(
    base_path=sys.argv[1],
    analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=1),
    system_metrics=False,
)
orders = ff_otel.counter("orders")
with ff_otel.span("parent.before_fork"):
    orders.add(1)  # both queued for export, not yet written
pid = os.fork()
if pid == 0:
    with ff_otel.span("child.work"):
        orders.add(10)
    ff_otel.shutdown()
    os._exit(0)
os.waitpid(pid, 0)
with ff_otel.span("parent.after_fork"):
    orders.add(100)
"""


def test_a_forked_child_records_its_own_spans_and_none_of_its_parents(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = run([sys.executable, "-c", FORKING_SERVICE, str(store)], environment())
    assert result.returncode == 0, result.stderr
    names = sorted(s["name"] for s in records(store / "analytics/system_metrics/spans.jsonl"))
    # The queue and metric state the child inherited are the parent's to
    # export: nothing is counted twice.
    assert names == ["child.work", "parent.after_fork", "parent.before_fork"]
    metrics = records(store / "analytics/system_metrics/metrics.jsonl")
    assert sum(m["value"] for m in metrics if m["name"] == "orders") == 111
    assert ff_otel.verify_audit_trail(base_path=store).ok
    audit = records(store / "analytics/compliance/audit_logs.jsonl")
    configured = [r["pid"] for r in audit if r["action"] == "configure"]
    assert len(set(configured)) == len(configured) == 2  # each process configured itself once


APPENDING_WHILE_FORKING = """
import os, sys, threading
from pathlib import Path
from ff_otel.store.appender import append_records
path, stop = Path(sys.argv[1]), threading.Event()
def writer():
    while not stop.is_set():
        append_records(path, [{"from": "thread"}])
thread = threading.Thread(target=writer)
thread.start()
for n in range(100):
    pid = os.fork()
    if pid == 0:
        append_records(path, [{"from": "child", "n": n}])
        os._exit(0)
    os.waitpid(pid, 0)
stop.set()
thread.join()
"""


def test_a_child_forked_mid_append_does_not_keep_the_file_locked(tmp_path: Path) -> None:
    # A flock belongs to the open file: a child holding a copy of the writer
    # thread's descriptor would keep the file locked, and its own append
    # (like every other writer's) would wait forever.
    path = tmp_path / "stream.jsonl"
    result = run([sys.executable, "-c", APPENDING_WHILE_FORKING, str(path)], environment())
    assert result.returncode == 0, result.stderr
    children = [r for r in records(path) if r["from"] == "child"]
    assert sorted(r["n"] for r in children) == list(range(100))


@pytest.mark.parametrize(
    "launch",
    [
        pytest.param(
            lambda store, port, endpoint: (
                _ff_otel_instrument(
                    "--otlp-endpoint", endpoint, "uvicorn", "fastapi_app:app",
                    "--host", "127.0.0.1", "--port", "{port}",
                )(store, port),
                {},
            ),
            id="fastapi-uvicorn-ff-otel-instrument",
        ),
        pytest.param(
            lambda store, port, endpoint: (
                _opentelemetry_instrument("python", "flask_app.py", "{port}")(store, port),
                {**_otel_env(store), "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint},
            ),
            id="flask-werkzeug-opentelemetry-instrument",
        ),
    ],
)  # fmt: skip
def test_a_service_sends_to_the_collector_and_rides_out_its_outage(
    launch: Callable[[Path, int, str], tuple[list[str], dict[str, str]]],
    tmp_path: Path,
    collector: Collector,
) -> None:
    store, port = tmp_path / "store", free_port()
    command, extra_env = launch(store, port, collector.grpc_endpoint)
    output = tmp_path / "server.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=APPS,
            env=environment(**extra_env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    # Both servers here stop gracefully on SIGINT, as LAUNCHES[0]'s does.
    served = Served(launch=LAUNCHES[0], store=store, pid=process.pid, output=output)

    def send(count: int) -> list[str]:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
            sent = [_get(client, f"/items/{n}") for n in range(count)]
        assert all(request.status == 200 for _, request in sent)  # served throughout
        served.requests.update(sent)
        return [trace_id for trace_id, _ in sent]

    try:
        _wait_serving(served, process, port)
        before = send(5)
        collector.wait_for(*before, timeout=60)

        collector.stop()
        during = send(20)
        _wait_for_spans(served)  # the store keeps recording while the collector is down

        collector.start()
        # A new request each round until one reaches the restarted collector:
        # sending resumes after the exporter's pause (at most 10 s).
        deadline = time.monotonic() + 90
        after: list[str] = []
        while not after or not any(t in collector.output.read_text() for t in after):
            assert time.monotonic() < deadline, "telemetry never reached the restarted collector"
            after += send(1)
            time.sleep(1)
        _stop(served, process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    stored = served.spans_by_trace()
    assert set(before + during + after) <= set(stored)  # the local store missed nothing
    assert {stored[t]["attributes"]["http.route"] for t in during} <= {
        FLASK_ITEM_ROUTE,
        FASTAPI_ITEM_ROUTE,
    }


# ------------------------------------------------------------------ installing


def test_each_instrumentation_extra_installs_a_set_pip_check_accepts() -> None:
    # `pip install 'ff-otel[flask]'` resolves the instrumentation together with
    # the OpenTelemetry SDK; this venv was installed so (the dev extra pulls
    # ff-otel[flask,fastapi]) and holds no conflicting pair.
    requires = importlib.metadata.metadata("ff-otel").get_all("Requires-Dist") or []
    for extra in ("flask", "fastapi", "django", "requests", "sqlalchemy"):
        assert any(
            r.startswith(f"opentelemetry-instrumentation-{extra}") and f'extra == "{extra}"' in r
            for r in requires
        ), (extra, requires)
    checked = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
