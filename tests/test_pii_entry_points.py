"""Each kind of secret and personal data through each entry point: none reaches a file or socket.

The store is read byte by byte (gzipped segments decompressed) and the
collector's detailed dump of every OTLP payload it received is searched for
each raw value.
"""

from __future__ import annotations

import gzip
import json
import logging
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet
import pytest

import ff_otel
from ff_otel import FFAnalyticsConfigDTO, FFAnalyticsPrivacyConfigDTO
from ff_otel.core import clock

from .conftest import Collector, records

RAW_USER = "carol-5521"
PERCENT_ENCODED_EMAIL = "carol.jones%40example.net"
SECRETS = {
    "email": "carol.jones@example.net",
    "ssn": "123-45-6789",
    "aws access key id": "AKIAIOSFODNN7EXAMPLE",
    "password in SQL": "Tr0ub4dor-sql",
    "password in a URL": "Tr0ub4dor-url",
    "iban": "DE89370400440532013000",
    "phone": "+1 415 555 2671",
    "ip address": "203.0.113.42",
    "card number": "4111 1111 1111 1111",
    "bearer token": "Bearer abcDEF123456ghiJKL789mno",
    "token in a query string": "s3cr3t-query-tok",
}


def texts_with_every_secret() -> list[str]:
    """The secrets as they turn up in prose, SQL and URLs."""
    s = SECRETS
    return [
        f"mail {s['email']} ssn {s['ssn']} key {s['aws access key id']} iban {s['iban']}",
        f"call {s['phone']} from {s['ip address']} card {s['card number']}",
        f"UPDATE users SET pass = '{s['password in SQL']}' WHERE ssn = '{s['ssn']}'",
        f"postgres://app:{s['password in a URL']}@db.internal:5432/app",
        f"https://shop.example.com/users/{s['ssn']}/orders?from={s['ip address']}",
        f"GET /api?token={s['token in a query string']} with {s['bearer token']}",
    ]


