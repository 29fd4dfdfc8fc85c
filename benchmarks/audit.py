"""Audit trail throughput: appends per second and verification of a million records.

1. Appends: records/s through ``AuditTrail.append`` (the hash chain under the
   file lock, one write each), beside plain single-record ``append_records``
   calls to the same kind of file in the same run (the floor the lock and the
   write set). Target: >= 20,000 records/s.
2. Verify: wall time of ``verify`` over 1,000,000 chained records.
   Target: <= 10 s.

Run: ``.venv/bin/python benchmarks/audit.py [--records N] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from ff_otel.compliance.anchor import Anchor, write_anchor
from ff_otel.compliance.audit import AuditTrail, verify
from ff_otel.compliance.chain import GENESIS, sealed_line
from ff_otel.store.appender import append_records


def appends(folder: Path, count: int) -> dict[str, float]:
    trail = AuditTrail(folder / "audit_logs.jsonl", "bench")
    begin = time.perf_counter()
    for i in range(count):
        trail.append("svc-account", "update", f"record/{i}", details={"i": i})
    audit_rate = count / (time.perf_counter() - begin)
    trail.close()
    begin = time.perf_counter()
    for i in range(count):
        append_records(folder / "plain.jsonl", [{"actor": "svc-account", "i": i}])
    plain_rate = count / (time.perf_counter() - begin)
    return {"audit_per_second": audit_rate, "plain_append_per_second": plain_rate}


def verification(folder: Path, count: int) -> dict[str, Any]:
    path = folder / "big_audit.jsonl"
    # Built in one go with the writer's own line format (appending a million
    # records one by one would time the appends, measured above).
    prev = GENESIS
    with path.open("wb") as handle:
        for i in range(count):
            record = {
                "actor": "svc-account",
                "action": "update",
                "resource": f"record/{i}",
                "service": "bench",
            }
            record.update(seq=i + 1, prev_hash=prev)
            handle.write(sealed_line(record, None))
            prev = record["hash"]
    write_anchor(path, Anchor(count, prev), None)
    begin = time.perf_counter()
    result = verify(path)
    return {"records": result.records, "ok": result.ok, "seconds": time.perf_counter() - begin}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=50_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rates = appends(Path(folder), args.appends)
        verified = verification(Path(folder), args.records)
    print(
        f"audit appends: {rates['audit_per_second']:,.0f} records/s "
        f"(plain single-record appends in the same run: {rates['plain_append_per_second']:,.0f}/s)"
        f"  target >= 20,000: {'met' if rates['audit_per_second'] >= 20_000 else 'NOT met'}"
    )
    print(
        f"verify {verified['records']:,} records: {verified['seconds']:.2f} s (ok={verified['ok']})"
        f"  target <= 10 s: {'met' if verified['seconds'] <= 10 else 'NOT met'}"
    )
    if args.json:
        args.json.write_text(json.dumps({"appends": rates, "verify": verified}, indent=2))


if __name__ == "__main__":
    main()
