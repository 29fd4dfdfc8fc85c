"""Records one span, one counter point and one log through the OpenTelemetry API, then exits.

``python -m exit_with CODE`` exits with CODE; it imports nothing of ff-otel, so
whatever is recorded got there through the distro or the SDK's configurator.
"""

import sys

from opentelemetry import _logs, metrics, trace
from opentelemetry._logs import LogRecord, SeverityNumber


def main() -> None:
    code = int(sys.argv[1])
    with trace.get_tracer("exit_with").start_as_current_span("exit_with.work") as span:
        span.set_attribute("exit.code", code)
        span.set_attribute("contact", "carol@example.com")
    metrics.get_meter("exit_with").create_counter("exit_with.runs").add(1, {"code": code})
    _logs.get_logger("exit_with").emit(
        LogRecord(body=f"exiting with {code}", severity_number=SeverityNumber.WARN)
    )
    sys.exit(code)


if __name__ == "__main__":
    main()
