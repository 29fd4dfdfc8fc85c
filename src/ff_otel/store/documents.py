"""Whole JSON documents, replaced atomically (temp file, fsync, rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson


def write_json_atomic(path: Path, document: Any) -> None:
    """Replace ``path`` with ``document`` so readers see the old or the new file, never half."""
    write_bytes_atomic(
        path, orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    )


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp file in the same folder, fsync, rename, fsync folder."""
    replace_file(path, data)
    sync_folder(path.parent)


def replace_file(path: Path, data: bytes) -> None:
    """Temp file beside ``path``, fsync, rename over it; the rename is durable after
    :func:`sync_folder` (kept apart so that many replacements can share one folder sync)."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_json(path: Path) -> Any:
    """The document at ``path``; ``FileNotFoundError`` when it does not exist."""
    return orjson.loads(path.read_bytes())
