"""Headers, compression and TLS for OTLP come from the standard ``OTEL_EXPORTER_OTLP_*`` variables.

rotel does not print request headers or speak TLS on its receivers, so these
tests run minimal real OTLP receivers on loopback sockets: a gRPC
``TraceService`` (grpcio) and an HTTP server, with TLS from a certificate that
``openssl`` makes for the test. They record what arrived on the wire.
"""

from __future__ import annotations

import gzip
import os
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

import ff_otel
from ff_otel.settings.resolution import resolve_settings

from .conftest import Collector

FF_OTEL = str(Path(sys.executable).with_name("ff-otel"))


@dataclass
class Received:
    """One export request as the receiver saw it."""

    headers: dict[str, str]
    span_names: list[str]


@dataclass
class Receiver:
    endpoint: str
    requests: list[Received] = field(default_factory=list)


def _span_names(request: trace_service_pb2.ExportTraceServiceRequest) -> list[str]:
    return [
        span.name
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]


@dataclass
class Certificate:
    cert: Path
    key: Path


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 (also its own CA)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    made = Certificate(tmp_path / "cert.pem", tmp_path / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(made.key), "-out", str(made.cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return made


def _grpc_receiver(certificate: Certificate | None) -> Iterator[Receiver]:
    receiver = Receiver(endpoint="")

    class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(
            self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
        ) -> trace_service_pb2.ExportTraceServiceResponse:
            headers = {key: str(value) for key, value in context.invocation_metadata()}
            receiver.requests.append(Received(headers, _span_names(request)))
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), server)  # type: ignore[no-untyped-call]
    if certificate is None:
        port = server.add_insecure_port("127.0.0.1:0")
        receiver.endpoint = f"http://127.0.0.1:{port}"
    else:
        credentials = grpc.ssl_server_credentials(
            [(certificate.key.read_bytes(), certificate.cert.read_bytes())]
        )
        port = server.add_secure_port("127.0.0.1:0", credentials)
        receiver.endpoint = f"https://127.0.0.1:{port}"
    server.start()
    try:
        yield receiver
    finally:
        server.stop(grace=None)


