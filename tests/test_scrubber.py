"""The scrubber: what it redacts, pseudonymises and keeps, and that it stays linear."""

from __future__ import annotations

import pytest

from ff_otel import ScrubbingOptions, ScrubMatch
from ff_otel.privacy import Pseudonymizer, Scrubber
from ff_otel.privacy.subjects import SubjectScrubber


@pytest.fixture
def pseudonymizer() -> Pseudonymizer:
    return Pseudonymizer(b"k" * 32)


@pytest.fixture
def scrubber(pseudonymizer: Pseudonymizer) -> Scrubber:
    return Scrubber(pseudonymizer)


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "db.passwd",
        "api_key",
        "X-Api-Key",
        "client_secret",
        "auth",
        "Authorization",
        "cookie",
        "credit_card",
        "card_number",
        "ssn",
        "private-key",
        "jwt",
        "csrf_token",
        "access_token",
        "refresh.token",
        # the rest of the README's list: secret, token, credential, CVV, access key, bearer
        "secret",
        "token",
        "db.credentials",
        "cvv",
        "aws_access_key_id",
        "bearer",
    ],
)
def test_sensitive_keys_are_redacted_saying_why(scrubber: Scrubber, key: str) -> None:
    assert scrubber.attributes({key: "s3cr3t-value"}) == {key: "[REDACTED:sensitive key]"}


@pytest.mark.parametrize(
    "key", ["author", "gen_ai.usage.input_tokens", "tokenizer", "session.duration", "http.route"]
)
def test_ordinary_keys_are_kept(scrubber: Scrubber, key: str) -> None:
    assert scrubber.attributes({key: "kept"}) == {key: "kept"}


@pytest.mark.parametrize("key", ["user.id", "enduser.id", "user_id", "user.email", "customer_id"])
def test_identifier_keys_are_pseudonymised(
    scrubber: Scrubber, pseudonymizer: Pseudonymizer, key: str
) -> None:
    scrubbed = scrubber.attributes({key: "alice-123"})
    assert scrubbed[key] == pseudonymizer.user("alice-123")
    assert scrubbed[key].startswith("u_") and len(scrubbed[key]) == 34
    again = scrubber.attributes(scrubbed)  # idempotent: a pseudonym stays itself
    assert again == scrubbed


def test_session_ids_are_pseudonymised(scrubber: Scrubber) -> None:
    scrubbed = scrubber.attributes({"session.id": "sess-9", "http.session_id": "abc"})
    assert scrubbed["session.id"].startswith("s_")
    assert scrubbed["http.session_id"].startswith("s_")


def test_content_is_dropped_only_when_excluded(pseudonymizer: Pseudonymizer) -> None:
    body = {"message.content": "my diary", "gen_ai.prompt": "tell me", "text": "hello"}
    excluded = Scrubber(pseudonymizer).attributes(body)
    assert set(excluded.values()) == {"[REDACTED:content excluded]"}
    kept = Scrubber(pseudonymizer, exclude_sensitive_content=False).attributes(body)
    assert kept == body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail bob.smith+x@example.co.uk now", "mail [REDACTED:email] now"),
        ("card 4111 1111 1111 1111.", "card [REDACTED:card number]."),
        ("card 5500-0000-0000-0004", "card [REDACTED:card number]"),
        ("order 4111111111111112 ships", "order 4111111111111112 ships"),  # fails Luhn
        ("Authorization: Bearer eyJhbGciOi.abc-def.ghi", "Authorization: [REDACTED:bearer token]"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.sig_x-1", "token [REDACTED:jwt]"),
        (
            "GET /cb?code=1&access_token=abc123&x=2",
            "GET /cb?code=1&access_token=[REDACTED:secret parameter]&x=2",
        ),
        ("nothing to see in 2024", "nothing to see in 2024"),
    ],
)
def test_values_have_secrets_replaced_in_place(
    scrubber: Scrubber, text: str, expected: str
) -> None:
    assert scrubber.attributes({"note": text})["note"] == expected


def test_raw_ids_seen_before_are_replaced_in_free_text(
    scrubber: Scrubber, pseudonymizer: Pseudonymizer
) -> None:
    hashed = pseudonymizer.user("alice-123")
    assert scrubber.body("user alice-123 logged in.") == f"user {hashed} logged in."
    assert scrubber.body({"note": "(alice-123)"}) == {"note": f"({hashed})"}
    assert scrubber.body("malice-1234 is someone else") == "malice-1234 is someone else"


