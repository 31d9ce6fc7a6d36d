"""tipg's endpoint factory with its link building memoised.

tipg gives every feature of an items response two links (its collection, itself), each through
`url_for`: a search of the router for the route by name, then the base URL parsed and joined.
At limit=1000 that was 62 % of the whole request's Python time (bench/inprocess.py, cProfile).
A URL depends only on the route, its path parameters and what starlette builds the base URL from
(scheme, server, Host header, root path), so each distinct combination is built once by tipg's
own `url_for` and reused across requests (items/{id}: 15 % of an in-process request's time went
to its two links), and an item's link is the item URL with the id put in place of a marker. The
result is the same string tipg would build: an id that starlette's converter would refuse (empty,
or holding "/") is resolved each time, to fail the same way. Names are resolved through the
app's router, which also holds the items and item routes that replace tipg's (items.py).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.types import Scope
from tipg import model
from tipg.factory import EndpointsFactory, OGCFeaturesFactory

from app.memo import remembered
from app.ogc.crs import CONFORMANCE_CLASS as CRS_CONFORMANCE
from app.ogc.schemas import CONFORMANCE as SCHEMAS_CONFORMANCE

URL_CACHE_SIZE = 4096  # emptied when full: the Host header is the client's to choose
ID_MARKER = "\x00wfs3-item-id\x00"


def base_url_inputs(scope: Scope) -> tuple[Any, ...]:
    """What starlette builds a request's base URL from (`Request.base_url`, `URL(scope=)`)."""
    host = next((value for key, value in scope["headers"] if key == b"host"), None)
    root = scope.get("app_root_path", scope.get("root_path", ""))
    server = scope.get("server")  # a list, not a tuple, under starlette's TestClient
    return scope.get("scheme"), tuple(server) if server else None, host, root


@dataclass
class LinkCachingFactory(OGCFeaturesFactory):
    _urls: dict[Hashable, str] = field(default_factory=dict, init=False, repr=False)
    # Factories served beside this one (tiles.py), whose links and conformance classes the
    # landing page and /conformance list with ours, as tipg's own Endpoints factory does.
    companions: list[EndpointsFactory] = field(default_factory=list, init=False, repr=False)

    @property
    def conforms_to(self) -> list[str]:
        # Part 2 (CRS by Reference): items_query.py, items.py, metadata.py.
        others = [uri for factory in self.companions for uri in factory.conforms_to]
        return [*super().conforms_to, CRS_CONFORMANCE, *SCHEMAS_CONFORMANCE, *others]

    def links(self, request: Request) -> list[model.Link]:
        others = [link for factory in self.companions for link in factory.links(request)]
        return [*super().links(request), *others]

    def url_for(self, request: Request, name: str, **path_params: Any) -> str:
        item_id = path_params.get("itemId")
        value = None if item_id is None else str(item_id)
        if value == "" or (value is not None and "/" in value):
            return self._resolved(request, name, **path_params)
        if value is not None:
            path_params["itemId"] = ID_MARKER
        key = (*base_url_inputs(request.scope), name, *sorted(path_params.items()))
        build = partial(self._resolved, request, name, **path_params)
        url = remembered(self._urls, key, build, URL_CACHE_SIZE)
        if value is None:
            return url
        # The id is the route's last parameter: its marker is the last one in the URL.
        head, _, tail = url.rpartition(ID_MARKER)
        return head + value + tail

    @staticmethod
    def _resolved(request: Request, name: str, **path_params: Any) -> str:
        """tipg's `url_for` (this factory is included with no prefix), the route found among
        the app's routes: they hold this factory's routes and the items and item routes that
        replace two of them (items.py)."""
        url_path = request.app.router.url_path_for(name, **path_params)
        return str(url_path.make_absolute_url(base_url=str(request.base_url)))
