"""The collection catalog: tipg's PgCollection, with what its `features` returns made valid
GeoJSON, loaded from the database by tipg's own catalog queries.

tipg's items and item endpoints call `collection.features(conn, ...)` on the object our collection
dependency returns. The catalog holds ServedCollection objects instead of tipg's PgCollection:
the same data, with empty geometries answered as `null` (simplification can reduce a small
feature to nothing, and `{"type": "LineString", "coordinates": []}` breaks the GeoJSON schema
/api publishes; RFC 7946 3.1 lets readers take an empty geometry as null, so we say null).
Telemetry hands in a subclass that also tells the span and the metrics (app/otel/collections.py).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import replace
from typing import Any

import asyncpg
from cql2 import Expr
from fastapi import FastAPI
from pydantic import BaseModel, PrivateAttr
from starlette.types import Scope
from tipg.collections import (
    Collection,
    Column,
    ItemList,
    PgCollection,
    register_collection_catalog,
)
from tipg.errors import InvalidGeometryColumnName
from tipg.settings import DatabaseSettings as TipgCatalogSettings

from app.errors import InvalidParameter, NotFound
from app.memo import remembered
from app.ogc.counting import MatchedCounter
from app.ogc.crs import (
    CRS84,
    Crs,
    ProjectedBox,
    axis_order_sql,
    box_corners,
    box_outline,
    quote_ident,
    transformed_sql,
)
from app.ogc.geojson_sql import GeoJsonPage, PageRequest, ShapedPage, page_sql, read_page
from app.settings import Settings

# Span attribute names: stable, documented in docs/telemetry.md (dashboards, X-Ray annotations).
COLLECTION_ID = "ogc.collection.id"


def _empty_geometries_as_null(items: ItemList) -> None:
    for feature in items["items"]:
        geometry = feature.get("geometry")
        if isinstance(geometry, dict) and geometry.get("coordinates") == []:
            feature["geometry"] = None


def check_simplify(tolerance: float | None) -> None:
    # tipg takes `simplify` straight into ST_SimplifyPreserveTopology, which fails on a
    # negative or non-finite tolerance (a 500 before this check).
    if tolerance is not None and not (math.isfinite(tolerance) and tolerance >= 0):
        raise InvalidParameter(f"simplify must be a finite number >= 0, not {tolerance}")


STATEMENTS = 64  # statement shapes kept per collection (properties, crs, limit, ...)
INT64 = range(-(2**63), 2**63)
INTEGER_TYPES = frozenset({"smallint", "integer", "bigint", "smallserial", "serial", "bigserial"})


def int64_id(value: str) -> int | None:
    """An id for an integer key as tipg parses one (`int()`), or None when it is not a number
    or lies past int64, which cql2 cannot hold (a 500): no row can have such an id."""
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number in INT64 else None


def _check_ids(ids: list[str] | None, id_type: str | None) -> None:
    # tipg turns each id into an int for an integer key, and cql2 cannot hold one past int64
    # (a 500). No row can have such an id: answer as tipg does for a non-number id.
    if not ids or id_type not in INTEGER_TYPES:
        return
    for value in ids:
        try:
            number = int(value)
        except ValueError:
            continue  # tipg's own 404
        if number not in INT64:
            raise NotFound(f"Invalid id {value!r} for {id_type} column.")


def split_at_antimeridian(bbox: list[float] | None) -> list[list[float]] | None:
    """A bbox whose west edge is east of its east edge crosses the antimeridian (OGC API -
    Features 1, /req/core/fc-bbox-response): its two halves, heights dropped; else None."""
    if not bbox or len(bbox) not in (4, 6):
        return None
    half = len(bbox) // 2
    west, south, east, north = bbox[0], bbox[1], bbox[half], bbox[half + 1]
    if west <= east:
        return None
    return [[west, south, 180.0, north], [-180.0, south, east, north]]


def _intersects_any(column: str, outlines: list[dict[str, Any]]) -> dict[str, Any]:
    conditions = [{"op": "s_intersects", "args": [{"property": column}, o]} for o in outlines]
    return conditions[0] if len(conditions) == 1 else {"op": "or", "args": conditions}


def _box_outlines(bbox: list[float]) -> list[dict[str, Any]]:
    """The bbox (CRS84, or a ProjectedBox) as polygons in CRS84 with dense edges."""
    if isinstance(bbox, ProjectedBox):
        return [box_outline((bbox[0], bbox[1], bbox[2], bbox[3]), bbox.srid)]
    halves = split_at_antimeridian(bbox) or [bbox]
    return [box_outline(box_corners(box, CRS84), CRS84.srid) for box in halves]


def _tile_outline(tile: Any, tms: Any, column: Column) -> dict[str, Any] | None:
    """The tile as a CRS84 polygon of dense edges, where tipg would filter on the envelope of
    its corners in the column's CRS (a column in neither CRS84 nor the matrix set's CRS)."""
    if tile is None or tms is None or column.srid == CRS84.srid:
        return None
    tms_srid = tms.crs.to_epsg()
    if tms_srid is None or tms_srid == column.srid:
        return None
    bounds = tms.xy_bounds(tile)
    return box_outline((bounds.left, bounds.bottom, bounds.right, bounds.top), tms_srid)


def _and(where: Expr | None, condition: dict[str, Any] | None) -> Expr | None:
    if condition is None:
        return where
    return Expr(condition if where is None else {"op": "and", "args": [where.to_json(), condition]})


def filtering(filters: dict[str, Any]) -> bool:
    """Whether cql_where would write a condition for these arguments: tipg's (and ours) writes
    none without a filter, ids, properties, bbox or datetime (geom and dt only name columns)."""
    given = [filters.get(name) for name in ("ids", "properties", "datetime")]
    return filters.get("cql") is not None or filters.get("bbox") is not None or any(given)


def _private(model: BaseModel, name: str) -> Any:
    """A private attribute's value, read where pydantic keeps it: `model._name` goes through
    pydantic's __getattr__, which first asks the attribute's declaration for a descriptor (an
    AttributeError raised and caught), ~2 us a read in a tight loop and several reads in a
    request (`python -m bench.inprocess`). `__pydantic_private__` is pydantic's documented store
    of an instance's private values; tests/test_tipg_hooks.py holds the two reads equal."""
    return model.__pydantic_private__[name]  # type: ignore[index]


