"""A small HTTP service traced through the OTel API, for collector outage tests and benchmarks.

``GET /work?marker=M`` runs a server span ``GET /work`` (attributes ``marker``
and ``http.route``) with two child spans and a counter, and answers
``{"trace_id": ...}``. ``--plain-otel`` sets the OTel SDK up the standard way
(batch processors and periodic reader with the OTLP exporters, no ff-otel) as a
baseline; otherwise ``ff_otel.configure()`` sets everything up. SIGTERM stops
the server and the process exits normally, so the exit flush runs as it would
under gunicorn or uvicorn.

Run: ``python tests/collector_outage_app.py --port 8080 --base-path ./ff_data
[--otlp-endpoint http://127.0.0.1:4317] [--plain-otel]``
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from urllib.parse import parse_qs, urlsplit

from opentelemetry import metrics, trace


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: latency is the request's, not a new connection's
    # Headers and body are two writes; with Nagle on, the body waits for the
    # client's delayed ACK (40 ms) and that would be all the benchmark measures.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        marker = parse_qs(url.query).get("marker", [""])[0]
        tracer = trace.get_tracer("outage_app")
        with tracer.start_as_current_span(
            f"GET {url.path}",
            kind=trace.SpanKind.SERVER,
            attributes={"http.route": url.path, "marker": marker},
        ) as span:
            with tracer.start_as_current_span("work.load"):
                total = sum(range(2_000))
            with tracer.start_as_current_span("work.render", attributes={"total": total}):
                body = json.dumps({"trace_id": f"{span.get_span_context().trace_id:032x}"})
            metrics.get_meter("outage_app").create_counter("work.requests").add(1)
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: a line per request on stderr would be the benchmark's main cost."""


def _plain_otel(endpoint: str | None) -> None:
    from opentelemetry._logs import set_logger_provider
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": "outage-app"})
    tracer_provider = TracerProvider(resource=resource)
    logger_provider = LoggerProvider(resource=resource)
    readers = []
    if endpoint:
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(OTLPLogExporter(endpoint=endpoint))
        )
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint)))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
    set_logger_provider(logger_provider)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--base-path", required=True)
    parser.add_argument("--otlp-endpoint")
    parser.add_argument("--plain-otel", action="store_true")
    args = parser.parse_args()
    if args.plain_otel:
        _plain_otel(args.otlp_endpoint)
    else:
        import ff_otel

        ff_otel.configure(
            base_path=args.base_path, service_name="outage-app", otlp_endpoint=args.otlp_endpoint
        )
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _Handler)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever(), which runs on this very thread.
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