def store_bytes(base_path: Path) -> bytes:
    """Every byte of the store, gzip segments decompressed and Parquet segments as their rows."""
    blob = b""
    for path in sorted(base_path.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        elif path.name.endswith(".parquet"):  # zstd pages: the raw bytes hide their values
            rows = pyarrow.parquet.read_table(path).to_pylist()
            data = json.dumps(rows, default=str).encode()
        blob += data
    return blob


@ff_otel.instrument("pii.login", record_args=True)
def login(user_id: str, email: str, password: str, note: str) -> None:
    raise PermissionError(f"login refused for {user_id} <{email}>: {note}")


def _every_entry_point() -> None:
    texts = texts_with_every_secret()
    text, sql, url = texts[0], texts[2], texts[3]
    everything = " | ".join(texts)
    # Span attributes (a URL among them), a span event, an exception on a span.
    with ff_otel.span(f"pii.named {text} {texts[5]}"):
        pass
    with ff_otel.span(
        "pii.span",
        note=everything,
        attributes={
            "url.full": texts[4],
            # a client or a form percent-encodes the "@" of a query string's email
            "http.target": f"/items/9?email={PERCENT_ENCODED_EMAIL}&token=s3cr3t-query-tok",
            "db.query.text": sql,
            "db.connection_string": url,
            "client.address": SECRETS["ip address"],
            "http.request.header.x-forwarded-for": (SECRETS["ip address"],),
        },
    ) as current:
        current.add_event(f"pii.event {text}", {"detail": everything})
    with pytest.raises(PermissionError):
        login(RAW_USER, SECRETS["email"], "hunter2-arg", everything)
    # Log messages through the standard logging module, an exception with its stack.
    logger = logging.getLogger("app.pii")
    logger.warning("pii log marker %s", everything)
    try:
        raise ValueError(f"lookup failed: {everything}")
    except ValueError:
        logger.exception("pii exception marker")
    # User event data and type, metric attributes, audit and security events.
    ff_otel.record_user_event(RAW_USER, "sess-9", "session_start", {"note": everything})
    ff_otel.record_user_event(RAW_USER, "sess-9", f"viewed {SECRETS['email']}", {})
    ff_otel.counter("pii.counter").add(1, {"note": text, "client.address": SECRETS["ip address"]})
    assert ff_otel.audit(RAW_USER, "update_profile", f"user:{RAW_USER}", note=everything)
    assert ff_otel.record_security_event(
        "auth_failure", username=RAW_USER, source_ip=SECRETS["ip address"], note=everything
    )


def test_no_secret_reaches_the_store_or_the_collector_through_any_entry_point(
    collector: Collector, tmp_path: Path
) -> None:
    handle = ff_otel.configure(
        base_path=tmp_path / "store",
        service_name="pii-app",
        otlp_endpoint=collector.grpc_endpoint,
        logging=True,
        analytics=FFAnalyticsConfigDTO(
            collection_interval_seconds=1,
            privacy_config=FFAnalyticsPrivacyConfigDTO(enable_external_analytics=True),
        ),
    )
    _every_entry_point()
    assert ff_otel.force_flush(10_000)
    received = collector.wait_for(
        "pii.span", "pii.login", "pii log marker", "pii exception marker", "pii.counter"
    )
    ff_otel.shutdown()

    on_disk = store_bytes(tmp_path / "store")
    forbidden = {
        **SECRETS,
        "raw user id": RAW_USER,
        "recorded argument": "hunter2-arg",
        "percent-encoded email": PERCENT_ENCODED_EMAIL,
    }
    for what, value in forbidden.items():
        assert value.encode() not in on_disk, f"{what} reached the store"
        assert value not in received, f"{what} reached the collector"
    # What the redactions keep is still there: the network, the user as a pseudonym.
    assert b"203.0.113.0" in on_disk and "203.0.113.0" in received
    assert handle.pseudonymizer is not None
    assert handle.pseudonymizer.user(RAW_USER).encode() in on_disk
    # The secrets went through every door that was tried.
    for stream in ("spans", "logs", "behavior_patterns", "audit_logs", "security_events"):
        assert records(getattr(handle.layout, stream)), stream


def test_recorded_arguments_pass_the_scrubber(handle: ff_otel.FFOtel) -> None:
    with pytest.raises(PermissionError):
        login(RAW_USER, SECRETS["email"], "hunter2-arg", f"ssn {SECRETS['ssn']}")
    assert ff_otel.force_flush()
    (span,) = [s for s in records(handle.layout.spans) if s["name"] == "pii.login"]
    arguments = {k: v for k, v in span["attributes"].items() if k.startswith("code.arg.")}
    assert handle.pseudonymizer is not None
    assert arguments == {
        "code.arg.user_id": handle.pseudonymizer.user(RAW_USER),
        "code.arg.email": handle.pseudonymizer.user(SECRETS["email"]),
        "code.arg.password": "[REDACTED:sensitive key]",
        "code.arg.note": "ssn [REDACTED:ssn]",
    }
    # The code location stays as it is.
    assert span["attributes"]["code.function.name"].endswith("login")
    assert isinstance(span["attributes"]["code.line.number"], int)
    # The exception's message and stack trace are free text: the raw id is gone from both.
    (exception,) = span["events"]
    assert RAW_USER not in exception["attributes"]["exception.message"]
    assert RAW_USER not in exception["attributes"]["exception.stacktrace"]
    assert "PermissionError" in exception["attributes"]["exception.stacktrace"]


def test_erasure_leaves_nothing_erasable_in_any_file_of_the_store(
    handle: ff_otel.FFOtel,
) -> None:
    user = "dave-8080"
    ff_otel.record_user_event(user, "dave-s1", "session_start", {"platform": "web"})
    # An event type naming the user: scrubbed into the pseudonym.
    ff_otel.record_user_event(user, "dave-s1", f"viewed {user}", {})
    with ff_otel.span("checkout", attributes={"user.id": user}):
        pass
    # The README's examples: a security event and an audit record naming the user.
    assert ff_otel.record_security_event(
        "auth_failure", "warning", username=user, source_ip="198.51.100.23"
    )
    assert ff_otel.audit(user, "change_email", f"user:{user}", user_id=user, note=f"by {user}")
    assert ff_otel.audit("admin", "lock_account", f"users/{user}", user_id=user)
    assert ff_otel.force_flush()
    # Rotate every stream into a segment and compress it, as retention does over days.
    later = ff_otel.run_retention(now=_days_ahead(1))
    assert later["rotated"]
    compressed = ff_otel.run_retention(now=_days_ahead(9))["compressed"]
    assert any(path.startswith("compliance/security_events") for path in compressed)
    assert any(path.startswith("compliance/audit_logs") for path in compressed)
    assert list(handle.layout.base_path.rglob("spans.*.parquet"))  # compacted, and read below
    # And more after the rotation, in the active files.
    assert ff_otel.record_security_event("auth_failure", username=user)
    assert ff_otel.audit(user, "logout", f"user:{user}")
    ff_otel.record_user_event(user, "dave-s1", "session_end", {})
    assert ff_otel.force_flush()
    assert handle.pseudonymizer is not None
    pseudonym = handle.pseudonymizer.user(user)
    assert pseudonym.encode() in store_bytes(handle.layout.base_path)
    (named,) = ff_otel.sql(
        "SELECT count(*) AS n FROM events WHERE event_type = ?", [f"viewed {pseudonym}"]
    )
    assert named["n"] == 1

    assert ff_otel.erase_user(user) > 0

    on_disk = store_bytes(handle.layout.base_path)
    assert user.encode() not in on_disk
    assert pseudonym.encode() not in on_disk
    assert ff_otel.verify_audit_trail().ok
    # The trail still says what happened, to a subject no other record names.
    actions = {record["action"] for record in records(handle.layout.audit_logs)}
    assert {"change_email", "lock_account", "logout", "erasure"} <= actions


def _days_ahead(days: int) -> str:
    return (clock.now() + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("handling", "stored"),
    [("truncate", "203.0.113.0"), ("drop", "[REDACTED:ip address]"), ("keep", "203.0.113.42")],
)
def test_ip_addresses_are_truncated_dropped_or_kept_as_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handling: str, stored: str
) -> None:
    monkeypatch.setenv("FF_OTEL_PRIVACY_IP_ADDRESS_HANDLING", handling)
    handle = ff_otel.configure(base_path=tmp_path / "store", service_name="ip-app")
    with ff_otel.span("request", attributes={"client.address": "203.0.113.42"}):
        pass
    ff_otel.record_user_event("erin", "s1", "session_start", {"ip": "from 203.0.113.42"})
    assert ff_otel.force_flush()
    (span,) = records(handle.layout.spans)
    assert span["attributes"]["client.address"] == stored
    (event,) = records(handle.layout.behavior_patterns)
    assert event["data"]["ip"] == f"from {stored}"


def test_an_unknown_ip_address_handling_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FF_OTEL_PRIVACY_IP_ADDRESS_HANDLING", "hash")
    with pytest.raises(ff_otel.ConfigError, match="ip_address_handling"):
        ff_otel.configure(base_path=tmp_path / "store")