class ServedCollection(PgCollection):
    # Statements by what shapes them (shaped_statement): the same text for every id or page.
    _statements: dict[Hashable, str] = PrivateAttr(default_factory=dict)
    # The CRS its features are read in (in_crs): tipg builds the geometry's SQL (_geom_expr)
    # from the collection alone, with no request to ask.
    _output_crs: Crs = PrivateAttr(default=CRS84)
    _geometry_columns: list[Column] | None = PrivateAttr(default=None)
    # Items and item queries read before (items_query.read_remembered), by their text.
    _queries: dict[Hashable, Any] = PrivateAttr(default_factory=dict)

    @property
    def queries(self) -> dict[Hashable, Any]:
        return _private(self, "_queries")  # type: ignore[no-any-return]

    @property
    def geometry_columns(self) -> list[Column]:
        """tipg's list, made once: the columns do not change once the catalog is loaded, and
        tipg asks for it several times per request (get_geometry_column)."""
        columns: list[Column] | None = _private(self, "_geometry_columns")
        if columns is None:
            columns = self._geometry_columns = [c for c in self.table_columns if c.is_geometry]
        return columns

    def in_crs(self, crs: Crs) -> ServedCollection:
        """This collection with its features read in `crs`: itself for CRS84, else a shallow
        copy (the same columns, the same statement memo)."""
        if crs == _private(self, "_output_crs"):
            return self
        copy = self.model_copy()
        copy._output_crs = crs
        return copy

    def cql_where(  # tipg's signature; it passes every argument by keyword
        self,
        ids: Any = None,
        datetime: Any = None,
        bbox: list[float] | None = None,
        properties: Any = None,
        cql: Any = None,
        geom: str | None = None,
        dt: str | None = None,
        tile: Any = None,
        tms: Any = None,
    ) -> Expr | None:
        """tipg's WHERE expression, with the bbox as a polygon of dense edges wherever tipg's
        own box would be wrong: across the antimeridian, given in a projected CRS (bbox-crs),
        or against a column in a projected CRS (tipg filters there on the box's envelope in
        that CRS, which holds features outside the box). The same for a tile (tiles.py)."""
        column = self.get_geometry_column(geom)
        if column is not None and (outline := _tile_outline(tile, tms, column)) is not None:
            cql, tile, tms = _and(cql, _intersects_any(column.name, [outline])), None, None
        filters = {"ids": ids, "datetime": datetime, "properties": properties}
        filters |= {"geom": geom, "dt": dt, "tile": tile, "tms": tms}
        plain = not isinstance(bbox, ProjectedBox) and split_at_antimeridian(bbox) is None
        if bbox is None or column is None or (plain and column.srid == CRS84.srid):
            return super().cql_where(bbox=bbox, cql=cql, **filters)
        within = _intersects_any(column.name, _box_outlines(bbox))
        return super().cql_where(cql=_and(cql, within), **filters)

    def _geom_expr(
        self, geometry_column: Column | None, bbox_only: bool | None, simplify: float | None
    ) -> str | None:
        """tipg's geometry SQL (private: tests/test_tipg_hooks.py), in the CRS the request asked
        for (in_crs) instead of tipg's fixed EPSG:4326; simplification in its units."""
        if geometry_column is None:
            return None
        target: Crs = _private(self, "_output_crs")
        column = f"CAST({quote_ident(geometry_column.name)} AS geometry)"
        geometry = transformed_sql(column, geometry_column.srid, target)
        if bbox_only:
            geometry = f"ST_Envelope({geometry})"
        elif simplify:
            tol = float(simplify)
            geometry = f"ST_SnapToGrid(ST_SimplifyPreserveTopology({geometry}, {tol}), {tol})"
        return axis_order_sql(geometry, target)

    async def geojson_page(
        self,
        conn: asyncpg.Connection,
        page: PageRequest,
        filters: dict[str, Any],
        counter: MatchedCounter | None,
    ) -> GeoJsonPage:
        """The page as GeoJSON text from PostgreSQL (geojson_sql.py), with the same checks and
        filters as `features`; `filters` are cql_where's arguments. With a `counter`,
        numberMatched as it counts (counting.py)."""
        self.check_page(page, filters.get("ids"))
        # An item read by its key parameter (PageRequest.key) has no other condition.
        where = self.cql_where(**filters) if page.key is None and filtering(filters) else None
        if where is not None or page.cursor is not None:
            page = replace(page, where=_and(where, page.cursor))
        sql, params = self.shaped_statement(page) or page_sql(self, page)
        functions = page.function_parameters
        return await self._read_counted(conn, (sql, params), where, functions, counter)

    async def planned_page(
        self,
        conn: asyncpg.Connection,
        shaped: ShapedPage,
        parameters: Sequence[Any],
        counter: MatchedCounter | None,
    ) -> GeoJsonPage:
        """The page of a plan (plans.py), read with `parameters`; with a `counter`, numberMatched
        as geojson_page counts it (a shaped page has no filter)."""
        statement = (shaped.sql, list(parameters))
        return await self._read_counted(conn, statement, None, {}, counter)

    async def _read_counted(
        self,
        conn: asyncpg.Connection,
        statement: tuple[str, list[Any]],
        where: Expr | None,
        functions: dict[str, str],
        counter: MatchedCounter | None,
    ) -> GeoJsonPage:
        """The page `statement` reads; with a `counter`, numberMatched of `where` (counting.py)."""
        result = await read_page(conn, *statement)
        if counter is None:
            return result
        matched = await counter.matched(self, conn, where, functions, result.snapshot)
        return replace(result, matched=matched)

    def shaped(self, page: PageRequest) -> ShapedPage | None:
        """The page and its statement, for a page shaped_statement makes one for."""
        self.check_page(page, None)
        found = self.shaped_statement(page)
        return None if found is None else ShapedPage(page, found[0], tuple(found[1]))

    def check_page(self, page: PageRequest, ids: list[str] | None) -> None:
        """What would make the page's statement fail, answered as a 400 or 404."""
        self._check_arguments(page.simplify, ids)
        if page.geom and page.geom.lower() != "none" and not self.get_geometry_column(page.geom):
            raise InvalidGeometryColumnName(f"Invalid Geometry Column: {page.geom}.")

    def shaped_statement(self, page: PageRequest) -> tuple[str, list[Any]] | None:
        """page_sql for a page whose statement holds no value of the request: a page of a plain
        items request (no filter, no cursor), or an item read by its key. Its text depends on
        the page's shape only, so it is built once per collection and shape: building it is
        most of the Python such a request costs. None for any other page."""
        if page.where is not None or page.function_parameters:
            return None
        properties = None if page.properties is None else tuple(page.properties)
        shape = (
            *(page.key is not None, page.feature_links is not None, properties, page.geom),
            *(page.bbox_only, page.simplify, page.sortby, page.limit, page.offset),
            _private(self, "_output_crs"),
        )
        params = [] if page.key is None else [page.key]
        params += page.feature_links or ()

        def build() -> str:
            sql, built = page_sql(self, page)
            assert built == params, "a shaped statement's parameters are its key and links"
            return sql

        return remembered(_private(self, "_statements"), shape, build, STATEMENTS), params

    def _check_arguments(self, simplify: float | None, ids: list[str] | None) -> None:
        """What tipg would turn into a 500 (see check_simplify, _check_ids): a 400 or 404."""
        check_simplify(simplify)
        _check_ids(ids, self.id_column.type if self.id_column else None)

    async def get_tile(self, conn: asyncpg.Connection, **kwargs: Any) -> bytes:
        self._check_arguments(kwargs.get("simplify"), kwargs.get("ids_filter"))
        tile: bytes = await super().get_tile(conn, **kwargs)
        return tile

    async def features(self, conn: asyncpg.Connection, **kwargs: Any) -> ItemList:
        self._check_arguments(kwargs.get("simplify"), kwargs.get("ids_filter"))
        items = await super().features(conn, **kwargs)
        _empty_geometries_as_null(items)
        return items


