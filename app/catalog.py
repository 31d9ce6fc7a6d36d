"""The catalog's collections: tipg's PgCollection, with what its `features` returns made valid
GeoJSON and, when telemetry is on, told to the span and the metrics.

tipg's items and item endpoints call `collection.features(conn, ...)` on the object our collection
dependency returns. The catalog holds ServedCollection objects instead of tipg's PgCollection:
the same data, with empty geometries answered as `null` (simplification can reduce a small
feature to nothing, and `{"type": "LineString", "coordinates": []}` breaks the GeoJSON schema
/api publishes; RFC 7946 3.1 lets readers take an empty geometry as null, so we say null). With
telemetry on they are ObservedCollection objects, which also record what was asked (limit,
offset, whether bbox/datetime/filter were given) and what came back (numberMatched,
numberReturned).
"""

from __future__ import annotations

import math
from typing import Any

import asyncpg
from opentelemetry import metrics, trace
from tipg.collections import Collection, ItemList, PgCollection

from app.errors import InvalidParameter

_meter = metrics.get_meter(__name__)
features_returned = _meter.create_histogram(
    "ogc.features.returned",
    unit="{feature}",
    description="Features returned per items request, by collection.",
    explicit_bucket_boundaries_advisory=[0, 1, 10, 50, 100, 500, 1000, 5000, 10000],
)

# Span attribute names: stable, documented in the README (dashboards and X-Ray annotations).
COLLECTION_ID = "ogc.collection.id"


def request_attributes(kwargs: dict[str, Any]) -> dict[str, Any]:
    """What the client asked for, from the arguments tipg passes to `features`."""
    return {
        "ogc.items.limit": kwargs.get("limit") or 0,
        "ogc.items.offset": kwargs.get("offset") or 0,
        "ogc.items.bbox_given": kwargs.get("bbox_filter") is not None,
        "ogc.items.datetime_given": kwargs.get("datetime_filter") is not None,
        "ogc.items.filter_given": kwargs.get("cql_filter") is not None,
    }


def _empty_geometries_as_null(items: ItemList) -> None:
    for feature in items["items"]:
        geometry = feature.get("geometry")
        if isinstance(geometry, dict) and geometry.get("coordinates") == []:
            feature["geometry"] = None


def _check_simplify(tolerance: float | None) -> None:
    # tipg takes `simplify` straight into ST_SimplifyPreserveTopology, which fails on a
    # negative or non-finite tolerance (a 500 before this check).
    if tolerance is not None and not (math.isfinite(tolerance) and tolerance >= 0):
        raise InvalidParameter(f"simplify must be a finite number >= 0, not {tolerance}")


class ServedCollection(PgCollection):
    async def features(self, conn: asyncpg.Connection, **kwargs: Any) -> ItemList:
        _check_simplify(kwargs.get("simplify"))
        items = await super().features(conn, **kwargs)
        _empty_geometries_as_null(items)
        return items


class ObservedCollection(ServedCollection):
    async def features(self, conn: asyncpg.Connection, **kwargs: Any) -> ItemList:
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(request_attributes(kwargs))
        items = await super().features(conn, **kwargs)
        returned = len(items["items"])
        if span.is_recording():
            span.set_attribute("ogc.items.number_returned", returned)
            if items["matched"] is not None:
                span.set_attribute("ogc.items.number_matched", items["matched"])
        features_returned.record(returned, {COLLECTION_ID: self.id})
        return items


def served(collections: dict[str, Collection], traced: bool) -> dict[str, Collection]:
    """The catalog's collections, each PgCollection turned into a ServedCollection (an
    ObservedCollection when traced)."""
    kind = ObservedCollection if traced else ServedCollection
    return {
        key: kind.model_construct(_fields_set=c.model_fields_set, **c.__dict__)
        if type(c) is PgCollection
        else c
        for key, c in collections.items()
    }


def mark_collection(collection_id: str) -> None:
    """Tag the request span with the collection it is about (called once it is known to exist)."""
    trace.get_current_span().set_attribute(COLLECTION_ID, collection_id)
