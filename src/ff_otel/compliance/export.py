"""Exports of any stream, time range or category to JSON Lines and CSV, with a manifest.

``export_data(["spans"], "./export", formats=("jsonl", "csv"), start=..., end=...)``
streams each stream's records (every segment) into ``<name>.jsonl`` and/or
``<name>.csv`` and writes ``manifest.json`` (what, when, time range, and per
file: format, records, bytes, SHA-256). A category name (``system_metrics``,
``user_analytics``, ``business_intelligence``, ``compliance``) exports all its
streams. CSV columns are the union of the records' top-level fields (nested
values as JSON text), so the CSV holds the same records as the JSON Lines file.
``parquet`` writes the stream's SQL view (typed columns, zstd) for streams
that have one (``ff-otel sql --tables``). Each export is audited.

``restrictions`` (the privacy config's ``data_export_restrictions``) name
streams, relative paths or categories that may not be exported: an export
that includes one is refused with a ``ValueError`` naming the restriction,
before anything is written, and the refusal is audited (outcome ``denied``).
A restriction that is not a stream, path or category refuses every export
until it is fixed, rather than restrict nothing. A data subject's own
records (``ff_otel.export_user_data``, the right of access) are not covered.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from ff_otel.compliance.trails import audit_act
from ff_otel.core import clock
from ff_otel.sql.compaction import export_parquet
from ff_otel.store.documents import write_json_atomic
from ff_otel.store.layout import SPEC_STREAMS, StoreLayout, stream_path
from ff_otel.store.reader import read_records

FORMATS = ("jsonl", "csv", "parquet")
Progress = Callable[[str, int], None]


def resolve_streams(layout: StoreLayout, names: Sequence[str]) -> list[Path]:
    paths: list[Path] = []
    for name in names:
        if name in SPEC_STREAMS:
            # Resolved, as stream_path's are: a relative base path (the CLI's
            # default ./ff_data) names the same files.
            folder = layout.analytics_path.resolve() / name
            paths.extend(p for p in sorted(folder.glob("*.jsonl")) if len(p.name.split(".")) == 2)
        else:
            paths.append(stream_path(layout, name))
    return paths


def export_data(
    layout: StoreLayout,
    streams: Sequence[str],
    destination: Path,
    *,
    formats: Sequence[str] = ("jsonl",),
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    actor: str | None = None,
    progress: Progress | None = None,
    restrictions: Sequence[str] = (),
) -> dict[str, Any]:
    """Export and return the manifest.

    Raises ``ValueError`` naming a bad format or stream, or the restriction
    that forbids exporting one of the streams.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; use {list(FORMATS)}")
    paths = resolve_streams(layout, streams)
    refusal = _restricted(layout, paths, restrictions)
    if refusal is not None:
        audit_act(
            layout, "export", ",".join(streams), actor=actor, outcome="denied", reason=refusal
        )
        raise ValueError(refusal)
    try:
        destination.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot write the export folder {destination}: {exc.strerror}") from None
    root = layout.analytics_path.resolve()
    files = []
    for path in paths:
        name = str(path.relative_to(root)).replace("/", "__").removesuffix(".jsonl")
        if "jsonl" in formats:
            files.append(_jsonl(path, destination / f"{name}.jsonl", start, end, progress))
        if "csv" in formats:
            files.append(_csv(path, destination / f"{name}.csv", start, end, progress))
        if "parquet" in formats:
            target = destination / f"{name}.parquet"
            count = export_parquet(layout, path, target, start, end)
            data = target.read_bytes()
            files.append(
                _file_entry(target, "parquet", count, len(data), hashlib.sha256(data).hexdigest())
            )
    names = [str(p.relative_to(root)) for p in paths]
    manifest = {
        "created_at": clock.now_iso(),
        "store": str(root),
        "streams": names,
        "start": clock.to_iso(start) if start is not None else None,
        "end": clock.to_iso(end) if end is not None else None,
        "files": files,
    }
    write_json_atomic(destination / "manifest.json", manifest)
    audit_act(
        layout,
        "export",
        ",".join(names),
        actor=actor,
        destination=str(destination),
        formats=list(formats),
        records=sum(f["records"] for f in files),
    )
    return manifest


def _restricted(layout: StoreLayout, paths: list[Path], restrictions: Sequence[str]) -> str | None:
    """Why exporting ``paths`` is refused, or None when no restriction covers them."""
    root = layout.analytics_path.resolve()
    for restriction in restrictions:
        if restriction in SPEC_STREAMS:
            folder = root / restriction
            covered = [p for p in paths if folder in p.resolve().parents]
        else:
            try:
                forbidden = stream_path(layout, restriction)
            except ValueError:
                return (
                    f"data_export_restrictions entry {restriction!r} is not a stream, "
                    "path or category; no export until the privacy config is fixed"
                )
            covered = [p for p in paths if p.resolve() == forbidden]
        if covered:
            names = ", ".join(str(p.resolve().relative_to(root)) for p in covered)
            return (
                f"export of {names} refused: restricted by the privacy config's "
                f"data_export_restrictions ({restriction!r})"
            )
    return None


def _jsonl(
    source: Path, target: Path, start: Any, end: Any, progress: Progress | None
) -> dict[str, Any]:
    digest = hashlib.sha256()
    count = size = 0
    with target.open("wb") as sink:
        for record in read_records(source, start, end):
            line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
            sink.write(line)
            digest.update(line)
            count += 1
            size += len(line)
            if progress is not None and count % 10_000 == 0:
                progress(target.name, count)
    return _file_entry(target, "jsonl", count, size, digest.hexdigest())


def _csv(
    source: Path, target: Path, start: Any, end: Any, progress: Progress | None
) -> dict[str, Any]:
    columns: dict[str, None] = {}
    for record in read_records(source, start, end):
        columns.update(dict.fromkeys(record))
    count = 0
    with target.open("w", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(columns)
        for record in read_records(source, start, end):
            writer.writerow([_cell(record.get(column)) for column in columns])
            count += 1
            if progress is not None and count % 10_000 == 0:
                progress(target.name, count)
    data = target.read_bytes()
    return _file_entry(target, "csv", count, len(data), hashlib.sha256(data).hexdigest())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _file_entry(path: Path, fmt: str, count: int, size: int, sha: str) -> dict[str, Any]:
    return {"file": path.name, "format": fmt, "records": count, "bytes": size, "sha256": sha}