def served(
    collections: dict[str, Collection], kind: type[ServedCollection]
) -> dict[str, Collection]:
    """The catalog's collections, each PgCollection turned into `kind`.

    A collection without a title gets its id as title: tipg titles it by id in /collections but
    leaves /collections/{id} untitled, and /req/collections/src-md-success wants the two to agree.

    Private: `model_construct(**c.__dict__)` copies a pydantic model's fields into a subclass
    without validating them again; tests/test_tipg_hooks.py checks that it keeps every field."""
    return {
        key: kind.model_construct(
            _fields_set=c.model_fields_set | {"title"}, **{**c.__dict__, "title": c.title or c.id}
        )
        if type(c) is PgCollection
        else c
        for key, c in collections.items()
    }


def catalog_settings(settings: Settings) -> TipgCatalogSettings:
    # Publish tables and views only: functions in these schemas (PostGIS's own st_* functions
    # live in public) would otherwise be listed as collections.
    return TipgCatalogSettings(
        _env_file=None,
        schemas=settings.pool.schemas,
        exclude_function_schemas=[*settings.pool.schemas, "pg_temp"],
    )


class CatalogLoader:
    """Reads the published tables with tipg's catalog queries into `app.state`."""

    def __init__(self, settings: Settings, kind: type[ServedCollection]) -> None:
        self.settings = catalog_settings(settings)
        self.kind = kind

    async def __call__(self, app: FastAPI) -> int:
        """(Re)load the catalog from `app.state.pool`; return how many collections it has."""
        await register_collection_catalog(app, db_settings=self.settings)
        catalog = app.state.collection_catalog
        catalog["collections"] = served(catalog["collections"], self.kind)
        return len(catalog["collections"])


def served_collection_id(scope: Scope) -> str | None:
    """The collection a request is about, when the catalog holds it: what its span is tagged
    with at its end (app/otel/observer.py), so an unsampled request pays nothing for it."""
    collection_id: str | None = scope.get("path_params", {}).get("collectionId")
    app = scope.get("app")
    catalog = getattr(app.state, "collection_catalog", None) if app is not None else None
    return collection_id if catalog and collection_id in catalog["collections"] else None
