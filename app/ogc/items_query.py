"""What an items or item request asks for, read from its query in one place.

Each route has one table of its query parameters (ITEMS, ITEM): a parameter's name, how its text
becomes a value or a 400 that names it, and its OpenAPI definition. `read_items_query` and
`read_item_query` turn a request's query into one immutable value (ItemsQuery, ItemQuery); the
refusals that concern the query as a whole (a name no table declares, a NUL character) and
the routes' parameters in /api are derived from the same tables. That is
pg_featureserv's `parseRequestParams`, in our style: nothing else reads the query.

Besides the table, an items query may filter by `property=value` (tipg's
`properties_filter_query`) for the collection's lower-case property names
(collection_paths.filterable_properties); /api lists those per collection.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from cql2 import Expr
from starlette.datastructures import QueryParams
from tipg.collections import Collection
from tipg.dependencies import ItemsResponseType, accept_media_type
from tipg.resources.enums import MediaType

from app.errors import InvalidParameter
from app.memo import remembered
from app.ogc.catalog import ServedCollection, check_simplify
from app.ogc.collection_paths import filterable_properties
from app.ogc.crs import CRS84, Crs, choose_crs, offered_crs
from app.ogc.errors import echo
from app.ogc.parsers import check_sortby, parse_bbox, parse_datetime, parse_filter, parse_properties

CURSOR = "after"  # keyset.py: the id a page starts after
FORMATS: tuple[str, ...] = ItemsResponseType.__args__  # type: ignore[attr-defined]
MEDIA_TYPES = [MediaType[name] for name in FORMATS]
FILTER_LANGS = ("cql2-text", "cql2-json")
TRUE, FALSE = {"true", "1", "yes", "on", "t", "y"}, {"false", "0", "no", "off", "f", "n"}
MAX_NAMED = 5  # unknown parameters named in one error message
QUERIES = 256  # queries remembered per collection (read_remembered)


@dataclass(frozen=True)
class PageSizes:
    default: int
    maximum: int


@dataclass(frozen=True)
class Given:
    """A request's query as single values, and what reading it depends on."""

    values: Mapping[str, str]
    collection: Collection
    accept: str | None
    sizes: PageSizes
    offered: list[Crs]  # the CRSs the collection's features can be read in (crs.offered_crs)

    def get(self, name: str) -> str | None:
        return self.values.get(name)


@dataclass(frozen=True)
class Parameter:
    """One query parameter: `read` turns the request's text (via Given) into the value of the
    query's field `field`, or raises InvalidParameter naming it."""

    name: str
    field: str | None  # None: read as part of another parameter (filter-lang, by filter)
    read: Callable[[Given], Any]
    schema: dict[str, Any]
    description: str

    def openapi(self) -> dict[str, Any]:
        """The parameter's OpenAPI 3.0 object (form style, not exploded, as OGC's fragments)."""
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "description": self.description,
            "schema": self.schema,
        }


@dataclass(frozen=True)
class ItemQuery:
    """What an item request asks for."""

    properties: list[str] | None
    geom_column: str | None
    datetime_column: str | None
    bbox_only: bool | None
    simplify: float | None
    output: MediaType
    crs: Crs
    content_crs: Crs | None  # `crs`, for a collection with geometries; else None (no header)


@dataclass(frozen=True)
class ItemsQuery(ItemQuery):
    """What an items request asks for."""

    ids: list[str] | None
    bbox: list[float] | None
    bbox_crs: Crs
    datetime: list[str] | None
    filter: Expr | None
    sortby: str | None
    limit: int
    offset: int | None
    after: str | None
    property_filters: list[tuple[str, str]]  # `name=value` for filterable properties


def _whole_number(name: str, text: str, low: int) -> int:
    number = text.strip()
    if not (number.isascii() and number.lstrip("+").isdigit()) or int(number) < low:
        raise InvalidParameter(f"{name} must be a whole number of at least {low}: '{echo(text)}'")
    return int(number)


def _limit(given: Given) -> int:
    text = given.get("limit")
    if text is None:
        return given.sizes.default
    limit = _whole_number("limit", text, 1)
    # OGC recommends serving a limit above the maximum as the maximum, not refusing it.
    return min(limit, given.sizes.maximum)


def _offset(given: Given) -> int | None:
    text = given.get("offset")
    return None if text is None else _whole_number("offset", text, 0)


def _boolean(name: str) -> Callable[[Given], bool | None]:
    def read(given: Given) -> bool | None:
        text = given.get(name)
        if text is None or text.lower() in FALSE:
            return None if text is None else False
        if text.lower() in TRUE:
            return True
        raise InvalidParameter(f"{name} must be true or false: '{echo(text)}'")

    return read


def _simplify(given: Given) -> float | None:
    text = given.get("simplify")
    if text is None:
        return None
    try:
        tolerance = float(text)
    except ValueError:
        raise InvalidParameter(
            f"simplify must be a finite number >= 0, not '{echo(text)}'"
        ) from None
    check_simplify(tolerance)
    return tolerance


