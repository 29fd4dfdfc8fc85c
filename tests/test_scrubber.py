"""The scrubber: what it redacts, pseudonymises and keeps, and that it stays linear."""

from __future__ import annotations

import pytest

from ff_otel import ScrubbingOptions, ScrubMatch
from ff_otel.privacy import Pseudonymizer, Scrubber


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
    ],
)
def test_huge_hostile_values_finish(scrubber: Scrubber, hostile: str) -> None:
    scrubbed = scrubber.attributes({"payload": hostile})["payload"]
    assert isinstance(scrubbed, str)