def test_nested_bodies_are_scrubbed(scrubber: Scrubber) -> None:
    body = {"form": {"password": "x", "email": "a@b.io"}, "tags": ["ok", "c@d.io"]}
    scrubbed = scrubber.body(body)
    assert scrubbed["form"]["password"] == "[REDACTED:sensitive key]"
    assert scrubbed["form"]["email"].startswith("u_")
    assert scrubbed["tags"] == ["ok", "[REDACTED:email]"]


def test_extra_patterns_and_callback(pseudonymizer: Pseudonymizer) -> None:
    seen: list[ScrubMatch] = []

    def keep_internal(match: ScrubMatch) -> object:
        seen.append(match)
        return match.value if match.path[-1] == "internal_secret_name" else None

    scrubber = Scrubber(
        pseudonymizer,
        options=ScrubbingOptions(
            extra_patterns=["tenant"],
            extra_value_patterns=[r"\bEMP-\d{6}\b"],
            callback=keep_internal,
        ),
    )
    scrubbed = scrubber.attributes(
        {"tenant_name": "acme", "internal_secret_name": "vault-a", "note": "by EMP-123456"}
    )
    assert scrubbed == {
        "tenant_name": "[REDACTED:sensitive key]",
        "internal_secret_name": "vault-a",
        "note": "by [REDACTED:matched pattern]",
    }
    assert {m.reason for m in seen} == {"sensitive key"}
    assert all(m.path[-1] != "acme" for m in seen)


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 200_000 + "@",  # an email pattern that backtracks would be quadratic here
        "1 " * 100_000,  # digits and separators: card candidates everywhere
        "bearer " * 30_000,
        "eyJ" + "a" * 200_000,
        "x=" * 100_000 + "?token=",
        "1.2.3." * 40_000,  # address candidates everywhere
        "ab:" * 60_000 + "::",
        "DE89 " * 40_000,
        "+1 415 " * 30_000,
        "pass = '" * 30_000,
        "postgres://a:" * 20_000 + "@",
    ],
)
def test_huge_hostile_values_finish(scrubber: Scrubber, hostile: str) -> None:
    scrubbed = scrubber.attributes({"payload": hostile})["payload"]
    assert isinstance(scrubbed, str)


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("ssn 123-45-6789 on file", "ssn [REDACTED:ssn] on file"),
        ("/users/123-45-6789/orders", "/users/[REDACTED:ssn]/orders"),
        ("WHERE ssn = '123-45-6789'", "WHERE ssn = '[REDACTED:ssn]'"),
        ("key AKIAIOSFODNN7EXAMPLE used", "key [REDACTED:aws access key] used"),
        ("ASIAY34FZKBOKMUTVV7A", "[REDACTED:aws access key]"),
        ("SET pass = 'hunter2' WHERE id = 1", "SET pass = '[REDACTED:password]' WHERE id = 1"),
        (
            "CREATE USER app WITH PASSWORD 'it''s'",
            "CREATE USER app WITH PASSWORD '[REDACTED:password]'",
        ),
        ('ALTER USER app IDENTIFIED BY "pw"', "ALTER USER app IDENTIFIED BY '[REDACTED:password]'"),
        ("postgres://app:hunter2@db:5432/x", "postgres://app:[REDACTED:password]@db:5432/x"),
        ("IBAN DE89370400440532013000 paid", "IBAN [REDACTED:iban] paid"),
        ("DE89 3704 0044 0532 0130 00 Thanks", "[REDACTED:iban] Thanks"),
        ("GB82WEST12345698765432", "[REDACTED:iban]"),
        ("call +1 415 555 2671 now", "call [REDACTED:phone number] now"),
        ("+14155552671", "[REDACTED:phone number]"),
        ("(415) 555-2671", "[REDACTED:phone number]"),
        ("415.555.2671", "[REDACTED:phone number]"),
        ("020 7946 0958", "[REDACTED:phone number]"),
        ("030-12345678", "[REDACTED:phone number]"),
        ("01 23 45 67 89", "[REDACTED:phone number]"),
        (
            "from 203.0.113.42 via 2001:db8:85a3::8a2e:370:7334",
            "from 203.0.113.0 via 2001:db8:85a3::",
        ),
        ("card 4111 1111 1111 1111.", "card [REDACTED:card number]."),
    ],
)
def test_identifiers_and_unlabelled_secrets_are_found_in_any_text(
    scrubber: Scrubber, text: str, scrubbed: str
) -> None:
    assert scrubber.text(text) == scrubbed
    assert scrubber.attributes({"note": text})["note"] == scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01T12:00:00.123456+00:00",
        "2026-03-01 12:00:00",
        "01-02-2024 10:30",
        "version 1.2.3",
        "opentelemetry-sdk 1.27.0",
        "123e4567-e89b-12d3-a456-426614174000",
        "8e456612-96de-7db5-989b-d675263eec0b",
        "0af7651916cd43dd8448eb211c80319c",
        "took 12345678 ms",
        "1234.567 ms",
        "order 1234567890",
        "/v1/conversations/09712877/messages",
        "DE89370400440532013001",  # an IBAN's shape with wrong check digits
        "000-12-3456",  # an SSN's shape in a never-issued area
        "x 12345 67890 y",
        "at 10:30:00",
        "std::string",
        "127.0.0.1:4317",
        "http://[::1]:8080/",
        "listening on 0.0.0.0:8080",  # the unspecified address names no one
        "bypass 'the cache'",
    ],
)
def test_look_alikes_are_kept(scrubber: Scrubber, text: str) -> None:
    assert scrubber.free_text(text) == text


