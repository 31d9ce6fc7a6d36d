"""Paths with doubled slashes are served as if collapsed: `//conformance` is `/conformance`.

Clients join a base URL that ends in "/" with a path that starts with one (the OGC test suite
does, given a landing page URL with a trailing slash, and then collapses to 42 tests on 404s).
A run of slashes never means anything else here: no route has an empty path segment.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

SLASHES = re.compile(r"/{2,}")


class CollapseSlashesMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "//" in scope["path"]:
            path = SLASHES.sub("/", scope["path"])
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)