def _http_receiver(certificate: Certificate | None) -> Iterator[Receiver]:
    receiver = Receiver(endpoint="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {key.lower(): value for key, value in self.headers.items()}
            if headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
            receiver.requests.append(Received(headers, _span_names(request)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads what arrived, not an access log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if certificate is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate.cert, certificate.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    receiver.endpoint = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    """A plaintext OTLP receiver for the protocol the test is parametrized with."""
    protocol = request.node.callspec.params["protocol"]
    yield from (_grpc_receiver if protocol == "grpc" else _http_receiver)(None)


@pytest.fixture
def tls_receiver(request: pytest.FixtureRequest, certificate: Certificate) -> Iterator[Receiver]:
    """A TLS OTLP receiver for the protocol the test is parametrized with."""
    protocol = request.node.callspec.params["protocol"]
    yield from (_grpc_receiver if protocol == "grpc" else _http_receiver)(certificate)


def _send_one_span(base_path: Path, endpoint: str, name: str) -> None:
    ff_otel.configure(base_path=base_path, service_name="settings", otlp_endpoint=endpoint)
    with ff_otel.span(name):
        pass
    ff_otel.shutdown()  # flushes to the collector


PROTOCOLS = pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])


@PROTOCOLS
def test_headers_from_the_standard_variable_reach_the_collector(
    receiver: Receiver, base_path: Path, monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme,x-api-key=k%3D1")

    _send_one_span(base_path, receiver.endpoint, "checkout.submit")

    [received] = [r for r in receiver.requests if "checkout.submit" in r.span_names]
    assert received.headers["x-tenant"] == "acme"
    assert received.headers["x-api-key"] == "k=1"


@pytest.mark.parametrize("protocol", ["http/protobuf"])
def test_http_compression_from_the_standard_variable(
    receiver: Receiver, base_path: Path, monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    # (The gRPC exporter reads the same variable; a grpcio server does not
    # show a request's compression, so only HTTP is checked on the wire.)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    _send_one_span(base_path, receiver.endpoint, "checkout.submit")

    [received] = [r for r in receiver.requests if "checkout.submit" in r.span_names]
    assert received.headers["content-encoding"] == "gzip"


@PROTOCOLS
def test_tls_trusts_the_certificate_from_the_standard_variable(
    tls_receiver: Receiver,
    certificate: Certificate,
    base_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    protocol: str,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2")
    _send_one_span(base_path, tls_receiver.endpoint, "without.the.certificate")
    assert tls_receiver.requests == []  # a self-signed server is not trusted by default

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(certificate.cert))
    _send_one_span(base_path, tls_receiver.endpoint, "with.the.certificate")

    assert [r.span_names for r in tls_receiver.requests] == [["with.the.certificate"]]


def test_grpc_plaintext_from_the_insecure_variable_for_an_endpoint_without_scheme(
    collector: Collector, base_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # host:port alone means TLS to the SDK unless OTEL_EXPORTER_OTLP_INSECURE
    # says otherwise; ff-otel must not decide for it.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
    _send_one_span(base_path, collector.grpc_endpoint.removeprefix("http://"), "plain.grpc")
    collector.wait_for("plain.grpc")


@PROTOCOLS
def test_replay_sends_the_standard_headers_too(
    receiver: Receiver, base_path: Path, protocol: str
) -> None:
    ff_otel.configure(base_path=base_path, service_name="settings")
    with ff_otel.span("stored.before"):
        pass
    ff_otel.shutdown()

    result = subprocess.run(
        [FF_OTEL, "replay", "--to", receiver.endpoint, "--since", "1h", "--protocol", protocol,
         "--base-path", str(base_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=acme"},
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    [received] = receiver.requests
    assert received.span_names == ["stored.before"]
    assert received.headers["x-tenant"] == "acme"


def test_an_unusable_standard_variable_is_a_config_error_naming_it(
    base_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "deflate")  # HTTP only, not gRPC
    threads_before = set(threading.enumerate())

    with pytest.raises(ff_otel.ConfigError, match="OTEL_EXPORTER_OTLP_COMPRESSION"):
        ff_otel.configure(base_path=base_path, otlp_endpoint="http://127.0.0.1:4317")
    assert ff_otel.current() is None
    assert set(threading.enumerate()) - threads_before == set()  # no half-built providers left

    result = subprocess.run(
        [FF_OTEL, "replay", "--to", "http://127.0.0.1:4317", "--since", "1h",
         "--base-path", str(base_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "OTEL_EXPORTER_OTLP_COMPRESSION" in line


@pytest.mark.parametrize(
    ("variable", "endpoint"),
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"),
        ("FF_OTEL_OTLP_ENDPOINT", "not a url"),
        ("FF_OTEL_OTLP_ENDPOINT", "ftp://collector:4317"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:99999"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://:4317"),
        ("FF_OTEL_OTLP_ENDPOINT", "collector"),
        ("otlp_endpoint", "not a url"),
    ],
)
def test_an_invalid_otlp_endpoint_is_a_config_error_naming_the_variable_and_value(
    base_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, endpoint: str
) -> None:
    threads_before = set(threading.enumerate())
    code: dict[str, Any] = {}
    if variable == "otlp_endpoint":
        code["otlp_endpoint"] = endpoint
    else:
        monkeypatch.setenv(variable, endpoint)

    with pytest.raises(ff_otel.ConfigError) as raised:
        ff_otel.configure(base_path=base_path, **code)

    assert f"{variable}={endpoint!r} is not an OTLP endpoint" in str(raised.value)
    assert ff_otel.current() is None
    assert set(threading.enumerate()) - threads_before == set()
    assert not base_path.exists()  # nothing was started or created


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:4317", "https://otlp.example.com", "collector:4317", "http://[::1]:4318/"],
)
def test_valid_otlp_endpoints_are_accepted(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    assert resolve_settings({}).otlp_endpoint == endpoint
