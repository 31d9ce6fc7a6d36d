"""`crs` and `storageCrs` in collection descriptions (OGC API - Features Part 2; the CRSs are
crs.py's). Items and item read `crs` and `bbox-crs` from their query table (items_query.py).

tipg knows none of these. The two collection routes get one more dependency each, which makes
the catalog known to the response renderer (responses.py), which adds the lists to the JSON tipg
built.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from tipg.collections import Collection

from app.ogc.crs import crs_metadata
from app.ogc.overrides import append_dependency
from app.ogc.paths import COLLECTION_PATH, COLLECTIONS_PATH

# The catalog the collection routes describe, for the renderer (it is given only the body).
DESCRIBED: ContextVar[Mapping[str, Collection] | None] = ContextVar("wfs3.described", default=None)


async def describe_crs(request: Request) -> None:
    catalog = getattr(request.app.state, "collection_catalog", None) or {}
    DESCRIBED.set(catalog.get("collections", {}))


def add_crs_lists(content: Any) -> Any:
    """A collection's (or each listed collection's) JSON with its `crs` and `storageCrs`."""
    if not isinstance(content, dict):
        return content
    described = DESCRIBED.get()
    if not described:
        return content
    listed = content.get("collections")
    for body in listed if isinstance(listed, list) else [content]:
        if isinstance(body, dict) and (collection := described.get(str(body.get("id")))):
            body.update(crs_metadata(collection))
    return content


def install_crs(app: FastAPI) -> None:
    """The CRS lists on the collection routes."""
    append_dependency(app, describe_crs, COLLECTIONS_PATH, COLLECTION_PATH)
