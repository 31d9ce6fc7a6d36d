"""The query parameters tipg's parsers let through to a 500, parsed strictly instead: a
non-numeric bbox, a garbage datetime, an unparsable CQL2 filter, a property the table lacks.
Each mistake is a 400 that names the parameter. Plain functions of the parameter's text: the
items table (items_query.py) and the dependencies of tipg's other routes (params.py) call them.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from ciso8601 import parse_rfc3339
from cql2 import Expr
from tipg.collections import Collection

from app.errors import InvalidParameter
from app.ogc.crs import CRS84, Crs, ProjectedBox, box_corners, crs_by_uri
from app.ogc.errors import echo


def _parse_bbox_numbers(bbox: str) -> list[float]:
    try:
        numbers = [float(part) for part in bbox.split(",")]
    except ValueError:
        raise InvalidParameter(
            f"bbox must be 4 or 6 comma-separated numbers: '{echo(bbox)}'"
        ) from None
    if not all(math.isfinite(n) for n in numbers):
        raise InvalidParameter("bbox numbers must be finite")
    if len(numbers) not in (4, 6):
        raise InvalidParameter(f"bbox must have 4 or 6 numbers, not {len(numbers)}")
    return numbers


def _check_lon_lat(numbers: list[float]) -> list[float]:
    half = len(numbers) // 2
    west, south, east, north = numbers[0], numbers[1], numbers[half], numbers[half + 1]
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise InvalidParameter("bbox longitudes must be between -180 and 180")
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise InvalidParameter("bbox latitudes must be between -90 and 90")
    if south > north:
        raise InvalidParameter("bbox minimum latitude is greater than its maximum latitude")
    # west > east is a box across the antimeridian (/req/core/fc-bbox-response), which
    # ServedCollection.cql_where splits in two.
    return numbers


def _in_crs84(numbers: list[float], crs: Crs) -> list[float]:
    """A latitude-first geographic box (EPSG:4326) in CRS84's order, heights kept."""
    if not crs.latitude_first:
        return numbers
    if len(numbers) == 4:
        return [numbers[1], numbers[0], numbers[3], numbers[2]]
    return [numbers[1], numbers[0], numbers[2], numbers[4], numbers[3], numbers[5]]


# Coordinates moved between CRSs and back (by the client to make the box, by us to apply it) come
# back within about 1e-9 of their size, not exactly: a box built from an extent would lose the
# features on its edges. So a box in a projected CRS is widened by that much (millimetres).
REPROJECTION_MARGIN = 1e-9


def _projected_box(numbers: list[float], crs: Crs) -> ProjectedBox:
    minx, miny, maxx, maxy = box_corners(numbers, crs)
    if minx > maxx or miny > maxy:
        raise InvalidParameter("bbox minimum is greater than its maximum on an axis")
    margin = REPROJECTION_MARGIN * max(abs(minx), abs(miny), abs(maxx), abs(maxy), 1.0)
    return ProjectedBox((minx - margin, miny - margin, maxx + margin, maxy + margin), crs.srid)


def parse_bbox(bbox: str | None, bbox_crs: str | None) -> list[float] | None:
    """The box in CRS84 (longitude first), or a ProjectedBox for one in a projected `bbox-crs`
    (whether the collection offers that CRS is the items query's check)."""
    if bbox is None:
        return None
    numbers = _parse_bbox_numbers(bbox)
    crs = CRS84 if bbox_crs is None else crs_by_uri(bbox_crs)
    if crs is None:
        raise InvalidParameter(f"bbox-crs '{echo(bbox_crs or '')}' is not a known CRS URI")
    if crs.srid == CRS84.srid:
        return _check_lon_lat(_in_crs84(numbers, crs))
    return _projected_box(numbers, crs)


OPEN_ENDS = ("..", "")


def _parse_instant(value: str) -> datetime:
    try:
        parsed: datetime = parse_rfc3339(value)
    except ValueError:
        raise InvalidParameter(
            f"datetime '{echo(value)}' is not an RFC 3339 date-time "
            "(like 2020-08-01T00:00:00Z) or '..'"
        ) from None
    return parsed


def parse_datetime(datetime_: str | None) -> list[str] | None:
    """An instant or a closed or half-open interval, as tipg's `datetime_filter` takes it."""
    if datetime_ is None:
        return None
    parts = datetime_.split("/")
    if len(parts) == 1:
        _parse_instant(parts[0])
        return parts
    if len(parts) != 2:
        raise InvalidParameter("datetime must be an instant or one start/end interval")
    start, end = (None if p in OPEN_ENDS else _parse_instant(p) for p in parts)
    if start is None and end is None:
        raise InvalidParameter("datetime interval must have at least one closed end")
    if start is not None and end is not None:
        if start > end:
            raise InvalidParameter("datetime interval starts after it ends")
        # OGC intervals are closed, but tipg compares a closed interval's end with '<'.
        # PostgreSQL keeps microseconds, so '< end + 1µs' is exactly '<= end'.
        return [parts[0], (end + timedelta(microseconds=1)).isoformat()]
    return parts


