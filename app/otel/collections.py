"""Collections that tell the request span and the metrics what an items request asked and got:
limit, offset, whether bbox/datetime/filter were given, numberMatched and numberReturned."""

from __future__ import annotations

from typing import Any

import asyncpg
from opentelemetry import metrics, trace
from tipg.collections import ItemList

from app.ogc.catalog import COLLECTION_ID, ServedCollection

_meter = metrics.get_meter(__name__)
features_returned = _meter.create_histogram(
    "ogc.features.returned",
    unit="{feature}",
    description="Features returned per items request, by collection.",
    explicit_bucket_boundaries_advisory=[0, 1, 10, 50, 100, 500, 1000, 5000, 10000],
)


def request_attributes(kwargs: dict[str, Any]) -> dict[str, Any]:
    """What the client asked for, from the arguments tipg passes to `features`."""
    return {
        "ogc.items.limit": kwargs.get("limit") or 0,
        "ogc.items.offset": kwargs.get("offset") or 0,
        "ogc.items.bbox_given": kwargs.get("bbox_filter") is not None,
        "ogc.items.datetime_given": kwargs.get("datetime_filter") is not None,
        "ogc.items.filter_given": kwargs.get("cql_filter") is not None,
    }


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
