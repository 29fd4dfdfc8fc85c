"""Cost of evaluating alert rules on every interval.

1,000 rules (a mix of snapshot, per-component and application-metric series,
a third of them firing, with escalation and silences in play) are evaluated
against one interval snapshot; each evaluation is timed, alerts.jsonl writes
included. Target: <= 50 ms per tick. Run: ``.venv/bin/python benchmarks/alerting.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ff_otel import AlertRule, FFAnalyticsAlertingConfigDTO, FFSystemMetricsDTO
from ff_otel.alerting.engine import AlertEngine
from ff_otel.alerting.notifiers import NotificationDispatcher
from ff_otel.spec.alerting_config import FFNotificationSettingsDTO

RULES = 1000
TICKS = 30
TARGET_MS = 50.0


def build_rules() -> list[AlertRule]:
    rules = []
    for i in range(RULES):
        kind = i % 3
        if kind == 0:
            rules.append(
                AlertRule(
                    name=f"metric_{i}", series=f"metric:m{i % 200}", threshold=50, for_seconds=60
                )
            )
        elif kind == 1:
            rules.append(
                AlertRule(
                    name=f"component_{i}",
                    series="component_response_time_ms",
                    threshold=100 + i,
                    for_seconds=0,
                )
            )
        else:
            rules.append(
                AlertRule(
                    name=f"snapshot_{i}",
                    series="memory_usage_percent",
                    threshold=float(i % 100),
                    for_seconds=30,
                )
            )
    return rules


def run() -> dict[str, Any]:
    snapshot = FFSystemMetricsDTO(
        memory_usage_percent=60.0,
        response_time_ms=120.0,
        component_response_times={f"c{i}": float(50 + 40 * i) for i in range(10)},
        component_error_rates={f"c{i}": float(i) for i in range(10)},
    )
    metrics = {f"m{i}": float(i % 100) for i in range(200)}
    config = FFAnalyticsAlertingConfigDTO(enable_log_alerts=False, max_alerts_per_hour=10_000)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "alerts.jsonl"
        dispatcher = NotificationDispatcher(
            config, FFNotificationSettingsDTO(), "bench", lambda *args: None
        )
        engine = AlertEngine(path, config, build_rules(), dispatcher, "bench")
        timings = []
        now = 1_800_000_000.0
        for tick in range(TICKS):
            begin = time.perf_counter()
            engine.evaluate(snapshot, metrics, now + 15 * tick)
            timings.append((time.perf_counter() - begin) * 1000)
        firing = sum(1 for a in engine.alerts.values() if a.get("state") == "firing")
    steady = timings[5:]
    return {
        "rules": RULES,
        "firing": firing,
        "median_ms": statistics.median(steady),
        "max_ms": max(steady),
        "first_tick_ms": timings[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run()
    met = "yes" if result["median_ms"] <= TARGET_MS else "NO"
    print(
        f"{result['rules']} rules ({result['firing']} firing): "
        f"median {result['median_ms']:.1f} ms, "
        f"max {result['max_ms']:.1f} ms per tick (first tick {result['first_tick_ms']:.1f} ms, "
        f"opening every alert)  target <= {TARGET_MS:g} ms  met: {met}"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
