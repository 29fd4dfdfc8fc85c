"""What the benchmark scripts share: interleaved timing rounds and the run's context."""

from __future__ import annotations

import gc
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_ROUNDS = 31
WARMUP_ROUNDS = 2


def interleaved_rounds(
    variants: Sequence[Callable[[], object]],
    rounds: int,
    settle: Callable[[], object] | None = None,
) -> list[list[int]]:
    """Nanoseconds each variant took, per round, alternating their order every round.

    ``settle`` runs after every timed region, outside it (flushing, truncating).
    The first ``WARMUP_ROUNDS`` rounds warm caches and are not returned.
    """
    samples: list[list[int]] = [[] for _ in variants]
    forward = list(range(len(variants)))
    for round_index in range(WARMUP_ROUNDS + rounds):
        order = forward if round_index % 2 == 0 else forward[::-1]
        for index in order:
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter_ns()
                variants[index]()
                elapsed = time.perf_counter_ns() - start
            finally:
                gc.enable()
            if settle is not None:
                settle()
            if round_index >= WARMUP_ROUNDS:
                samples[index].append(elapsed)
    return samples


def environment() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def isolate_from_environment() -> None:
    # The targets are about the default configuration: an OTLP endpoint,
    # sampler, config file or kill switch inherited from the shell would
    # measure something else.
    for name in list(os.environ):
        if name.startswith("FF_OTEL_") or name.startswith("OTEL_"):
            del os.environ[name]


def write_results(path: Path, env: dict[str, Any], took: float, results: list[Any]) -> None:
    """The run's figures as JSON (``--json PATH``)."""
    document = {"environment": env, "seconds": round(took, 2), "results": results}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
