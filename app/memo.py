"""Bounded memos for values computed per request from a small set of keys.

Their keys come partly from requests (a Host header, a peer address, a `properties` list), so a
memo must not grow without end: it is emptied when it holds `limit` entries, and the common keys
come back at once. Simpler than an LRU, and as good when the working set is far below the limit.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

V = TypeVar("V")


def remembered(memo: dict[Hashable, V], key: Hashable, compute: Callable[[], V], limit: int) -> V:
    """memo[key], computed by `compute()` the first time (never None)."""
    return remembered_call(memo, key, limit, compute)


def remembered_call(
    memo: dict[Hashable, V], key: Hashable, limit: int, compute: Callable[..., V], *args: Any
) -> V:
    """memo[key], computed by `compute(*args)` the first time (never None): for the request
    path, where a known key should cost no closure or partial made only to be thrown away."""
    value = memo.get(key)
    if value is None:
        if len(memo) >= limit:
            memo.clear()
        value = memo[key] = compute(*args)
    return value
