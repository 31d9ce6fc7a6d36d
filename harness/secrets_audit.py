"""Everything the service let out during the test run, scanned for secrets at the end.

Collected: the stdout/stderr of every server process (harness/server_process.py), every OTLP
payload a test receiver got (harness/otlp_receiver.py: spans, metrics, logs), every log record the
in-process apps wrote, and every error body they answered (conftest.py's make_app). At the end
of the session (conftest.py) none may hold a database password or any Authorization / Cookie /
refresh-token value a test sent.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from urllib.parse import urlsplit

_lock = threading.Lock()
_blobs: list[tuple[str, bytes]] = []
# Every credential-like value a test sends, registered by that test module with sent(). They are
# not written here: Hypothesis (tests/test_fuzz.py) feeds string constants of non-test modules
# into its inputs, so a literal here would be sent by the fuzzer and logged as a request path.
SENT_SECRETS: set[str] = set()


def sent(value: str) -> str:
    """Register a secret a test is about to send (Authorization, Cookie, a token); return it."""
    SENT_SECRETS.add(value)
    return value


def record(kind: str, data: bytes | str) -> None:
    with _lock:
        _blobs.append((kind, data.encode() if isinstance(data, str) else data))


def secrets() -> list[str]:
    passwords = [
        urlsplit(os.environ[name]).password
        for name in ("DATABASE_URL", "WFS3_READER_URL")
        if os.environ.get(name)
    ]
    return [p for p in passwords if p] + sorted(SENT_SECRETS)


def find_leaks(blobs: list[tuple[str, bytes]], values: list[str]) -> list[str]:
    """`kind: secret[:4]…` for every blob holding a secret (never the secret itself)."""
    return [
        f"{kind}: {value[:4]}…"
        for kind, blob in blobs
        for value in values
        if value.encode() in blob
    ]


def audit() -> str:
    """Raise on any leak; otherwise a one-line account of what was scanned."""
    with _lock:
        blobs = list(_blobs)
    leaks = find_leaks(blobs, secrets())
    if leaks:
        raise AssertionError("secrets leaked:\n" + "\n".join(sorted(set(leaks))))
    counts = Counter(kind for kind, _ in blobs)
    size = sum(len(blob) for _, blob in blobs)
    parts = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    return f"secrets audit: {len(secrets())} secrets, none in {parts} ({size:,} bytes)"
