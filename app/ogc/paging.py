"""Page size for /collections/{collectionId}/items: our default, and a maximum that clamps.

OGC API - Features recommends that a `limit` above the server's maximum is not an error but is
served as the maximum. We rewrite the query string before tipg reads it, so the `self` and `next`
links that tipg builds from the query show the limit actually applied. A missing limit becomes the
configured default the same way. Anything that is not a whole number is left for validation (400).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


def _is_items_path(path: str) -> bool:
    return path.startswith("/collections/") and path.endswith("/items")


def rewrite_limit(query_string: bytes, default: int, maximum: int) -> bytes:
    """Return the query string with every `limit` clamped to maximum, or the default added."""
    parts = query_string.split(b"&") if query_string else []
    seen = False
    for index, part in enumerate(parts):
        key, sep, value = part.partition(b"=")
        if key != b"limit":
            continue
        seen = True
        if value.isdigit() and int(value) > maximum:
            parts[index] = b"limit=" + str(maximum).encode()
    if not seen:
        parts.append(b"limit=" + str(default).encode())
    return b"&".join(parts)


class PageLimitMiddleware:
    def __init__(self, app: ASGIApp, default: int, maximum: int) -> None:
        self.app = app
        self.default = default
        self.maximum = maximum

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_items_path(scope["path"]):
            # In place, not a copy: outer middleware reads what the router adds to this scope.
            scope["query_string"] = rewrite_limit(
                scope.get("query_string", b""), self.default, self.maximum
            )
        await self.app(scope, receive, send)
