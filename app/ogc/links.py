"""tipg's endpoint factory with its link building memoised per request.

tipg gives every feature of an items response two links (its collection, itself), each through
`url_for`: a search of the router for the route by name, then the base URL parsed and joined.
At limit=1000 that was 62 % of the whole request's Python time (bench/inprocess.py, cProfile).
Within one request the base URL and route are the same for every feature, so here each distinct
(route, path parameters) is built once by tipg's own `url_for`, and an item's link is that
request's item URL with the id put in place of a marker. The result is the same string tipg
would build: an id that starlette's converter would refuse (empty, or holding "/") still goes
through tipg's code, to fail the same way.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from tipg.factory import OGCFeaturesFactory

from app.ogc.crs import CONFORMANCE_CLASS as CRS_CONFORMANCE

CACHE_KEY = "wfs3.links"  # in the request's ASGI scope: one cache per request, gone with it
ID_MARKER = "\x00wfs3-item-id\x00"


class LinkCachingFactory(OGCFeaturesFactory):
    @property
    def conforms_to(self) -> list[str]:
        # crs_request.py implements Part 2 (CRS by Reference) on tipg's routes.
        return [*super().conforms_to, CRS_CONFORMANCE]

    def url_for(self, request: Request, name: str, **path_params: Any) -> str:
        item_id = path_params.get("itemId")
        if item_id is not None:
            value = str(item_id)
            if not value or "/" in value:
                return super().url_for(request, name, **path_params)
            path_params["itemId"] = ID_MARKER
        cache: dict[tuple[Any, ...], str] = request.scope.setdefault(CACHE_KEY, {})
        key = (name, *sorted(path_params.items()))
        url = cache.get(key)
        if url is None:
            url = cache[key] = super().url_for(request, name, **path_params)
        if item_id is None:
            return url
        # The id is the route's last parameter: its marker is the last one in the URL.
        head, _, tail = url.rpartition(ID_MARKER)
        return head + value + tail