# CQL2's own operators and functions (Basic, Advanced comparison, case/accent-insensitive,
# spatial, temporal, array, arithmetic). Any other `op` would reach PostgreSQL as a call to the
# function of that name (the cql2 library renders unknown ops so): pg_sleep, set_config, ...
CQL2_OPERATORS = frozenset(
    ["and", "or", "not", "=", "<>", "<", ">", "<=", ">=", "like", "between", "in", "isNull"]
    + ["casei", "accenti", "+", "-", "*", "/", "%", "div", "^"]
    + [f"s_{op}" for op in ("intersects", "equals", "disjoint", "touches", "within")]
    + [f"s_{op}" for op in ("overlaps", "crosses", "contains")]
    + [f"t_{op}" for op in ("after", "before", "contains", "disjoint", "during", "equals")]
    + [f"t_{op}" for op in ("finishedby", "finishes", "intersects", "meets", "metby")]
    + [f"t_{op}" for op in ("overlappedby", "overlaps", "startedby", "starts")]
    + [f"a_{op}" for op in ("equals", "contains", "containedby", "overlaps")]
)


def _names(node: Any) -> tuple[set[str], set[str]]:
    """Every `{"property": name}` and every `{"op": name}` in a cql2-json tree."""
    properties: set[str] = set()
    operators: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("property"), str):
                properties.add(item["property"])
            if isinstance(item.get("op"), str):
                operators.add(item["op"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return properties, operators


def _parse_cql2(text: str, lang: str | None) -> Expr:
    if lang == "cql2-json" and not text.lstrip().startswith("{"):
        raise InvalidParameter("filter-lang is cql2-json but the filter is not a JSON object")
    try:
        # Round-trip through cql2-json as tipg does, so geometry literals are CRS84.
        return Expr(Expr(text).to_json())
    except Exception as exc:  # cql2 raises a bare Exception for every parse error
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "parse error"
        message = f"filter is not valid {lang or 'CQL2'}: {echo(first_line)}"
        raise InvalidParameter(message) from None


# The operators whose value is true or false; the rest (arithmetic, casei, accenti) are values.
VALUE_OPERATORS = frozenset(["casei", "accenti", "+", "-", "*", "/", "%", "div", "^"])
LOGICAL_OPERATORS = frozenset(["and", "or", "not"])


def _is_condition(node: Any) -> bool:
    """Whether a cql2-json node is true or false for each feature (a predicate, a boolean
    literal, or and/or/not of conditions): `WHERE id` is a type error in PostgreSQL."""
    if isinstance(node, bool):
        return True
    if not isinstance(node, dict) or not isinstance(node.get("op"), str):
        return False
    if node["op"] in LOGICAL_OPERATORS:
        return all(_is_condition(arg) for arg in node.get("args", []))
    return node["op"] not in VALUE_OPERATORS


def parse_filter(collection: Collection, query: str | None, filter_lang: str | None) -> Expr | None:
    """A CQL2 condition of CQL2's own operators over the collection's properties."""
    if query is None:
        return None
    expr = _parse_cql2(query, filter_lang)
    tree = expr.to_json()
    if not _is_condition(tree):
        raise InvalidParameter(
            f"filter must be a condition, true or false for each feature (like id > 5): "
            f"'{echo(query)}'"
        )
    properties, operators = _names(tree)
    if not_cql2 := sorted(operators - CQL2_OPERATORS):
        raise InvalidParameter(
            f"filter uses functions this service does not offer: {echo(', '.join(not_cql2))}; "
            "CQL2's comparison, spatial, temporal and array operators are supported"
        )
    known = {p.name for p in collection.properties}
    unknown = sorted(properties - known)
    if unknown:
        raise InvalidParameter(
            f"filter uses unknown properties: {echo(', '.join(unknown))}; "
            f"see /collections/{collection.id}/queryables"
        )
    return expr


def parse_properties(collection: Collection, properties: str | None) -> list[str] | None:
    """The properties to return, each one of the collection's; [] for none."""
    if properties is None:
        return None
    names = [p.strip() for p in properties.split(",")]
    if names == [""]:
        return []
    known = {p.name for p in collection.properties}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidParameter(f"properties has unknown names: {echo(', '.join(unknown))}")
    return names


UNSORTABLE_TYPES = ("json", "jsonb", "geometry", "geography")
MAX_SORTABLES_NAMED = 20  # in one error message; /sortables lists them all


def sortable_names(collection: Collection) -> list[str]:
    """The columns `sortby` may name (and /sortables lists): scalar values that PostgreSQL
    orders meaningfully; not geometries, JSON or arrays."""
    return [
        c.name
        for c in collection.properties
        if not c.type.endswith("[]") and c.type not in UNSORTABLE_TYPES
    ]


def check_sortby(sortby: str | None, collection: Collection) -> str | None:
    """`sortby` when each of its names is sortable; a 400 naming the sortable ones if not."""
    if sortby is None:
        return None
    # tipg matches each item with a regular expression whose `.` stops at a line break, and a
    # name holding one made it fail with a 500. Names never hold control characters.
    if any(ord(char) < 32 or ord(char) == 127 for char in sortby):
        raise InvalidParameter(f"sortby holds a control character: {echo(repr(sortby))}")
    sortable = sortable_names(collection)
    named = [term.strip().lstrip("+-").strip() for term in sortby.split(",")]
    if refused := [name for name in named if name not in sortable]:
        listed = ", ".join(sortable[:MAX_SORTABLES_NAMED])
        more = " and more (see its sortables)" if len(sortable) > MAX_SORTABLES_NAMED else ""
        raise InvalidParameter(
            f"sortby: {echo(', '.join(refused))} cannot be sorted by; the sortable properties "
            f"of {echo(collection.id)} are {listed}{more}"
        )
    return sortby