def _output(given: Given) -> MediaType:
    """`f` when given, else the Accept header's choice among the formats, else GeoJSON."""
    name = given.get("f")
    if name is not None:
        if name not in FORMATS:
            raise InvalidParameter(f"f must be one of {', '.join(FORMATS)}: '{echo(name)}'")
        return MediaType[name]
    chosen = accept_media_type(given.accept, MEDIA_TYPES) if given.accept else None
    return chosen or MediaType.geojson


def _offered(name: str, given: Given) -> Crs:
    """The collection's CRS named by parameter `name` (CRS84 when absent), else a 400 listing
    the ones it offers."""
    value = given.get(name)
    offered = given.offered
    chosen = CRS84 if value is None else choose_crs(value, offered)
    if chosen is None:
        listed = ", ".join(c.uri for c in offered) or "none: it has no geometry"
        raise InvalidParameter(
            f"{name} '{echo(value or '')}' is not offered for {given.collection.id}; "
            f"it offers: {listed}"
        )
    return chosen


def _filter_lang(given: Given) -> str | None:
    lang = given.get("filter-lang")
    if lang is not None and lang not in FILTER_LANGS:
        raise InvalidParameter(
            f"filter-lang must be one of {', '.join(FILTER_LANGS)}: '{echo(lang)}'"
        )
    return lang


def _after(given: Given) -> str | None:
    after = given.get(CURSOR)
    if after == "":
        raise InvalidParameter(f"{CURSOR} must be an id of this collection, not empty")
    return after


def _check_cursor(fields: dict[str, Any]) -> None:
    """What `after` cannot be combined with (the fields as read)."""
    if fields["after"] is None:
        return
    if fields["output"] is not MediaType.geojson:
        raise InvalidParameter(f"{CURSOR} pages GeoJSON items only; other formats page by offset")
    if fields["offset"]:
        raise InvalidParameter(f"{CURSOR} and offset cannot be combined: a page starts at one")


def _text(name: str) -> Callable[[Given], str | None]:
    return lambda given: given.get(name)


STRING = {"type": "string"}
URI = {"type": "string", "format": "uri"}  # Part 2's crs and bbox-crs fragments


def _shared() -> list[Parameter]:
    """The parameters of both routes, in the order they are read."""
    return [
        Parameter(
            "properties",
            "properties",
            lambda given: parse_properties(given.collection, given.get("properties")),
            STRING,
            "Comma-separated properties to return; empty for none.",
        ),
        Parameter(
            "geom-column", "geom_column", _text("geom-column"), STRING, "Select geometry column."
        ),
        Parameter(
            "datetime-column",
            "datetime_column",
            _text("datetime-column"),
            STRING,
            "Select datetime column.",
        ),
        Parameter(
            "bbox-only",
            "bbox_only",
            _boolean("bbox-only"),
            {"type": "boolean"},
            "Only return the bounding box of the feature.",
        ),
        Parameter(
            "simplify",
            "simplify",
            _simplify,
            {"type": "number", "minimum": 0},
            "Simplify the output geometry to this tolerance, in the output CRS's units.",
        ),
        Parameter(
            "f",
            "output",
            _output,
            {"type": "string", "enum": list(FORMATS)},
            "Response format; when absent, the Accept header's choice, else GeoJSON.",
        ),
        Parameter(
            "crs",
            "crs",
            lambda given: _offered("crs", given),
            URI,
            "CRS of the returned geometries, one of the collection's `crs` list (URI).",
        ),
    ]


ITEM = tuple(_shared())


def _items() -> list[Parameter]:
    """/req/core/fc-limit-definition, fc-bbox-definition, fc-time-definition (Part 1) and Part 2's
    crs and bbox-crs, as their OpenAPI fragments define them (limit's bounds: documented())."""
    bbox = {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}
    return [
        Parameter(
            "ids",
            "ids",
            lambda given: given.get("ids").split(",") if given.get("ids") else None,  # type: ignore[union-attr]
            STRING,
            "Comma-separated ids of the features to return.",
        ),
        Parameter(
            "bbox",
            "bbox",
            lambda given: parse_bbox(given.get("bbox"), given.get("bbox-crs")),
            bbox,
            "minLon,minLat,maxLon,maxLat (CRS84, or in bbox-crs), optionally with heights.",
        ),
        Parameter(
            "bbox-crs",
            "bbox_crs",
            lambda given: _offered("bbox-crs", given),
            URI,
            "CRS of `bbox`, one of the collection's `crs` list (default CRS84).",
        ),
        Parameter(
            "datetime",
            "datetime",
            lambda given: parse_datetime(given.get("datetime")),
            STRING,
            "An instant, or an interval start/end where either end may be '..'.",
        ),
        Parameter(
            "filter",
            "filter",
            lambda given: parse_filter(given.collection, given.get("filter"), _filter_lang(given)),
            STRING,
            "A CQL2 filter on the collection's queryables.",
        ),
        Parameter(
            "filter-lang",
            None,
            _filter_lang,
            {"type": "string", "enum": list(FILTER_LANGS), "default": FILTER_LANGS[0]},
            "The language of `filter`.",
        ),
        Parameter(
            "sortby",
            "sortby",
            lambda given: check_sortby(given.get("sortby"), given.collection),
            STRING,
            "Comma-separated sortable properties (the collection's sortables), each optionally "
            "prefixed + (ascending, the default) or - (descending).",
        ),
        *_shared(),
        Parameter(
            "limit",
            "limit",
            _limit,
            {"type": "integer", "minimum": 1},
            "The most features to return.",
        ),
        Parameter(
            "offset", "offset", _offset, {"type": "integer", "minimum": 0}, "Features to skip."
        ),
        Parameter(
            CURSOR,
            "after",
            _after,
            STRING,
            "Paging cursor: the id the page starts after (next links write it).",
        ),
    ]


