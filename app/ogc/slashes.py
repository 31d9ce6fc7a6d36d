"""Paths with doubled slashes are served as if collapsed: `//conformance` is `/conformance`.

Clients join a base URL that ends in "/" with a path that starts with one (the OGC test suite
does, given a landing page URL with a trailing slash, and then collapses to 42 tests on 404s).
A run of slashes never means anything else here: no route has an empty path segment.
"""

from __future__ import annotations

import re

from starlette.types import Scope

SLASHES = re.compile(r"/{2,}")


def collapsed(scope: Scope) -> Scope:
    """The scope with its path's runs of slashes collapsed: a new one, or `scope` itself."""
    if "//" not in scope["path"]:
        return scope
    path = SLASHES.sub("/", scope["path"])
    return {**scope, "path": path, "raw_path": path.encode()}
