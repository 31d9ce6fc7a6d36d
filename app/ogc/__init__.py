"""The OGC API - Features layer: tipg's engine, extended from the outside, behind `install`.

tipg (developmentseed) serves the catalog, the endpoints, CQL2 → SQL, HTML and CSV. We never fork
or copy it; this package is every place where we hook into it. Checked against tipg 1.6.1, which
tests/test_tipg_hooks.py pins: after a tipg upgrade, re-check each hook below, then move the pin.

Hooks into tipg's public API:
- `tipg.factory.OGCFeaturesFactory` is subclassed (links.py: `url_for` memoised across requests) and
  its router is included as is, with our collection dependency (params.collection_params).
- `tipg.dependencies`' parsers (bbox, datetime, filter, properties, sortby) are swapped for ours
  in each route's dependency tree, matched by function identity (params.py, overrides.py); its
  other plain-`def` dependencies are wrapped to run in the event loop.
- Part 2 (CRS by Reference, crs.py, crs_request.py): one more dependency on the items, item and
  collection routes, a middleware for `Content-Crs`, and `conforms_to` extended (links.py).
- `tipg.collections.PgCollection.features(conn, **kwargs)` is overridden (catalog.py), reading
  the keyword names limit, offset, bbox_filter, datetime_filter, cql_filter, simplify and the
  ItemList keys `items`, `matched` (app/otel/collections.py too).
- `tipg.factory.OGCTilesFactory` is composed as is (tiles.py), its `supported_tms` read for the
  tile and zoom checks; `PgCollection.get_tile(conn, **kwargs)` is overridden (catalog.py, and
  app/otel/collections.py), reading the keyword names tile, tms, simplify and ids_filter, and
  `cql_where` gets tipg's `tile`/`tms` arguments (tests/test_tiles.py, tests/test_tracing.py).
- `tipg.collections.register_collection_catalog` fills `app.state.collection_catalog`
  (catalog.py); `tipg.database.connect_to_db` opens `app.state.pool` with our asyncpg
  `connection_class`, `reset` and `server_settings` (app/db/lifespan.py).
- `tipg.factory.features_settings.max_features_per_query`: tipg's own `limit` bound, fixed at
  import (checked against ours below); `tipg.errors` mapped to statuses (errors.py);
  `tipg.middleware.CacheControlMiddleware` (app/factory.py).

Private APIs relied upon (each guarded by a test that fails when it changes):
- `tipg.factory.ORJSONResponse` / `GeoJSONResponse` / `create_csv_rows`, the module-level names
  tipg's endpoints build their JSON and CSV responses with, are rebound to ours: `alternate`
  links, `timeStamp`, a CSV of no rows (responses.py; tests/test_tipg_hooks.py).
- `PgCollection._geom_expr(geometry_column, bbox_only, simplify)`, where tipg builds the output
  geometry's SQL, is overridden to reproject into the requested CRS (catalog.py; the CRS comes
  in a ContextVar, since tipg passes no request; tests/test_tipg_hooks.py).
- `tipg.openapi._update_openapi(app)` serves /api with the OGC OpenAPI media type (openapi.py;
  tests/test_tipg_hooks.py).
- FastAPI's dependency tree: `APIRoute.dependant`, `Dependant.dependencies/.call/.path/.name/
  .use_cache/.scope`, `fastapi.dependencies.utils.get_dependant`, and an included router's
  `effective_route_contexts()` (FastAPI >= 0.137) (overrides.py; install fails at start-up if
  no parser was swapped, and tests/test_tipg_hooks.py checks each parser is reached).
- FastAPI's router tries `app.router.routes` in order and accepts a plain Starlette `BaseRoute`
  there: the fast lanes go first, before tipg's items and item routes; they match paths with
  starlette's private `_utils.get_route_path`, as its own routes do (fast_lane.py;
  tests/test_fast_lane.py counts the requests each lane serves).
- pydantic's `model_construct(_fields_set=..., **obj.__dict__)` to turn tipg's PgCollection into
  our subclass without validating again (catalog.served; tests/test_tipg_hooks.py).
Outside this package: asyncpg's `Connection._params/_addr` (app/otel/sql_spans.py;
tests/test_sql_spans.py) and opentelemetry-instrumentation-fastapi's `_original_fastapi`
(app/otel/telemetry.py; tests/test_tipg_hooks.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from fastapi import FastAPI
from tipg.collections import Collection
from tipg.factory import features_settings as tipg_features_settings

from app.ogc.catalog import CatalogLoader, ServedCollection
from app.ogc.crs_request import install_crs
from app.ogc.errors import TIPG_ERRORS
from app.ogc.fast_items import install_fast_geojson
from app.ogc.fast_lane import install_fast_lanes
from app.ogc.keyset import install_cursor
from app.ogc.links import LinkCachingFactory
from app.ogc.openapi import install_openapi
from app.ogc.paging import PageLimitMiddleware
from app.ogc.params import collection_params, install_parameter_parsers
from app.ogc.query_check import install_query_checks
from app.ogc.responses import install_responses
from app.ogc.slashes import CollapseSlashesMiddleware
from app.ogc.tiles import install_tiles
from app.settings import ConfigError, Settings

__all__ = ["TIPG_ERRORS", "CatalogLoader", "install"]


def _check_against_tipg(settings: Settings) -> None:
    # tipg validates `limit` against its own import-time maximum before we can clamp it.
    tipg_max = tipg_features_settings.max_features_per_query
    if settings.api.max_page_size > tipg_max:
        raise ConfigError(
            f"WFS3_MAX_PAGE_SIZE ({settings.api.max_page_size}) exceeds tipg's "
            f"TIPG_MAX_FEATURES_PER_QUERY ({tipg_max}); raise that too"
        )


def install(
    app: FastAPI, settings: Settings, collection_class: type[ServedCollection] = ServedCollection
) -> CatalogLoader:
    """tipg's Features routes with our parsers, links, paging and /api on `app`; return the
    loader that fills the catalog with `collection_class` objects (the lifespan runs it)."""
    _check_against_tipg(settings)
    # tipg types the dependency as sync; FastAPI awaits an async one just the same.
    lookup = cast(Callable[..., Collection], collection_params)
    install_responses()  # before the factory registers its routes
    features = LinkCachingFactory(title=settings.api.title, collection_dependency=lookup)
    app.include_router(features.router, tags=["OGC API - Features"])
    if settings.api.tiles:
        install_tiles(app, features, lookup)
    install_parameter_parsers(app)
    install_crs(app)
    if settings.api.geojson_in_sql:
        install_cursor(app)
    install_query_checks(app, maximum=settings.api.max_page_size)
    if settings.api.geojson_in_sql:
        api = settings.api
        fast = install_fast_geojson(app, features, api.feature_links, api.number_matched)
        install_fast_lanes(app, fast, maximum=api.max_page_size)
    sizes = {"default": settings.api.default_page_size, "maximum": settings.api.max_page_size}
    install_openapi(app, **sizes)
    # Inner-most: the limit is rewritten before tipg reads the query or builds its links.
    app.add_middleware(PageLimitMiddleware, **sizes)
    # Outside it: paging and routing both see the collapsed path.
    app.add_middleware(CollapseSlashesMiddleware)
    return CatalogLoader(settings, collection_class)
