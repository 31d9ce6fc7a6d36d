"""Before timing anything: does each server answer each kind of request the way ours does?

A server that ignores a parameter (a filter it does not understand, say) answers faster and
wrongly; its figure for that kind is then not comparable and the report says so. Compared on the
first path of each kind: numberMatched (when both give it), the number of features and the first
one's id (a server that ignores `after` or `offset` answers page 1), the item id; a tile's
layers and their numbers of features.
"""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
import mapbox_vector_tile

MVT = "application/vnd.mapbox-vector-tile"


def _summary(body: dict[str, Any]) -> tuple[Any, ...]:
    if body.get("type") == "Feature":
        return ("feature", str(body.get("id")))
    features = body.get("features", [])
    first = str(features[0].get("id")) if features else None
    return ("collection", body.get("numberMatched"), len(features), first)


def fetch_summary(base: str, path: str) -> tuple[Any, ...] | None:
    try:
        response = httpx.get(base + path, timeout=60)
    except httpx.TransportError:
        return None
    if response.status_code != 200:
        return ("status", response.status_code)
    if response.headers.get("content-type") == MVT:
        layers = mapbox_vector_tile.decode(response.content)
        return ("tile", sorted((name, len(layer["features"])) for name, layer in layers.items()))
    return _summary(response.json())


def same_answer(ours: tuple[Any, ...] | None, theirs: tuple[Any, ...] | None) -> bool:
    if ours is None or theirs is None or ours[0] != theirs[0]:
        return False
    if ours[0] == "collection" and None in (ours[1], theirs[1]):
        return ours[2:] == theirs[2:]  # one of them does not count matches
    return ours == theirs
