"""Import cost of ``ff_otel`` against the OpenTelemetry SDK's three signal modules.

Target (issue 4/9): ``import ff_otel`` <= 1.5x ``import opentelemetry.sdk.trace,
opentelemetry.sdk.metrics, opentelemetry.sdk._logs``, each measured in a fresh
interpreter (the time of the import statement itself, interpreter start-up
excluded), the variants alternating run by run. Also reported, not targeted:
what the first use of ``configure`` costs on top (it imports the SDK, DuckDB,
pydantic and the pipeline), so that the lazy import is not mistaken for a
cheaper set-up.

    .venv/bin/python benchmarks/imports.py [--runs 21]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections.abc import Sequence

from _common import isolate_from_environment

VARIANTS = {
    "otel_sdk": (
        "import opentelemetry.sdk.trace, opentelemetry.sdk.metrics, opentelemetry.sdk._logs"
    ),
    "ff_otel": "import ff_otel",
    "ff_otel_configure": "import ff_otel; ff_otel.configure",
}


def import_seconds(statement: str) -> float:
    """Seconds the statement takes in a fresh interpreter."""
    code = (
        "import time\n"
        "start = time.perf_counter()\n"
        f"{statement}\n"
        "print(time.perf_counter() - start)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return float(done.stdout.strip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args(argv)
    isolate_from_environment()
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for run in range(args.runs + 1):
        for name in names if run % 2 == 0 else names[::-1]:
            seconds = import_seconds(VARIANTS[name])
            if run:  # the first run warms the file-system cache
                samples[name].append(seconds)
    median = {name: statistics.median(values) for name, values in samples.items()}
    ratio = median["ff_otel"] / median["otel_sdk"]
    print(f"import, fresh interpreter, median of {args.runs} runs each")
    for name, statement in VARIANTS.items():
        print(f"  {median[name] * 1000:8.1f} ms  {statement}")
    print(f"import ff_otel / OTel SDK signals: {ratio:.2f}x (target <= 1.5x)")
    configure_ms = (median["ff_otel_configure"] - median["ff_otel"]) * 1000
    print(f"first use of configure on top: {configure_ms:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
