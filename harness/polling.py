"""Waiting for something that arrives asynchronously (a log line, an export, a document)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(found: Callable[[], T | None], seconds: float = 30, what: str = "") -> T:
    """Poll `found()` until it returns something truthy; return that, or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (result := found()):
        assert time.monotonic() < deadline, f"not seen within {seconds}s: {what}"
        time.sleep(0.1)
    return result
