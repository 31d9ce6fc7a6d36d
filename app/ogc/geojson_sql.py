"""A page of features as GeoJSON text built by PostgreSQL: Python never decodes a coordinate.

tipg fetches each row's columns and its geometry as `json`, which asyncpg decodes into Python
objects and orjson encodes again. Here one statement returns the page as one UTF-8 text, each
feature `{"type":"Feature","id":…,"geometry":…,"properties":{…}}` written by PostgreSQL
(`ST_AsGeoJSON`, `to_json`), and how many there are; Python writes only the envelope around it.

The query reuses tipg's own building blocks, so filters, sorting, property selection and the
output CRS mean exactly what they mean in tipg's items endpoint: `cql_where` (our override
included), and the private `_from`, `_where_clause`, `_sortby`, `_select_id` and `_geom_expr`
(tests/test_tipg_hooks.py guards each). Rows come out in the inner query's ORDER BY: the outer
aggregate reads a LIMITed subquery, which PostgreSQL does not reorder (tests compare the order
with tipg's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from cql2 import Expr
from tipg.collections import PgCollection

from app.ogc.crs import quote_ident

# Not RFC 7946's business: PostGIS's default options add a `crs` member to geometries outside
# EPSG:4326; the response's Content-Crs header says the CRS (items.py).
GEOJSON_DIGITS = 9  # tipg's (ST_AsGeoJSON's default)
FEATURE_JSON = (
    """'{"type":"Feature","id":' || to_json(f.tipg_id)::text"""
    """ || ',"geometry":' || coalesce(f.tipg_geojson, 'null')"""
    """ || ',"properties":' || :properties"""
)
FLOAT_TYPES = frozenset({"float4", "float8", "real", "double precision"})
# PostgreSQL writes a whole float as `6267`, orjson (tipg) as `6267.0`: a client that guesses a
# field's type from the first page (GDAL does) would take it for an integer. Below 1e15 both
# write plain digits; at and above it both use an exponent. NaN and infinities: null, as orjson.
FLOAT_JSON = (
    "CASE WHEN {v} IS NULL OR {v} IN ('NaN', 'Infinity', '-Infinity') THEN 'null'"
    " WHEN {v} = trunc({v}) AND abs({v}) < 1e15 THEN to_json({v})::text || '.0'"
    " ELSE to_json({v})::text END"
)
# tipg's two links per feature, from three parameters: the collection's URL, and the item URL
# before and after the id. Optional in the standard; WFS3_FEATURE_LINKS.
FEATURE_LINKS_JSON = (
    """ || ',"links":[{"title":"Collection","href":' || to_json(:collection::text)::text"""
    """ || ',"rel":"collection","type":"application/json"},{"title":"Item","href":'"""
    """ || to_json(:before::text || f.tipg_id::text || :after::text)::text"""
    """ || ',"rel":"item","type":"application/geo+json"}]'"""
)


@dataclass(frozen=True)
class PageRequest:
    """What an items (or item) request selects, as tipg's `features` takes it."""

    where: Expr | None = None
    sortby: str | None = None
    properties: list[str] | None = None
    geom: str | None = None
    limit: int = 10
    offset: int = 0
    bbox_only: bool | None = None
    simplify: float | None = None
    function_parameters: dict[str, str] = field(default_factory=dict)
    cursor: dict[str, Any] | None = None  # CQL2 JSON: the rows after a keyset cursor
    # (collection URL, item URL before the id, after it): each feature's links; None: none
    feature_links: tuple[str, str, str] | None = None
    # One feature by its id, bound as a parameter (with `where` unset): every item of a
    # collection then shares one prepared statement instead of parsing a new text each time.
    key: int | str | None = None


@dataclass(frozen=True)
class ShapedPage:
    """A page request whose statement holds no value of the request but its parameters, and
    that statement (catalog.ServedCollection.shaped_statement): what a plan keeps (plans.py)."""

    page: PageRequest
    sql: str
    parameters: tuple[Any, ...]  # an item's: its key's placeholder, given per request


@dataclass(frozen=True)
class GeoJsonPage:
    returned: int
    features: bytes  # the features, comma-separated, UTF-8: what goes between `[` and `]`
    snapshot: str = ""  # the statement's pg_current_snapshot() (counting.py)
    more: bool = False  # a feature follows the page (one more row was read to know)
    id_range: tuple[Any, Any] = (None, None)  # the page's smallest and largest id (keyset.py)
    matched: int | None = None


