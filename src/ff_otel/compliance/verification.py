"""Verify the audit trail: walk the chain through every segment and compare its end with the anchor.

What is found, and reported as ``kind`` with ``first_bad_index`` (0-based):

- ``altered``: a record's bytes do not match its hash;
- ``out_of_order``: a record removed, inserted or reordered (its ``seq`` or
  ``prev_hash`` does not follow), a deleted rotated segment included;
- ``unreadable``: a line that is no record, and no ``audit_gap`` record says why;
- ``unsealed``: with ``FF_OTEL_AUDIT_KEY``, a record whose seal does not match
  (a forged record with a correctly recomputed hash);
- ``truncated`` / ``file_emptied`` / ``file_deleted``: the anchor names more
  records than the trail holds: records cut off the end, the active file
  emptied, or deleted (``first_bad_index`` is where the missing records began);
- ``beyond_anchor``: records after the anchored head (a forged append; with
  the key a forged record is already ``unsealed``);
- ``head_replaced``: the last record is not the anchored one;
- ``anchor_missing`` / ``anchor_unusable``: the trail has records but the
  anchor is gone, unreadable, or (with the key) not sealed with it;
- any of these recorded by a later append in an ``audit_anchor_mismatch``
  record (the append found the head not matching the anchor), at the index
  the record names.

A torn line followed by the ``audit_gap`` record the next append wrote for it
(same length and SHA-256), or a torn line still at the end of a file, is a
*gap*: listed in ``gaps`` with its cause, and the trail still verifies.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ff_otel.compliance.anchor import AnchorUnusable, read_anchor
from ff_otel.compliance.chain import GAP_ACTION, GENESIS, MISMATCH_ACTION, seal, seal_key
from ff_otel.store.reader import segment_paths


@dataclass(frozen=True)
class AuditGap:
    """A line that is no record, with the reason it is not tampering."""

    index: int
    """Where it sits: before the record at this 0-based index."""
    cause: str
    """``torn_line`` (closed by the next append, which wrote an ``audit_gap`` record) or
    ``torn_tail`` (still the last bytes of a file, not yet closed)."""
    segment: str
    line: int
    """1-based line number in ``segment``."""
    bytes: int


@dataclass(frozen=True)
class VerificationResult:
    """``ok``; ``records`` checked; where and what the first break is when not ok."""

    ok: bool
    records: int
    first_bad_index: int | None = None
    reason: str | None = None
    sealed: bool = False
    kind: str | None = None
    """What the break is (see :mod:`ff_otel.compliance.verification`); None when ok."""
    segment: str | None = None
    """The file holding the first bad record, when it is a record in a file."""
    anchored: bool = False
    """Whether the trail's end was compared with an anchor."""
    gaps: tuple[AuditGap, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Line:
    data: bytes
    complete: bool
    segment: Path
    number: int


class _Break(Exception):
    def __init__(self, kind: str, reason: str, index: int, segment: str | None = None) -> None:
        super().__init__(reason)
        self.kind, self.reason, self.index, self.segment = kind, reason, index, segment


def verify(path: Path, progress: Callable[[int], None] | None = None) -> VerificationResult:
    """Walk the whole chain (every segment, oldest first) and report the first break.

    ``progress`` (for a progress bar) is called with the records checked so far,
    every 10,000 records.
    """
    walk = _Walk(path, seal_key(), progress)
    try:
        walk.run()
    except _Break as found:
        return VerificationResult(
            False,
            walk.index,
            found.index,
            found.reason,
            sealed=walk.key is not None,
            kind=found.kind,
            segment=found.segment,
            anchored=walk.anchored,
            gaps=tuple(walk.gaps),
            warnings=tuple(walk.warnings),
        )
    return VerificationResult(
        True,
        walk.index,
        sealed=walk.key is not None,
        anchored=walk.anchored,
        gaps=tuple(walk.gaps),
        warnings=tuple(walk.warnings),
    )


class _Walk:
    def __init__(
        self, path: Path, key: bytes | None, progress: Callable[[int], None] | None
    ) -> None:
        self.path, self.key, self.progress = path, key, progress
        self.index = 0
        self.previous = GENESIS.encode()
        self.before_previous = GENESIS.encode()
        self.gaps: list[AuditGap] = []
        self.warnings: list[str] = []
        self.anchored = False

    def run(self) -> None:
        lines = _lines(self.path)
        current = next(lines, None)
        while current is not None:
            following = next(lines, None)
            if following is not None and _certifies_gap(following.data, current.data):
                self._gap(current, "torn_line")
            elif not current.complete:
                self._gap(current, "torn_tail")
            else:
                self._record(current)
            current = following
        self._compare_with_anchor()

    def _gap(self, line: _Line, cause: str) -> None:
        self.gaps.append(
            AuditGap(self.index, cause, line.segment.name, line.number, len(line.data))
        )

    def _record(self, line: _Line) -> None:
        data, index = line.data, self.index
        where = line.segment.name
        marker = data.rfind(b',"hash":"')
        if marker < 0 or not data.endswith(b"}"):
            raise _Break("unreadable", "unreadable record", index, where)
        body = data[:marker] + b"}"
        stored = data[marker + 9 : marker + 9 + 64]
        # Position in the chain first: a removed, inserted or reordered record
        # breaks the link even where its own hash is intact.
        if (
            b'"prev_hash":"' + self.previous + b'"' not in body
            or b'"seq":' + str(index + 1).encode() + b"," not in body
        ):
            raise _Break(
                "out_of_order", "a record was removed, inserted or reordered here", index, where
            )
        if hashlib.sha256(self.previous + body).hexdigest().encode() != stored:
            raise _Break("altered", "record altered", index, where)
        if self.key is not None:
            expected = seal(self.key, stored).encode()
            if data.find(b',"seal":"' + expected + b'"', marker) < 0:
                raise _Break("unsealed", "seal does not match the key", index, where)
        if b'"action":"' + MISMATCH_ACTION.encode() + b'"' in body:
            self._mismatch(orjson.loads(data), index, where)
        self.before_previous, self.previous = self.previous, stored
        self.index += 1
        if self.progress is not None and self.index % 10_000 == 0:
            self.progress(self.index)

    def _mismatch(self, record: dict[str, Any], index: int, where: str) -> None:
        details = record.get("details") or {}
        kind = str(details.get("kind"))
        explanation = str(details.get("explanation"))
        stamp = record.get("timestamp")
        if kind == "anchor_missing":
            self.warnings.append(
                f"record {index} ({stamp}): {explanation}; whatever happened to the trail "
                "before then is not covered by an anchor"
            )
            return
        anchored = details.get("anchored_records")
        found = details.get("found_records")
        first = index
        if kind == "beyond_anchor" and isinstance(anchored, int) and isinstance(found, int):
            first = index - (found - anchored)
        elif kind == "head_replaced":
            first = index - 1
        raise _Break(
            kind,
            f"{explanation} (found by the append at record {index}, {stamp})",
            first,
            where,
        )

    def _compare_with_anchor(self) -> None:
        try:
            anchor = read_anchor(self.path, self.key)
        except AnchorUnusable as exc:
            raise _Break("anchor_unusable", str(exc), self.index) from None
        records = self.index
        if anchor is None:
            if records:
                raise _Break(
                    "anchor_missing",
                    "the trail has records but no anchor: its end cannot be checked "
                    "(the anchor was deleted, or the trail predates anchors and has had "
                    "no append since)",
                    records,
                )
            return
        self.anchored = True
        if records < anchor.records:
            missing = anchor.records - records
            if not self.path.exists():
                kind, what = "file_deleted", "the active file was deleted"
            elif not any(True for _ in _file_lines(self.path)):
                kind, what = "file_emptied", "the active file was emptied"
            else:
                kind, what = "truncated", "records were cut off the end"
            raise _Break(
                kind,
                f"{what}: the anchor names {anchor.records} record(s), the trail holds "
                f"{records}; {missing} missing from index {records}",
                records,
            )
        if records == anchor.records:
            if hmac.compare_digest(self.previous, anchor.last_hash.encode()):
                return
            raise _Break("head_replaced", "the last record is not the anchored one", records - 1)
        extra = records - anchor.records
        if (
            self.key is not None
            and extra == 1
            and hmac.compare_digest(self.before_previous, anchor.last_hash.encode())
        ):
            self.warnings.append(
                f"record {records - 1} is sealed but not anchored: its writer stopped "
                "between the record and the anchor; the next append anchors it"
            )
            return
        raise _Break(
            "beyond_anchor",
            f"{extra} record(s) after the anchored head (record {anchor.records - 1}) "
            "were not appended by ff-otel's writer",
            anchor.records,
        )


def _certifies_gap(candidate: bytes, torn: bytes) -> bool:
    """Whether ``candidate`` is the ``audit_gap`` record written for the torn line ``torn``."""
    if b'"action":"' + GAP_ACTION.encode() + b'"' not in candidate:
        return False
    try:
        details = orjson.loads(candidate).get("details") or {}
    except (orjson.JSONDecodeError, AttributeError):
        return False
    return bool(
        details.get("torn_bytes") == len(torn)
        and details.get("torn_sha256") == hashlib.sha256(torn).hexdigest()
    )


def _lines(path: Path) -> Iterator[_Line]:
    for segment in segment_paths(path):
        yield from _file_lines(segment)


def _file_lines(segment: Path) -> Iterator[_Line]:
    opener = gzip.open if segment.name.endswith(".gz") else open
    try:
        with opener(segment, "rb") as handle:
            for number, line in enumerate(handle, 1):
                stripped = line.rstrip(b"\n")
                if stripped:
                    yield _Line(stripped, line.endswith(b"\n"), segment, number)
    except FileNotFoundError:
        return
