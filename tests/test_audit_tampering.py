"""The 12 kinds of audit-trail tampering, with and without FF_OTEL_AUDIT_KEY, found and located.

Every case builds a real 40-record trail with its anchor, changes the files
as an attacker (or a full disk) would, and checks ``verify_audit_trail()``'s
verdict: ``ok``, ``kind`` and ``first_bad_index``.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

import ff_otel
from ff_otel.compliance.anchor import anchor_path
from ff_otel.compliance.audit import AuditTrail, verify
from ff_otel.compliance.chain import canonical, seal

from .conftest import Collector

RECORDS = 40
KEYS = pytest.mark.parametrize("key", [None, "kept-in-a-vault"], ids=["no-key", "key"])


@pytest.fixture
def trail_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Path:
    callspec = getattr(request.node, "callspec", None)
    key = callspec.params.get("key") if callspec is not None else None
    if key:
        monkeypatch.setenv("FF_OTEL_AUDIT_KEY", key)
    path = tmp_path / "audit_logs.jsonl"
    trail = AuditTrail(path, "svc")
    for i in range(RECORDS):
        trail.append("alice", "update", f"doc/{i}", details={"i": i})
    trail.close()
    assert verify(path).ok and anchor_path(path).exists()
    return path


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def forged_append(lines: list[bytes]) -> bytes:
    """A new record whose seq, prev_hash and hash are all recomputed correctly (no key)."""
    last = orjson.loads(lines[-1])
    record = {**last, "seq": last["seq"] + 1, "prev_hash": last["hash"], "action": "grant_admin"}
    record.pop("seal", None)
    body = canonical(record)
    digest = hashlib.sha256(last["hash"].encode() + body).hexdigest()
    return body[:-1] + f',"hash":"{digest}"}}'.encode()


def edit(path: Path) -> None:
    lines = lines_of(path)
    lines[17] = lines[17].replace(b'"actor":"alice"', b'"actor":"mallory"')
    rewrite(path, lines)


def delete_middle(path: Path) -> None:
    lines = lines_of(path)
    del lines[17]
    rewrite(path, lines)


def delete_last(path: Path) -> None:
    rewrite(path, lines_of(path)[:-1])


def delete_last_three(path: Path) -> None:
    rewrite(path, lines_of(path)[:-3])


def insert(path: Path) -> None:
    lines = lines_of(path)
    lines.insert(17, lines[17].replace(b'"action":"update"', b'"action":"grant_admin"'))
    rewrite(path, lines)


def reorder(path: Path) -> None:
    lines = lines_of(path)
    lines[17], lines[18] = lines[18], lines[17]
    rewrite(path, lines)


def truncate_to_zero(path: Path) -> None:
    path.write_bytes(b"")


def delete_file(path: Path) -> None:
    path.unlink()


def append_forged(path: Path) -> None:
    lines = lines_of(path)
    rewrite(path, [*lines, forged_append(lines)])


TAMPERINGS: list[tuple[str, Callable[[Path], None], str, str, int]] = [
    # name, tampering, kind without the key, kind with it, first_bad_index
    ("edit", edit, "altered", "altered", 17),
    ("delete middle", delete_middle, "out_of_order", "out_of_order", 17),
    ("delete last", delete_last, "truncated", "truncated", 39),
    ("delete last three", delete_last_three, "truncated", "truncated", 37),
    ("insert", insert, "altered", "altered", 17),  # a copy of 17 with its action changed
    ("reorder", reorder, "out_of_order", "out_of_order", 17),
    ("truncate to 0", truncate_to_zero, "file_emptied", "file_emptied", 0),
    ("delete file", delete_file, "file_deleted", "file_deleted", 0),
    ("forged append, re-hashed", append_forged, "beyond_anchor", "unsealed", 40),
]


@KEYS
@pytest.mark.parametrize(
    ("name", "tamper", "kind_without_key", "kind_with_key", "first_bad"),
    TAMPERINGS,
    ids=[case[0] for case in TAMPERINGS],
)
def test_tampering_is_detected_and_located(
    trail_path: Path,
    key: str | None,
    name: str,
    tamper: Callable[[Path], None],
    kind_without_key: str,
    kind_with_key: str,
    first_bad: int,
) -> None:
    tamper(trail_path)
    result = verify(trail_path)
    assert not result.ok, name
    assert result.kind == (kind_with_key if key else kind_without_key), result
    assert result.first_bad_index == first_bad, result
    assert result.reason


@KEYS
@pytest.mark.parametrize(
    ("tamper", "kind", "first_bad"),
    [
        (delete_last_three, "truncated", 37),
        (truncate_to_zero, "truncated", 0),
        (delete_file, "truncated", 0),
    ],
)
def test_a_cut_stays_detected_after_the_trail_goes_on(
    trail_path: Path, key: str | None, tamper: Callable[[Path], None], kind: str, first_bad: int
) -> None:
    tamper(trail_path)
    trail = AuditTrail(trail_path, "svc")  # a later, honest append finds the head short
    trail.append("bob", "configure", "store")
    trail.close()
    result = verify(trail_path)
    assert (result.ok, result.kind, result.first_bad_index) == (False, kind, first_bad), result


def test_a_forged_append_stays_detected_after_the_trail_goes_on(trail_path: Path) -> None:
    append_forged(trail_path)
    AuditTrail(trail_path, "svc").append("bob", "configure", "store")
    result = verify(trail_path)
    assert (result.ok, result.kind, result.first_bad_index) == (False, "beyond_anchor", 40)


@KEYS
def test_deleting_a_rotated_segment_is_found_where_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    if key:
        monkeypatch.setenv("FF_OTEL_AUDIT_KEY", key)
    path = tmp_path / "audit_logs.jsonl"
    trail = AuditTrail(path, "svc")
    for day in (1, 2, 3):  # three rotated segments of 10 records, then the active file
        for i in range(10):
            trail.append("alice", "update", f"doc/{day}/{i}")
        path.rename(path.with_name(f"audit_logs.2026010{day}T000000.jsonl"))
        path.touch()
    for i in range(10):
        trail.append("alice", "update", f"doc/active/{i}")
    assert verify(path).ok and verify(path).records == 40
    path.with_name("audit_logs.20260102T000000.jsonl").unlink()
    result = verify(path)
    assert (result.ok, result.kind, result.first_bad_index) == (False, "out_of_order", 10)
    assert result.segment == "audit_logs.20260103T000000.jsonl"


@KEYS
def test_a_torn_line_from_a_full_disk_is_a_gap_not_tampering(
    trail_path: Path, key: str | None
) -> None:
    torn = lines_of(trail_path)[-1][:57]  # what a write cut short by ENOSPC leaves
    with trail_path.open("ab") as handle:
        handle.write(torn)

    before_repair = verify(trail_path)
    assert before_repair.ok and before_repair.records == RECORDS
    [gap] = before_repair.gaps
    assert (gap.cause, gap.index, gap.line, gap.bytes) == ("torn_tail", RECORDS, RECORDS + 1, 57)

    trail = AuditTrail(trail_path, "svc")
    trail.append("bob", "configure", "store")  # the next append closes it and records the gap
    trail.close()
    repaired = verify(trail_path)
    assert repaired.ok, repaired
    assert repaired.records == RECORDS + 2  # the audit_gap record and bob's
    [gap] = repaired.gaps
    assert (gap.cause, gap.index) == ("torn_line", RECORDS)
    gap_record = orjson.loads(lines_of(trail_path)[RECORDS + 1])
    assert gap_record["action"] == "audit_gap"
    assert gap_record["details"]["torn_sha256"] == hashlib.sha256(torn).hexdigest()


def test_a_torn_line_without_its_gap_record_is_tampering(trail_path: Path) -> None:
    lines = lines_of(trail_path)
    lines.insert(17, lines[17][:40])
    rewrite(trail_path, lines)
    result = verify(trail_path)
    assert (result.ok, result.kind, result.first_bad_index) == (False, "unreadable", 17)


def test_without_a_key_a_consistent_rewrite_of_trail_and_anchor_is_not_detectable(
    trail_path: Path,
) -> None:
    # What the README says: with write access and no key, an attacker who cuts
    # the trail and rewrites the anchor to match cannot be told apart.
    lines = lines_of(trail_path)[:-3]
    rewrite(trail_path, lines)
    last = orjson.loads(lines[-1])
    anchor = orjson.loads(anchor_path(trail_path).read_bytes())
    anchor.update(records=last["seq"], last_hash=last["hash"])
    anchor_path(trail_path).write_bytes(orjson.dumps(anchor))
    assert verify(trail_path).ok


@pytest.mark.parametrize("key", ["kept-in-a-vault"])
def test_with_a_key_a_rewritten_anchor_is_detected(trail_path: Path, key: str) -> None:
    lines = lines_of(trail_path)[:-3]
    rewrite(trail_path, lines)
    last = orjson.loads(lines[-1])
    anchor = orjson.loads(anchor_path(trail_path).read_bytes())
    anchor.update(records=last["seq"], last_hash=last["hash"])
    anchor["seal"] = seal(b"a-guessed-key", f"{last['seq']}:{last['hash']}".encode())
    anchor_path(trail_path).write_bytes(orjson.dumps(anchor))
    result = verify(trail_path)
    assert (result.ok, result.kind) == (False, "anchor_unusable")
    assert "seal" in (result.reason or "")


def test_a_deleted_anchor_is_reported(trail_path: Path) -> None:
    anchor_path(trail_path).unlink()
    result = verify(trail_path)
    assert (result.ok, result.kind, result.first_bad_index) == (False, "anchor_missing", RECORDS)


def _append_many(path: str, worker: int) -> None:
    trail = AuditTrail(Path(path), f"worker-{worker}")
    for i in range(100):
        trail.append(f"worker-{worker}", "update", f"doc/{i}")
    trail.close()


def test_the_anchor_stays_consistent_with_processes_appending_at_once(tmp_path: Path) -> None:
    path = tmp_path / "audit_logs.jsonl"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(path), n)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    result = verify(path)
    assert (result.ok, result.records, result.anchored) == (True, 400, True), result
    anchor = orjson.loads(anchor_path(path).read_bytes())
    assert anchor["records"] == 400
    assert anchor["last_hash"] == orjson.loads(lines_of(path)[-1])["hash"]


def test_the_public_call_reports_kind_and_index(tmp_path: Path) -> None:
    ff_otel.configure(base_path=tmp_path, system_metrics=False)
    for i in range(5):
        assert ff_otel.audit("ops", "rotate_keys", f"vault/{i}")
    ff_otel.shutdown()
    path = ff_otel.StoreLayout(tmp_path).audit_logs
    delete_last(path)
    result = ff_otel.verify_audit_trail(base_path=tmp_path)
    assert (result.ok, result.kind) == (False, "truncated")
    assert result.first_bad_index == result.records == len(lines_of(path))
    assert os.path.exists(anchor_path(path))


def test_the_anchor_can_also_go_to_the_collectors_log_stream(
    collector: Collector, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FF_OTEL_AUDIT_ANCHOR_TO_OTLP", "true")
    monkeypatch.setenv("FF_OTEL_AUDIT_KEY", "kept-in-a-vault")
    handle = ff_otel.configure(
        base_path=tmp_path, system_metrics=False, otlp_endpoint=collector.grpc_endpoint
    )
    assert ff_otel.audit("ops", "rotate_keys", "vault/1")
    assert ff_otel.force_flush()
    anchor = orjson.loads(anchor_path(handle.layout.audit_logs).read_bytes())
    collector.wait_for("ff.audit_anchor", anchor["last_hash"], anchor["seal"])
    ff_otel.shutdown()
    # Stored once, in its own file: not also as a log record.
    assert "ff.audit_anchor" not in handle.layout.logs.read_text()


@KEYS
def test_after_a_deleted_anchor_the_next_append_reanchors_and_verify_only_warns(
    trail_path: Path, key: str | None
) -> None:
    # README: "Deleting the anchor is reported as anchor_missing until the next
    # append; that append starts a new anchor and records an audit_anchor_mismatch
    # that verify lists under warnings ..., so a cut made together with deleting
    # the anchor is then only that warning."
    delete_last_three(trail_path)
    anchor_path(trail_path).unlink()
    assert verify(trail_path).kind == "anchor_missing"

    trail = AuditTrail(trail_path, "svc")
    trail.append("bob", "configure", "store")
    trail.close()
    result = verify(trail_path)
    assert result.ok and result.anchored, result
    [warning] = result.warnings  # the mismatch record, at the cut
    assert warning.startswith(f"record {RECORDS - 3} ") and "no anchor" in warning
    mismatch = orjson.loads(lines_of(trail_path)[RECORDS - 3])
    assert mismatch["action"] == "audit_anchor_mismatch"


@KEYS
def test_a_record_whose_anchor_was_never_written_is_beyond_anchor_only_without_a_key(
    trail_path: Path, key: str | None
) -> None:
    # README: "Without a key, a writer killed in the instant between its record
    # and its anchor also looks like a forged append (beyond_anchor); with the
    # key such a record is sealed and is only a warning."
    anchor_before = anchor_path(trail_path).read_bytes()
    trail = AuditTrail(trail_path, "svc")
    trail.append("bob", "configure", "store")
    trail.close()
    anchor_path(trail_path).write_bytes(anchor_before)  # as if killed before the anchor

    result = verify(trail_path)
    if key:
        assert result.ok and result.warnings, result
    else:
        assert (result.ok, result.kind, result.first_bad_index) == (
            False,
            "beyond_anchor",
            RECORDS,
        )


def test_retention_deleting_the_oldest_audit_segment_is_not_recognised_yet(
    tmp_path: Path,
) -> None:
    # README: "The retention deletion of the oldest audit segment is not
    # recognised yet: it verifies as out_of_order at index 0."
    path = tmp_path / "audit_logs.jsonl"
    trail = AuditTrail(path, "svc")
    for i in range(10):
        trail.append("alice", "update", f"doc/old/{i}")
    path.rename(path.with_name("audit_logs.20260101T000000.jsonl"))
    path.touch()
    for i in range(10):
        trail.append("alice", "update", f"doc/new/{i}")
    trail.close()
    path.with_name("audit_logs.20260101T000000.jsonl").unlink()
    result = verify(path)
    assert (result.ok, result.kind, result.first_bad_index) == (False, "out_of_order", 0)
