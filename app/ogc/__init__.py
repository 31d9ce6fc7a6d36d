"""The OGC API - Features layer: tipg's engine, extended from the outside, behind `install`.

tipg (developmentseed) serves the catalog, the collection model, CQL2 → SQL, the landing page,
collections, queryables, HTML, CSV and the tiles. We never fork or copy it; this package is every
place where we hook into it. Checked against tipg 1.6.1, which tests/test_tipg_hooks.py pins:
after a tipg upgrade, re-check each hook below, then move the pin.

The items and item requests have one way through the code: our two endpoints (items.py), which
read the query from one table per route (items_query.py), answer GeoJSON from PostgreSQL's text
(geojson_items.py, geojson_sql.py) and hand every other format to tipg's endpoint function. An
item in GeoJSON is answered from a plan of those same functions' results, made once per query
(plans.py).

Hooks into tipg's public API:
- `tipg.factory.OGCFeaturesFactory` is subclassed (links.py: `url_for` resolved through the app's
  router and memoised across requests, conformance and landing links of the tiles factory
  joined) and its router included, with our collection dependency (params.collection_params),
  less tipg's items and item routes, found by name ("items", "item") and taken out before the
  app includes it; ours are the app's first routes (items.py).
- tipg's items and item endpoint functions (those routes' `endpoint`) are called for the formats
  other than GeoJSON, with the keyword arguments items.tipg_items_arguments / tipg_item_arguments
  build (tests/test_tipg_hooks.py compares them with the functions' signatures).
- `tipg.dependencies`' parsers (bbox, datetime, filter, properties, sortby) are swapped for ours
  in the dependency trees of tipg's other routes (the collections list, tiles), matched by
  function identity (params.py, overrides.py); its other plain-`def` dependencies there are
  wrapped to run in the event loop. `properties_filter_query`, `function_parameters_query` and
  `accept_media_type` are called as functions (geojson_items.py, items_query.py).
- Part 2 (CRS by Reference, crs.py): `crs`/`bbox-crs` in the items table; the `crs` lists put
  into collection JSON when it is rendered (metadata.py); `conforms_to` extended (links.py).
- tipg's JSON documents are finished as they are rendered (documents.py): collections get links
  to their schemas (Part 5, schemas.py) and tilesets; tipg's tile links, which end in
  `{z}/{x}/{y}` with type MVT, are rewritten in OGC API - Tiles' form; tipg's `data` links to
  tiles leave collections; the tiles route is found by its name "collection_tileset_list"
  (tests/test_tiles_discovery.py follows every step as a client does).
- `tipg.collections.PgCollection.features(conn, **kwargs)` is overridden (catalog.py), reading
  the keyword names limit, offset, bbox_filter, datetime_filter, cql_filter, simplify and the
  ItemList keys `items`, `matched` (app/otel/collections.py too).
- `tipg.factory.OGCTilesFactory` is subclassed to declare geodata-tilesets (tiles.py), its
  `supported_tms` read for the
  tile and zoom checks; `PgCollection.get_tile(conn, **kwargs)` is overridden (catalog.py, and
  app/otel/collections.py), reading the keyword names tile, tms, simplify and ids_filter, and
  `cql_where` gets tipg's `tile`/`tms` arguments (tests/test_tiles.py, tests/test_tracing.py).
- `tipg.collections.register_collection_catalog` fills `app.state.collection_catalog`
  (catalog.py); `tipg.database.connect_to_db` opens `app.state.pool` with our asyncpg
  `connection_class`, `reset` and `server_settings` (app/db/lifespan.py).
- `tipg.factory.features_settings.max_features_per_query`: tipg's own `limit` bound, fixed at
  import (checked against ours below); `tipg.errors` mapped to statuses (errors.py).

Private APIs relied upon, each guarded by a test in tests/test_tipg_hooks.py unless named:
- `tipg.factory.ORJSONResponse` / `GeoJSONResponse` / `create_csv_rows`, the module-level names
  tipg's endpoints build their JSON and CSV responses with, are rebound to ours: `alternate`
  links, `timeStamp`, a CSV of no rows (responses.py).
- `PgCollection._geom_expr(geometry_column, bbox_only, simplify)`, where tipg builds the output
  geometry's SQL, is overridden to reproject into the requested CRS (catalog.py; the CRS is the
  collection's own, ServedCollection.in_crs, since tipg passes no request).
- `PgCollection._from`, `_where_clause`, `_sortby` and `_select_id`, tipg's query builders:
  the GeoJSON page statement (geojson_sql.py) and the count (counting.py) are made of them.
- `tipg.openapi._update_openapi(app)` serves /api with the OGC OpenAPI media type (openapi.py).
- FastAPI's dependency tree: `APIRoute.dependant`, `Dependant.dependencies/.call/.path/.name/
  .use_cache/.scope`, `fastapi.dependencies.utils.get_dependant`, and an included router's
  `effective_route_contexts()` (FastAPI >= 0.137) (overrides.py, for tipg's other routes;
  install fails at start-up if no parser was swapped, and a test checks each parser is reached).
- pydantic's `model_construct(_fields_set=..., **obj.__dict__)` to turn tipg's PgCollection into
  our subclass without validating again (catalog.served), `model_copy` sharing private
  attributes (catalog.ServedCollection.in_crs), and private values read from
  `__pydantic_private__` on the request path (catalog._private: pydantic's own read raises and
  catches an AttributeError every time).
Outside this package: asyncpg's `Connection._params/_addr` (app/otel/sql_spans.py;
tests/test_sql_spans.py); asyncpg's release without its shield, `PoolConnectionProxy._con/
_holder`, `Connection._on_release`, `PoolConnectionHolder.release/_timeout`, and `Pool._queue`'s
asyncio.Queue `_queue` (app/db/pool.py; tests/test_bounded_pool.py); asyncpg's `Pool._holders`,
`PoolConnectionHolder._con/_in_use/_deactivate_inactive_connection`, `Connection._pool_release_ctr`
(app/db/idle.py; tests/test_idle_connections.py); opentelemetry-instrumentation-fastapi's
`_original_fastapi` (app/otel/telemetry.py); `opentelemetry._logs`, `opentelemetry.sdk._logs`
(telemetry.py) and the OTLP exporters' `_log_exporter` modules (app/otel/exporters.py): the logs
API is still private in the OpenTelemetry packages we pin.
The gRPC span exporter's `_translate_data`, overridden to encode spans our way
(app/otel/span_encoding.py; tests/test_span_encoding.py). Not private, but documented as not for
users: the SDK's ReadableSpan constructor, which RecordedSpan calls to hand its processors what
the SDK's Span would (app/otel/recorded_spans.py; tests/test_recorded_spans.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from fastapi import FastAPI
from tipg.collections import Collection
from tipg.factory import features_settings as tipg_features_settings

from app.ogc import schemas
from app.ogc.catalog import CatalogLoader, ServedCollection
from app.ogc.counting import MatchedCounter
from app.ogc.errors import TIPG_ERRORS
from app.ogc.geojson_items import GeoJsonAnswers
from app.ogc.items import ItemsRoutes, install_items
from app.ogc.items_query import PageSizes
from app.ogc.links import LinkCachingFactory
from app.ogc.openapi import install_openapi
from app.ogc.params import collection_params, install_parameter_parsers
from app.ogc.responses import install_responses
from app.ogc.tiles import install_tiles
from app.settings import ConfigError, Settings

__all__ = ["TIPG_ERRORS", "CatalogLoader", "install"]


def _check_against_tipg(settings: Settings) -> None:
    # tipg's `features` (which answers the other formats) refuses a limit above its own
    # import-time maximum.
    tipg_max = tipg_features_settings.max_features_per_query
    if settings.api.max_page_size > tipg_max:
        raise ConfigError(
            f"WFS3_MAX_PAGE_SIZE ({settings.api.max_page_size}) exceeds tipg's "
            f"TIPG_MAX_FEATURES_PER_QUERY ({tipg_max}); raise that too"
        )


def _geojson_answers(settings: Settings, factory: LinkCachingFactory) -> GeoJsonAnswers | None:
    api = settings.api
    if not api.geojson_in_sql:
        return None
    return GeoJsonAnswers(factory, api.feature_links, MatchedCounter(api.number_matched))


@dataclass(frozen=True)
class Installed:
    loader: CatalogLoader  # fills the catalog (the lifespan runs it)
    first_routes: ItemsRoutes  # what the edge (app/edge.py) tries before the app's stack


def install(
    app: FastAPI, settings: Settings, collection_class: type[ServedCollection] = ServedCollection
) -> Installed:
    """tipg's Features routes with our items endpoints, parsers, links and /api on `app`; return
    the loader that fills the catalog with `collection_class` objects, and the items routes."""
    _check_against_tipg(settings)
    # tipg types the dependency as sync; FastAPI awaits an async one just the same.
    lookup = cast(Callable[..., Collection], collection_params)
    install_responses()  # before the factory registers its routes
    features = LinkCachingFactory(title=settings.api.title, collection_dependency=lookup)
    sizes = PageSizes(settings.api.default_page_size, settings.api.max_page_size)
    items = install_items(app, features.router, sizes, _geojson_answers(settings, features))
    app.include_router(features.router, tags=["OGC API - Features"])
    app.include_router(schemas.router)  # Part 5: a collection's schema and sortables
    if settings.api.tiles:
        install_tiles(app, features, lookup)
    install_parameter_parsers(app)
    install_openapi(app, items.described)
    return Installed(CatalogLoader(settings, collection_class), items.routes)