@pytest.mark.parametrize(
    ("handling", "expected"),
    [("truncate", "client 203.0.113.0"), ("drop", "client [REDACTED:ip address]"), ("keep", None)],
)
def test_ip_address_handling(
    pseudonymizer: Pseudonymizer, handling: str, expected: str | None
) -> None:
    scrubber = Scrubber(pseudonymizer, ip_addresses=handling)  # type: ignore[arg-type]
    text = "client 203.0.113.42"
    assert scrubber.free_text(text) == (expected or text)
    header = scrubber.attributes({"http.request.header.x-forwarded-for": (text,)})
    assert header["http.request.header.x-forwarded-for"] == [expected or text]


def test_only_code_locations_are_left_alone(
    scrubber: Scrubber, pseudonymizer: Pseudonymizer
) -> None:
    attributes = {
        "code.function": "login",
        "code.namespace": "app.auth",
        "code.filepath": "/srv/app/auth.py",
        "code.lineno": 12,
        "code.arg.password": "hunter2",
        "code.arg.user_id": "alice",
        "code.arg.note": "mail alice@example.com",
    }
    assert scrubber.attributes(attributes) == {
        **attributes,
        "code.arg.password": "[REDACTED:sensitive key]",
        "code.arg.user_id": pseudonymizer.user("alice"),
        "code.arg.note": "mail [REDACTED:email]",
    }


def test_exception_messages_and_stack_traces_are_free_text(
    scrubber: Scrubber, pseudonymizer: Pseudonymizer
) -> None:
    pseudonym = pseudonymizer.user("alice-42")
    stack = (
        'File "app.py", line 3, in login\n    check(password="hunter2")\nValueError: no alice-42'
    )
    scrubbed = scrubber.attributes(
        {"exception.message": "no alice-42", "exception.stacktrace": stack}
    )
    assert scrubbed["exception.message"] == f"no {pseudonym}"
    assert "hunter2" not in scrubbed["exception.stacktrace"]
    assert scrubbed["exception.stacktrace"].endswith(f"ValueError: no {pseudonym}")


def test_compliance_records_name_subjects_by_reference(
    scrubber: Scrubber, pseudonymizer: Pseudonymizer
) -> None:
    subjects = scrubber.twin(SubjectScrubber)
    reference = pseudonymizer.subject("alice-42")
    assert reference.startswith("subject:") and pseudonymizer.user("alice-42") not in reference
    # The raw id, its pseudonym and an identifier key all become the same reference.
    details = subjects.body(
        {
            "username": "alice-42",
            "note": "locked alice-42",
            "user_hash": pseudonymizer.user("alice-42"),
        }
    )
    assert details == {"username": reference, "note": f"locked {reference}", "user_hash": reference}
    for role in ("system", "admin", "ff-otel", "system:root", "role:support"):
        assert subjects.actor(role) == role
    assert subjects.actor("alice-42") == reference
    assert subjects.resource("user:alice-42") == f"user:{reference}"
    assert subjects.resource("customers/alice-42") == f"customers/{reference}"
    assert subjects.resource("vault/hash_key") == "vault/hash_key"
