"""OGC API - Tiles: tipg's vector tiles (Mapbox Vector Tiles, built by PostGIS's ST_AsMVT).

tipg's OGCTilesFactory is composed beside the Features factory as tipg's own full app composes
them: the same collection dependency (so the same catalog and errors), our parameter parsers
swapped into its routes like into the items route (overrides.py), its tile matrix sets, tile
sets, tiles, TileJSON, style and map viewer. Its landing links and conformance classes join the
Features factory's (links.LinkCachingFactory.companions); a collection links its tile sets by
itself once the routes exist (tipg looks them up by name).

Checked here rather than left to tipg: a tile outside its matrix (z past the matrix set's
deepest level, x or y past its width or height) is a 404, as OGC API - Tiles has it
(/req/core/tc-error); tipg would build a tile of nothing, or of the world clipped, for it. A
TileJSON or style zoom range outside the matrix set's is a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query
from morecantile import Tile, TileMatrixSet
from tipg.collections import Collection
from tipg.factory import OGCTilesFactory

from app.errors import InvalidParameter, NotFound
from app.ogc.links import LinkCachingFactory
from app.ogc.overrides import append_dependency

TILE_PATH = "/collections/{collectionId}/tiles/{tileMatrixSetId}/{z}/{x}/{y}"
TILESET = "/collections/{collectionId}/tiles/{tileMatrixSetId}"
ZOOM_RANGE_PATHS = (f"{TILESET}/tilejson.json", f"{TILESET}/style.json")
GEODATA_TILESETS = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets"


class DiscoverableTilesFactory(OGCTilesFactory):
    """tipg's tiles factory, also declaring geodata-tilesets: each collection with a geometry
    links its tileset list (documents.py). Not dataset-tilesets: no tileset of several
    collections at once is served, so the landing page links none."""

    @property
    def conforms_to(self) -> list[str]:
        return [*super().conforms_to, GEODATA_TILESETS]


def matrix_set(identifier: str) -> TileMatrixSet | None:
    """tipg's tile matrix set of that id; None for an unknown one, which tipg's route refuses
    itself, naming the ones there are."""
    if identifier not in OGCTilesFactory.supported_tms.list():
        return None
    return OGCTilesFactory.supported_tms.get(identifier)


def check_tile_in_matrix(
    tileMatrixSetId: Annotated[str, Path()],  # the route's own parameter names
    z: Annotated[int, Path()],
    x: Annotated[int, Path()],
    y: Annotated[int, Path()],
) -> None:
    """404 for a tile its matrix set does not have (tipg would answer one anyway)."""
    tms = matrix_set(tileMatrixSetId)
    if tms is not None and not tms.is_valid(Tile(x, y, z)):
        raise NotFound(
            f"Tile {z}/{x}/{y} is not in tile matrix set {tms.id}: zoom levels "
            f"{tms.minzoom}-{tms.maxzoom}, x and y within the matrix at that zoom"
        )


def check_zoom_range(
    tileMatrixSetId: Annotated[str, Path()],
    minzoom: Annotated[int | None, Query()] = None,
    maxzoom: Annotated[int | None, Query()] = None,
) -> None:
    """TileJSON's and the style's zoom range within the matrix set's (tipg copies any integer
    into the document; one past 64 bits failed to encode, a 500)."""
    tms = matrix_set(tileMatrixSetId)
    if tms is None:
        return
    for name, zoom in (("minzoom", minzoom), ("maxzoom", maxzoom)):
        if zoom is not None and not tms.minzoom <= zoom <= tms.maxzoom:
            raise InvalidParameter(
                f"{name} must be within {tms.minzoom}-{tms.maxzoom} for {tms.id}"
            )
    if minzoom is not None and maxzoom is not None and minzoom > maxzoom:
        raise InvalidParameter(f"minzoom ({minzoom}) is above maxzoom ({maxzoom})")


def install_tiles(
    app: FastAPI, features: LinkCachingFactory, lookup: Callable[..., Collection]
) -> OGCTilesFactory:
    """tipg's tiles routes on `app`, before the parameter parsers are swapped in."""
    tiles = DiscoverableTilesFactory(collection_dependency=lookup, with_common=False)
    app.include_router(tiles.router, tags=["OGC API - Tiles"])
    append_dependency(app, check_tile_in_matrix, TILE_PATH)
    append_dependency(app, check_zoom_range, *ZOOM_RANGE_PATHS)
    features.companions.append(tiles)
    return tiles


def tile_attributes(tile: Tile, tms: Any) -> dict[str, Any]:
    """Span attributes of a tile request (app/otel/collections.py)."""
    return {"ogc.tile.zoom": tile.z, "ogc.tile.matrix_set": tms.id}
