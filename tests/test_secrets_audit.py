"""The end-of-run secrets audit finds what it is looking for (tests/secrets_audit.py)."""

from __future__ import annotations

from tests.secrets_audit import SENT_SECRETS, find_leaks, secrets


def test_a_planted_secret_is_found_and_not_repeated() -> None:
    blobs = [("server outputs", b"ok"), ("OTLP payloads", b"\x00auth=" + SENT_SECRETS[0].encode())]
    assert find_leaks(blobs, list(SENT_SECRETS)) == [f"OTLP payloads: {SENT_SECRETS[0][:4]}…"]


def test_the_database_passwords_are_among_the_secrets() -> None:
    values = secrets()
    assert len(values) == len(SENT_SECRETS) + 2, "owner and reader passwords"