ITEMS = tuple(_items())
ITEMS_NAMES, ITEM_NAMES = (frozenset(p.name for p in table) for table in (ITEMS, ITEM))


def openapi_parameters(table: tuple[Parameter, ...], sizes: PageSizes) -> list[dict[str, Any]]:
    """The table's parameters for /api; `limit` with this service's page sizes."""
    documented = [parameter.openapi() for parameter in table]
    for parameter in documented:
        if parameter["name"] == "limit":
            bounds = {"maximum": sizes.maximum, "default": sizes.default}
            parameter["schema"] = {**parameter["schema"], **bounds}
    return documented


def _single_values(query_string: bytes) -> dict[str, str]:
    """The query as {name: value}, a repeated name with its last value (as starlette and
    FastAPI read it: tipg's HTML pages link their JSON form by appending `f=geojson` to a query
    that holds `f=html`); a 400 for a NUL character, which PostgreSQL text cannot hold."""
    pairs = QueryParams(query_string).multi_items()
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise InvalidParameter(f"Query parameter '{echo(name)}' holds a NUL character")
    return dict(pairs)


def _refuse_unknown(values: Mapping[str, str], declared: frozenset[str], filters: set[str]) -> None:
    """/req/core/query-param-unknown: tipg ignores a name it does not know, so a misspelt filter
    would return everything."""
    if values.keys() <= declared:
        return
    unknown = sorted(name for name in values if name not in declared and name not in filters)
    if unknown:
        named = ", ".join(f"'{echo(name)}'" for name in unknown[:MAX_NAMED])
        also = (
            ", and property=value for the collection's lower-case property names (its items "
            "path in /api lists them; any property can be used in a CQL2 filter)"
            if filters
            else ""
        )
        raise InvalidParameter(
            f"Unknown query parameter(s): {named}. This operation accepts "
            f"{', '.join(sorted(declared))}{also}."
        )


def _read(
    table: tuple[Parameter, ...], names: frozenset[str], given: Given, filters: set[str]
) -> dict[str, Any]:
    _refuse_unknown(given.values, names, filters)
    return {p.field: p.read(given) for p in table if p.field is not None}


def read_items_query(
    query_string: bytes, accept: str | None, collection: Collection, sizes: PageSizes
) -> ItemsQuery:
    """An items request's query as one value, or the 400 for its first mistake."""
    values = _single_values(query_string)
    given = Given(values, collection, accept, sizes, offered_crs(collection))
    filters = filterable_properties(collection) - ITEMS_NAMES if values else set()
    fields = _read(ITEMS, ITEMS_NAMES, given, filters)
    _check_cursor(fields)
    property_filters = [(name, value) for name, value in values.items() if name in filters]
    content_crs = fields["crs"] if given.offered else None
    return ItemsQuery(**fields, content_crs=content_crs, property_filters=property_filters)


def read_item_query(
    query_string: bytes, accept: str | None, collection: Collection, sizes: PageSizes
) -> ItemQuery:
    given = Given(_single_values(query_string), collection, accept, sizes, offered_crs(collection))
    fields = _read(ITEM, ITEM_NAMES, given, set())
    return ItemQuery(**fields, content_crs=fields["crs"] if given.offered else None)


Reader = Callable[[bytes, str | None, Collection, PageSizes], ItemsQuery | ItemQuery]


def read_remembered(
    read: Reader, query_string: bytes, accept: str | None, collection: Collection, sizes: PageSizes
) -> Any:
    """`read`'s value for a query the collection has been asked before: reading is pure (the
    query text, the Accept header, the collection, the page sizes), its values are frozen, and
    clients repeat the same few queries, so each is read once per catalog load. A refused
    query raises each time (nothing is kept for it)."""
    if not isinstance(collection, ServedCollection):
        return read(query_string, accept, collection, sizes)
    key: Hashable = (read, query_string, accept, sizes)
    compute = lambda: read(query_string, accept, collection, sizes)  # noqa: E731
    return remembered(collection.queries, key, compute, QUERIES)
