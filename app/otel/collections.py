"""Collections that tell the request span and the metrics what an items request asked and got:
limit, offset, whether bbox/datetime/filter were given, numberMatched and numberReturned; and a
tile request's zoom, matrix set and size."""

from __future__ import annotations

from collections.abc import Awaitable, Hashable, Sequence
from typing import Any

import asyncpg
from opentelemetry import trace
from tipg.collections import ItemList

from app.memo import remembered_call
from app.ogc.catalog import COLLECTION_ID, ServedCollection
from app.ogc.counting import MatchedCounter
from app.ogc.geojson_sql import GeoJsonPage, PageRequest, ShapedPage
from app.ogc.tiles import tile_attributes
from app.otel.histograms import AggregatedHistogram, Key, key_of

features_returned = AggregatedHistogram(
    "ogc.features.returned",
    unit="{feature}",
    description="Features returned per items request, by collection.",
    bounds=[0, 1, 10, 50, 100, 500, 1000, 5000, 10000],
)


# ogc.features.returned's attribute set of each collection, made once (histograms.key_of).
_returned_keys: dict[Hashable, Key] = {}
RETURNED_KEYS = 1024  # sets kept: one per collection served


def _returned_key(collection_id: str) -> Key:
    return key_of({COLLECTION_ID: collection_id})


def request_attributes(kwargs: dict[str, Any]) -> dict[str, Any]:
    """What the client asked for, from the arguments tipg passes to `features`."""
    return {
        "ogc.items.limit": kwargs.get("limit") or 0,
        "ogc.items.offset": kwargs.get("offset") or 0,
        "ogc.items.bbox_given": kwargs.get("bbox_filter") is not None,
        "ogc.items.datetime_given": kwargs.get("datetime_filter") is not None,
        "ogc.items.filter_given": kwargs.get("cql_filter") is not None,
    }


def page_attributes(page: PageRequest, filters: dict[str, Any]) -> dict[str, Any]:
    """request_attributes for a GeoJSON page (catalog.ServedCollection.geojson_page)."""
    return request_attributes(
        {
            "limit": page.limit,
            "offset": page.offset,
            "bbox_filter": filters.get("bbox"),
            "datetime_filter": filters.get("datetime"),
            "cql_filter": filters.get("cql"),
        }
    )


class ObservedCollection(ServedCollection):
    def _observe(self, span: trace.Span, returned: int, matched: int | None) -> None:
        """What the request got, on its span (the current one, looked up once by the caller)
        and in the histogram."""
        if span.is_recording():
            span.set_attribute("ogc.items.number_returned", returned)
            if matched is not None:
                span.set_attribute("ogc.items.number_matched", matched)
        key = remembered_call(_returned_keys, self.id, RETURNED_KEYS, _returned_key, self.id)
        features_returned.record(returned, key)

    async def features(self, conn: asyncpg.Connection, **kwargs: Any) -> ItemList:
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(request_attributes(kwargs))
        items = await super().features(conn, **kwargs)
        self._observe(span, len(items["items"]), items["matched"])
        return items

    async def get_tile(self, conn: asyncpg.Connection, **kwargs: Any) -> bytes:
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(tile_attributes(kwargs["tile"], kwargs["tms"]))
        tile: bytes = await super().get_tile(conn, **kwargs)
        if span.is_recording():
            span.set_attribute("ogc.tile.bytes", len(tile))
        return tile

    async def planned_page(
        self,
        conn: asyncpg.Connection,
        shaped: ShapedPage,
        parameters: Sequence[Any],
        counter: MatchedCounter | None,
    ) -> GeoJsonPage:
        reading = super().planned_page(conn, shaped, parameters, counter)
        return await self._observed_page(shaped.page, {}, reading)

    async def geojson_page(
        self,
        conn: asyncpg.Connection,
        page: PageRequest,
        filters: dict[str, Any],
        counter: MatchedCounter | None,
    ) -> GeoJsonPage:
        reading = super().geojson_page(conn, page, filters, counter)
        return await self._observed_page(page, filters, reading)

    async def _observed_page(
        self, page: PageRequest, filters: dict[str, Any], reading: Awaitable[GeoJsonPage]
    ) -> GeoJsonPage:
        """`reading`'s page: what the request asked set on the span before the page is read
        (`reading` runs only when awaited), what it returned recorded after."""
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(page_attributes(page, filters))
        result = await reading
        self._observe(span, result.returned, result.matched)
        return result
