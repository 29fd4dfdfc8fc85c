"""``ff-otel audit verify``, ``ff-otel retention run`` and ``ff-otel erase-user``."""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import click
from rich.text import Text

from ff_otel.cli._common import (
    EXIT_BAD_NEWS,
    base_path_option,
    console,
    examples,
    fail,
    json_option,
    load_settings,
    open_store,
    plain,
    print_json,
    progress_bar,
    styled,
    table,
    time_option,
)
from ff_otel.sdk.compliance import run_retention, verify_audit_trail
from ff_otel.users import erase_user as erase


@click.group(epilog=examples("ff-otel audit verify", "ff-otel audit verify --json"))
def audit() -> None:
    """The hash-chained audit trail (compliance/audit_logs.jsonl)."""


@audit.command(
    "verify",
    epilog=examples(
        "ff-otel audit verify",
        "FF_OTEL_AUDIT_KEY=... ff-otel audit verify --json   # check the seals too",
    ),
)
@base_path_option
@json_option
@click.pass_context
def verify(ctx: click.Context, base_path: Path, as_json: bool) -> None:
    """Check the whole chain, every segment; exit 1 naming the first bad record.

    An edited record, a removed, inserted or reordered one, a forged one
    appended at the end, or records cut off the end (compared with the anchor,
    compliance/audit_logs.anchor.json) are named by kind and index (0-based).
    With FF_OTEL_AUDIT_KEY set, each record's seal and the anchor's are checked
    too. A line torn by a full disk is listed as a gap, not as a break.
    """
    layout = open_store(base_path)
    with progress_bar("Verifying the audit trail", "records") as advance:
        result = verify_audit_trail(base_path, progress=lambda done: advance(done, ""))
    if as_json:
        print_json({**asdict(result), "path": str(layout.audit_logs)})
    elif result.ok:
        sealed = " and sealed with FF_OTEL_AUDIT_KEY" if result.sealed else ""
        anchored = ", end matches its anchor" if result.anchored else ""
        console.print(
            Text("✓ audit trail intact: ", style="green"),
            plain(f"{result.records:,} records chained{sealed}{anchored} ({layout.audit_logs})"),
            sep="",
        )
    else:
        console.print(
            Text("✗ audit trail broken ", style="bold red"),
            plain(
                f"at record index {result.first_bad_index} (0-based; {result.records:,} "
                f"records before it verify): {result.kind}: {result.reason}"
            ),
            sep="",
        )
    if not as_json:
        for gap in result.gaps:
            console.print(
                plain(
                    f"gap before record {gap.index}: {gap.cause} ({gap.bytes} bytes, "
                    f"{gap.segment} line {gap.line}): a write cut short, not tampering"
                )
            )
        for warning in result.warnings:
            console.print(plain(f"warning: {warning}"))
    if not result.ok:
        ctx.exit(EXIT_BAD_NEWS)


@click.group(epilog=examples("ff-otel retention run", "ff-otel retention run --json"))
def retention() -> None:
    """Rotation, compression and deletion of the store's files by age."""


@retention.command(
    "run",
    epilog=examples(
        "ff-otel retention run",
        "FF_OTEL_PRIVACY_RAW_DATA_RETENTION_DAYS=14 ff-otel retention run --json",
        "ff-otel retention run --now 2027-01-01   # what the policy does on that day",
    ),
)
@base_path_option
@json_option
@time_option("--now", help="Apply the policy as of TIME instead of now (deletes by that clock).")
def run(base_path: Path, as_json: bool, now: datetime | None) -> None:
    """Apply the retention policy now (the collector also does, hourly).

    Streams whose first record is from an earlier UTC day (or past 64 MiB)
    rotate into dated segments; sealed segments of the analytics streams become
    Parquet (as `ff-otel compact`), other segments older than
    compression_age_days are gzipped; segments past their class's retention (raw, aggregated,
    compliance) are deleted, each deletion audited. The periods are the
    service's (FF_OTEL_* variables, FF_OTEL_CONFIG).
    """
    open_store(base_path)
    analytics = load_settings(base_path).analytics
    with progress_bar("Applying retention", "files") as advance:
        seen: list[str] = []

        def examined(path: str) -> None:
            seen.append(path)
            advance(len(seen), path)

        summary = run_retention(now, base_path, analytics=analytics, progress=examined)
    if as_json:
        print_json({**summary, "files_examined": len(seen)})
        return
    done = table("action", "file")
    for action in ("rotated", "compacted", "compressed", "deleted"):
        for path in summary[action]:
            done.add_row(styled(action), plain(path))
    if done.row_count:
        console.print(done)
    counts = ", ".join(
        f"{len(summary[a])} {a}" for a in ("rotated", "compacted", "compressed", "deleted")
    )
    console.print(plain(f"Retention applied to {len(seen)} files: {counts}."))


@click.command(
    "erase-user",
    epilog=examples(
        "ff-otel erase-user account-42 --yes",
        "ff-otel erase-user account-42 --yes --json",
    ),
)
@click.argument("user_id")
@base_path_option
@json_option
@click.option(
    "--yes", "-y", is_flag=True, help="Do not ask for confirmation (needed off a terminal)."
)
def erase_user(user_id: str, base_path: Path, as_json: bool, yes: bool) -> None:
    """Remove every stored record of USER_ID (the right to erasure); audited.

    USER_ID is the id the application passed to ff-otel (it is pseudonymised
    with the store's key to find the records). The audit trail keeps that an
    erasure happened, never whom it was for.
    """
    open_store(base_path)
    if not yes:
        if not sys.stdin.isatty():
            fail("erase-user removes data for good: pass --yes to confirm")
        click.confirm(f"Erase every record of {user_id!r} from {base_path}?", abort=True)
    removed = erase(user_id, base_path=base_path)
    if as_json:
        print_json({"records_removed": removed})
    else:
        console.print(plain(f"Erased {removed:,} records of that user (audited)."))