def _inner_select(collection: PgCollection, page: PageRequest, params: list[Any]) -> str:
    """tipg's items query with the geometry left as geometry (turned into text outside)."""
    columns = [quote_ident(name) for name in collection.columns(page.properties)]
    column = collection.get_geometry_column(page.geom)
    geometry = collection._geom_expr(column, page.bbox_only, page.simplify)
    columns += [collection._select_id(), f"{geometry or 'CAST(NULL AS geometry)'} AS tipg_g"]
    return " ".join(
        [
            "SELECT " + ", ".join(columns),
            collection._from(page.function_parameters, params),
            _key_clause(collection, page.key, params)
            if page.key is not None
            else collection._where_clause(page.where),
            collection._sortby(page.sortby),
            f"LIMIT {int(page.limit) + 1} OFFSET {int(page.offset)}",  # +1: is there more?
        ]
    )


def _key_clause(collection: PgCollection, key: int | str, params: list[Any]) -> str:
    assert collection.id_column is not None  # only items of a collection with a key have one
    params.append(key)
    return f"WHERE {quote_ident(collection.id_column.name)} = ${len(params)}"


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def properties_json(collection: PgCollection, names: list[str]) -> str:
    """SQL writing `{"name": value, ...}` in tipg's column order, values as orjson would."""
    types = {column.name: column.type for column in collection.properties}
    if not names:
        return "'{}'"
    parts = []
    for index, name in enumerate(names):
        value = f"f.{quote_ident(name)}"
        json_value = (
            FLOAT_JSON.format(v=value)
            if types.get(name) in FLOAT_TYPES
            else f"coalesce(to_json({value})::text, 'null')"
        )
        key = ("{" if index == 0 else ",") + orjson.dumps(name).decode() + ":"
        parts.append(f"{_sql_literal(key)} || {json_value}")
    return "(" + " || ".join(parts) + " || '}')"


def _links_json(links: tuple[str, str, str], params: list[Any]) -> str:
    """FEATURE_LINKS_JSON with its three URLs as the statement's next parameters."""
    params += links
    sql = FEATURE_LINKS_JSON
    for number, name in enumerate((":collection", ":before", ":after"), len(params) - 2):
        sql = sql.replace(name, f"${number}")
    return sql


def page_sql(collection: PgCollection, page: PageRequest) -> tuple[str, list[Any]]:
    """The statement returning the page's number of features, their GeoJSON as UTF-8 bytes,
    the snapshot, whether more follow, and its smallest and largest id."""
    params: list[Any] = []
    inner = _inner_select(collection, page, params)
    properties = properties_json(collection, collection.columns(page.properties))
    geojson = (
        "CASE WHEN f0.tipg_g IS NULL OR ST_IsEmpty(f0.tipg_g) THEN NULL"  # RFC 7946 3.1: null
        f" ELSE ST_AsGeoJSON(f0.tipg_g, {GEOJSON_DIGITS}, 0) END"
    )
    feature = FEATURE_JSON.replace(":properties", properties)
    if page.feature_links is not None:
        feature += _links_json(page.feature_links, params)
    on_page = f"FILTER (WHERE tipg_n <= {int(page.limit)})"
    sql = (
        f"SELECT count(*) {on_page},"
        f" convert_to(coalesce(string_agg(feature, ',') {on_page}, ''), 'UTF8'),"
        f" pg_current_snapshot()::text, count(*) > {int(page.limit)},"
        f" min(tipg_id) {on_page}, max(tipg_id) {on_page}"
        f" FROM (SELECT {feature} || '}}' AS feature, f.tipg_id, f.tipg_n"
        f" FROM (SELECT *, {geojson} AS tipg_geojson, row_number() OVER () AS tipg_n"
        f" FROM ({inner}) AS f0) AS f) AS page"
    )
    return sql, params


async def read_page(conn: asyncpg.Connection, sql: str, params: list[Any]) -> GeoJsonPage:
    """Runs a page_sql statement."""
    row = await conn.fetchrow(sql, *params)
    assert row is not None  # an aggregate always returns one row
    return GeoJsonPage(
        returned=row[0], features=row[1], snapshot=row[2], more=row[3], id_range=(row[4], row[5])
    )
