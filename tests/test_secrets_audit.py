"""The end-of-run secrets audit finds what it is looking for (harness/secrets_audit.py)."""

from __future__ import annotations

from harness.secrets_audit import SENT_SECRETS, find_leaks, secrets, sent

PLANTED = sent("audit-planted-secret-5b0c")


def test_a_planted_secret_is_found_and_not_repeated() -> None:
    blobs = [("server outputs", b"ok"), ("OTLP payloads", b"\x00auth=" + PLANTED.encode())]
    assert find_leaks(blobs, [PLANTED, "other"]) == [f"OTLP payloads: {PLANTED[:4]}…"]


def test_the_database_passwords_are_among_the_secrets() -> None:
    values = secrets()
    assert PLANTED in values
    assert len(values) == len(SENT_SECRETS) + 2, "owner and reader passwords"
