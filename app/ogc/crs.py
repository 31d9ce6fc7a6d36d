"""Coordinate reference systems a collection is offered in (OGC API - Features Part 2, CRS by
Reference): which ones, how a client names them, and the SQL and boxes that use them.

Every spatial collection is offered in CRS84 (the default, longitude first), EPSG:4326
(the same datum, latitude first), EPSG:3857 (web maps) and its storage CRS. Axis order is the
CRS's own (/req/crs/crs-action): EPSG:4326 output and `bbox-crs` boxes are latitude first.
Reprojection happens in PostGIS (`ST_Transform`); boxes given in another CRS become a polygon in
CRS84 with dense edges, so a box that is straight in a projected CRS stays (almost exactly) that
box once PostGIS moves it into the column's CRS.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyproj import CRS as ProjCrs
from pyproj import Transformer
from pyproj.exceptions import CRSError
from tipg.collections import Collection

from app.errors import InvalidParameter

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_PREFIX = "http://www.opengis.net/def/crs/EPSG/0/"
CONFORMANCE_CLASS = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"
WEB_MERCATOR = 3857
EDGE_POINTS = 64  # per edge of a box reprojected to CRS84: corners alone would cut its curves


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int  # the PostGIS SRID coordinates in this CRS are computed in
    latitude_first: bool  # first axis points north: PostGIS (x = east) must swap the axes

    @property
    def is_default(self) -> bool:
        return self.uri == CRS84_URI


CRS84 = Crs(CRS84_URI, 4326, latitude_first=False)


@functools.cache
def epsg(code: int) -> Crs:
    """EPSG:`code`, its axis order from the EPSG registry (pyproj's copy of it)."""
    first_axis = ProjCrs.from_epsg(code).axis_info[0].direction
    return Crs(f"{EPSG_PREFIX}{code}", code, latitude_first=first_axis in ("north", "south"))


def storage_crs(collection: Collection) -> Crs | None:
    """The CRS of the collection's (default) geometry column; None without one.

    PostGIS keeps SRID 4326 as longitude, latitude: that is CRS84's axis order, so a 4326 column
    is stored in CRS84, not in (latitude-first) EPSG:4326."""
    column = collection.get_geometry_column()
    if column is None or not column.srid or column.srid <= 0:
        return None
    return CRS84 if column.srid == 4326 else epsg(column.srid)


def offered_crs(collection: Collection) -> list[Crs]:
    """The CRSs a collection's features can be requested in, the default first; none when the
    collection has no geometry (or a column with an unknown SRID, which PostGIS cannot move)."""
    stored = storage_crs(collection)
    if stored is None:
        return []
    offered = [CRS84, epsg(4326), epsg(WEB_MERCATOR)]
    return offered if stored in offered else [*offered, stored]


def crs_metadata(collection: Collection) -> dict[str, Any]:
    """`crs` and `storageCrs` for the collection's description (/req/crs/fc-md-crs-list,
    /req/crs/fc-md-storageCrs); nothing for a collection without geometry."""
    stored = storage_crs(collection)
    if stored is None:
        return {}
    return {"crs": [c.uri for c in offered_crs(collection)], "storageCrs": stored.uri}


def choose_crs(value: str | None, offered: Sequence[Crs]) -> Crs | None:
    """The offered CRS named by `value` (CRS84 when None); None when it is not offered."""
    if value is None:
        return CRS84
    return next((crs for crs in offered if crs.uri == value.strip()), None)


def crs_by_uri(value: str) -> Crs | None:
    """Any EPSG CRS (or CRS84) by its OGC URI, whether or not a collection offers it."""
    if value.strip() == CRS84_URI:
        return CRS84
    code = value.strip().removeprefix(EPSG_PREFIX)
    if code == value.strip() or not code.isdigit():
        return None
    try:
        return epsg(int(code))
    except CRSError:
        return None


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def transformed_sql(geometry: str, stored_srid: int | None, target: Crs) -> str:
    """SQL for `geometry` (stored in `stored_srid`) reprojected into `target`, x still east."""
    return geometry if stored_srid == target.srid else f"ST_Transform({geometry}, {target.srid})"


def axis_order_sql(geometry: str, target: Crs) -> str:
    """SQL for `geometry` (x east, in `target`) with its axes in `target`'s order."""
    return f"ST_FlipCoordinates({geometry})" if target.latitude_first else geometry


class ProjectedBox(list[float]):
    """A bbox given in a projected CRS (`bbox-crs`): minx, miny, maxx, maxy, x east, in `srid`."""

    def __init__(self, corners: tuple[float, float, float, float], srid: int) -> None:
        super().__init__(corners)
        self.srid = srid


def box_corners(numbers: Sequence[float], crs: Crs) -> tuple[float, float, float, float]:
    """A bbox parameter's (minx, miny, maxx, maxy) with x east, from numbers in `crs`'s axis
    order (heights, the 3rd and 6th of six numbers, dropped)."""
    half = len(numbers) // 2
    first_min, second_min, first_max, second_max = (
        numbers[0],
        numbers[1],
        numbers[half],
        numbers[half + 1],
    )
    if crs.latitude_first:
        return second_min, first_min, second_max, first_max
    return first_min, second_min, first_max, second_max


@functools.cache
def _to_crs84(srid: int) -> Transformer:
    return Transformer.from_crs(srid, 4326, always_xy=True)


def box_outline(corners: tuple[float, float, float, float], srid: int) -> dict[str, Any]:
    """The box (x east, in `srid`) as a GeoJSON polygon in CRS84, each edge densified so that
    its shape in CRS84 follows the box's straight edges in `srid`."""
    minx, miny, maxx, maxy = corners
    steps = [i / EDGE_POINTS for i in range(EDGE_POINTS)]
    ring = [(minx + (maxx - minx) * t, miny) for t in steps]
    ring += [(maxx, miny + (maxy - miny) * t) for t in steps]
    ring += [(maxx - (maxx - minx) * t, maxy) for t in steps]
    ring += [(minx, maxy - (maxy - miny) * t) for t in steps]
    xs, ys = _to_crs84(srid).transform([p[0] for p in ring], [p[1] for p in ring])
    if not all(math.isfinite(n) for n in (*xs, *ys)):
        raise InvalidParameter(f"bbox lies outside the area where EPSG:{srid} is defined")
    coordinates = [[x, y] for x, y in zip(xs, ys, strict=True)]
    return {"type": "Polygon", "coordinates": [[*coordinates, coordinates[0]]]}
